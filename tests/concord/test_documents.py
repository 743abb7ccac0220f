"""Documents, document types and brands through Concord (specs/concord.md §2 "Documents", §4 "Documents";
Concord 1.4.1's Documents module): a document is EspoCRM's Document, its type and brand new entities seeded
with Concord's defaults, its status changed by `POST /api/documents/{id}/lost|accept|draft`."""

from __future__ import annotations

from typing import Any

import pytest

from polycrm.core.documents import DEFAULT_BRAND, DEFAULT_TYPES, ensure_default_documents
from tests.concord.conftest import Concord


def rule(name: str, kind: str, operator: str, value: Any) -> dict[str, Any]:
    return {"condition": "and", "children": [{"type": "rule", "query": {"type": kind, "rule": name,
                                                                        "operator": operator, "value": value}}]}


def filtered(concord: Concord, filters: dict[str, Any]) -> list[str]:
    import json

    response = concord.get("documents", filters=json.dumps(filters))
    assert response.status_code == 200, response.content
    return sorted(d["title"] for d in response.json()["data"])


@pytest.fixture
def types(concord: Concord) -> dict[str, dict]:
    return {t["name"]: t for t in concord.get("document-types").json()["data"]}


@pytest.fixture
def brand_id(concord: Concord) -> int:
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    [brand] = espo.get("/api/v1/Brand").json()["list"]
    return int(brand["id"])


def new(concord: Concord, brand_id: int, **values: Any) -> dict[str, Any]:
    return concord.create("documents", {"title": "Proposal for Acme", "brand_id": brand_id,
                                        "user_id": concord.user_id, **values})


def test_a_new_store_has_concords_document_types_and_brand(concord: Concord, types: dict[str, dict],
                                                           brand_id: int) -> None:
    assert sorted(types) == sorted(name for name, _ in DEFAULT_TYPES)
    for name, color in DEFAULT_TYPES:
        assert types[name]["swatch_color"] == color and types[name]["flag"] == name.lower()
        assert types[name]["icon"] == "DocumentText" and types[name]["path"] == f"/document-types/{types[name]['id']}"
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    brand = espo.get(f"/api/v1/Brand/{brand_id}").json()
    assert brand["name"] == DEFAULT_BRAND and brand["isDefault"] is True
    assert espo.get(f"/api/v1/DocumentType/{types['Proposal']['id']}").json()["isDefault"] is True
    # Seeded once: a second start adds nothing, and what an administrator removed stays removed.
    assert ensure_default_documents(concord.harness.app.state.core.database) is False


def test_create_read_update_delete(concord: Concord, types: dict[str, dict], brand_id: int) -> None:
    document = new(concord, brand_id, document_type_id=types["Quote"]["id"], content="<p>Hello</p>",
                   view_type="nav-left", requires_signature=True, locale="pt_BR")
    assert document["was_recently_created"] is True and document["display_name"] == "Proposal for Acme"
    assert document["status"] == "draft" and document["document_type_id"] == types["Quote"]["id"]
    assert document["brand_id"] == brand_id and document["user_id"] == concord.user_id
    assert document["content"] == "<p>Hello</p>" and document["view_type"] == "nav-left"
    assert document["requires_signature"] is True and document["locale"] == "pt_BR"
    assert document["created_by"] == concord.user_id and document["accepted_at"] is None
    assert document["contacts"] == [] and document["companies_count"] == 0
    path = f"documents/{document['id']}"
    changed = concord.put(path, {"title": "Quote for Acme", "view_type": "nav-left-full-width"})
    assert changed.status_code == 200, changed.content
    assert changed.json()["title"] == "Quote for Acme" and changed.json()["content"] == "<p>Hello</p>"
    assert changed.json()["was_recently_created"] is False
    assert concord.get(path).json()["view_type"] == "nav-left-full-width"
    deleted = concord.delete(path)
    assert deleted.status_code == 204 and deleted.content == b""
    assert concord.get(path).status_code == 404
    trashed = concord.get(f"trashed/{path}")
    assert trashed.status_code == 200 and trashed.json()["title"] == "Quote for Acme"
    assert concord.post(f"trashed/{path}").status_code == 200
    assert concord.get(path).json()["title"] == "Quote for Acme"


def test_defaults_of_a_document_created_with_the_least(concord: Concord, types: dict[str, dict],
                                                      brand_id: int) -> None:
    document = new(concord, brand_id)
    # Concord's default type, its document defaults (draft, nav-top, no signature, the user's locale).
    assert document["document_type_id"] == types["Proposal"]["id"]
    assert document["status"] == "draft" and document["view_type"] == "nav-top"
    assert document["requires_signature"] is False and document["locale"] == "en"


def test_required_fields_and_concords_messages(concord: Concord, types: dict[str, dict], brand_id: int) -> None:
    response = concord.post("documents", {})
    assert response.status_code == 422
    assert response.json()["errors"] == {"title": ["The title field is required."],
                                         "brand_id": ["The brand id field is required."],
                                         "user_id": ["The user id field is required."]}
    assert response.json()["message"] == "The title field is required. (and 2 more errors)"
    unknown = concord.post("documents", {"title": "X", "user_id": concord.user_id, "brand_id": 999999})
    assert unknown.status_code == 422 and list(unknown.json()["errors"]) == ["brand_id"]
    document = new(concord, brand_id)
    emptied = concord.put(f"documents/{document['id']}", {"document_type_id": None, "brand_id": "", "title": ""})
    assert emptied.status_code == 422
    assert emptied.json()["errors"] == {"document_type_id": ["The document type field must have a value."],
                                        "brand_id": ["The brand id field must have a value."],
                                        "title": ["The title field must have a value."]}


def test_without_a_default_type_the_type_is_required(concord: Concord, types: dict[str, dict],
                                                     brand_id: int) -> None:
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    assert espo.put(f"/api/v1/DocumentType/{types['Proposal']['id']}", json={"isDefault": False}).status_code == 200
    response = concord.post("documents", {"title": "X", "user_id": concord.user_id, "brand_id": brand_id})
    assert response.status_code == 422
    assert response.json()["errors"] == {"document_type_id": ["The document type field is required."]}
    assert new(concord, brand_id, document_type_id=types["Contract"]["id"])["document_type_id"] == \
        types["Contract"]["id"]


def test_status_changes(concord: Concord, brand_id: int) -> None:
    document = new(concord, brand_id)
    path = f"documents/{document['id']}"
    lost = concord.post(f"{path}/lost")
    assert lost.status_code == 200 and lost.json()["status"] == "lost" and lost.json()["id"] == document["id"]
    again = concord.post(f"{path}/lost")
    assert again.status_code == 409 and again.json() == {"message": "This document is already marked as lost."}
    assert concord.post(f"{path}/draft").json()["status"] == "draft"
    accepted = concord.post(f"{path}/accept").json()
    assert accepted["status"] == "accepted" and accepted["accepted_at"] is not None
    assert accepted["marked_accepted_by"] == concord.user_id
    assert concord.post(f"{path}/accept").json() == {"message": "This document is already accepted."}
    # An accepted document keeps its title, content, brand and signature flag, as Concord keeps them.
    kept = concord.put(path, {"title": "Changed", "content": "<p>new</p>", "view_type": "nav-left"})
    assert kept.status_code == 200 and kept.json()["title"] == "Proposal for Acme"
    assert kept.json()["content"] is None and kept.json()["view_type"] == "nav-left"
    assert "title, content" in kept.headers["X-PolyCRM-Warning"]
    refused = concord.post(f"{path}/lost")
    assert refused.status_code == 409 and refused.json() == {"message": "You cannot mark accepted document as lost."}
    # The user who marked it accepted may take that back.
    draft = concord.post(f"{path}/draft").json()
    assert draft["status"] == "draft" and draft["marked_accepted_by"] is None
    # The status is not a writable key: Concord changes it only through these routes.
    ignored = concord.put(path, {"status": "accepted"})
    assert ignored.status_code == 200 and ignored.json()["status"] == "draft"
    assert concord.post("documents/999999/lost").status_code == 404
    assert concord.get(f"{path}/lost").status_code == 404  # Concord: the GET is an association list's
    refused = concord.put(f"{path}/lost", {})
    assert refused.status_code == 405 and refused.headers["Allow"] == "GET, HEAD, POST"  # as Concord 1.4.1


def test_a_customers_acceptance_cannot_be_undone(concord: Concord, brand_id: int) -> None:
    document = new(concord, brand_id)
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    assert espo.put(f"/api/v1/Document/{document['id']}", json={"status": "Accepted"}).status_code == 200
    refused = concord.post(f"documents/{document['id']}/draft")
    assert refused.status_code == 409
    assert refused.json() == {"message": "Documents signed/accepted by customers cannot be marked as draft."}


def test_lists_search_and_filters(concord: Concord, types: dict[str, dict], brand_id: int) -> None:
    quote = new(concord, brand_id, title="Beta quote", document_type_id=types["Quote"]["id"])
    new(concord, brand_id, title="Alpha proposal")
    concord.post(f"documents/{quote['id']}/accept")
    page = concord.get("documents").json()
    assert [d["title"] for d in page["data"]] == ["Alpha proposal", "Beta quote"]  # Concord orders by title
    assert "contacts" not in page["data"][0] and page["data"][0]["contacts_count"] == 0
    assert filtered(concord, rule("status", "multi-select", "in", ["accepted"])) == ["Beta quote"]
    assert filtered(concord, rule("status", "multi-select", "not_in", ["accepted"])) == ["Alpha proposal"]
    assert filtered(concord, rule("document_type_id", "multi-select", "in", [types["Quote"]["id"]])) == ["Beta quote"]
    assert filtered(concord, rule("brand_id", "multi-select", "in", [brand_id])) == ["Alpha proposal", "Beta quote"]
    assert filtered(concord, rule("title", "text", "contains", "alpha")) == ["Alpha proposal"]
    assert filtered(concord, rule("user_id", "select", "equal", "me")) == ["Alpha proposal", "Beta quote"]
    assert filtered(concord, rule("accepted_at", "date", "is_not_null", None)) == ["Beta quote"]
    found = concord.get("documents/search", q="beta").json()
    assert [d["title"] for d in found] == ["Beta quote"]
    groups = {g["resource_name"]: g for g in concord.get("search", q="Alpha").json()}
    assert groups["documents"]["icon"] == "DocumentText" and groups["documents"]["action"] == "view"
    assert [d["display_name"] for d in groups["documents"]["data"]] == ["Alpha proposal"]
    assert "document-types" not in groups
    by_status = concord.get("documents", q="status:accepted").json()["data"]
    assert [d["title"] for d in by_status] == ["Beta quote"]
    rules = {r["id"] for r in concord.get("documents/rules").json()}
    assert {"title", "document_type_id", "brand_id", "status", "user_id", "created_at"} <= rules
    unknown = concord.get("documents", filters='{"children":[{"type":"rule","query":{"rule":"nope",'
                                                '"operator":"equal","value":1}}]}')
    assert unknown.status_code == 422


def test_associations_with_contacts_companies_and_deals(concord: Concord, brand_id: int) -> None:
    acme = concord.create("companies", {"name": "Acme"})
    jo = concord.create("contacts", {"first_name": "Jo"})
    stage = concord.get("pipeline-stages").json()["data"][0]
    deal = concord.create("deals", {"name": "Big", "stage_id": stage["id"]})
    document = new(concord, brand_id, contacts=[jo["id"]], companies=[acme["id"]], deals=[deal["id"]])
    assert [c["id"] for c in document["contacts"]] == [jo["id"]]
    assert [c["id"] for c in document["companies"]] == [acme["id"]]
    assert [d["id"] for d in document["deals"]] == [deal["id"]] and document["associations_count"] == 3
    path = f"documents/{document['id']}"
    assert [c["id"] for c in concord.get(f"{path}/companies").json()["data"]] == [acme["id"]]
    synced = concord.put(path, {"companies": []}).json()
    assert synced["companies"] == [] and [c["id"] for c in synced["contacts"]] == [jo["id"]]
    attached = concord.put(f"associations/{path}", {"companies": [acme["id"]]})
    assert attached.status_code == 200 and attached.json()["companies_count"] == 1
    # The other side, as EspoCRM's links hold it.
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    related = espo.get(f"/api/v1/Account/{acme['id']}/documents").json()["list"]
    assert [int(d["id"]) for d in related] == [document["id"]]


def test_document_types_are_a_lookup_resource(concord: Concord, types: dict[str, dict], brand_id: int) -> None:
    made = concord.create("document-types", {"name": "Invoice", "swatch_color": "#112233"})
    assert made["swatch_color"] == "#112233" and made["flag"] is None and made["icon"] == "DocumentText"
    taken = concord.post("document-types", {"name": "Invoice"})
    assert taken.status_code == 422 and taken.json()["errors"] == {"name": ["The Name has already been taken."]}
    bad = concord.post("document-types", {"name": "Other", "swatch_color": "red"})
    assert bad.json()["errors"] == {"swatch_color": ["The Color field must be a valid hexadecimal color."]}
    # Concord keeps its primary types, the default one and the ones documents use.
    primary = concord.delete(f"document-types/{types['Quote']['id']}")
    assert primary.status_code == 409 and primary.json() == {"message": "You cannot delete primary document type."}
    new(concord, brand_id, document_type_id=made["id"])
    used = concord.delete(f"document-types/{made['id']}")
    assert used.status_code == 409
    assert used.json() == {"message": "The type is already associated with documents, hence, cannot be deleted."}
    spare = concord.create("document-types", {"name": "Spare"})
    assert concord.delete(f"document-types/{spare['id']}").status_code == 204


def test_bad_input(concord: Concord, types: dict[str, dict], brand_id: int) -> None:
    base = {"title": "X", "user_id": concord.user_id, "brand_id": brand_id}
    cases = {
        "title": ([1], "The title field must be a string."),
        "view_type": ("sideways", "The selected view type is invalid."),
        "requires_signature": ("perhaps", "The requires signature field must be true or false."),
        "locale": ("xx", "This locale does not exists."),
        "brand_id": ("abc", "The selected brand id is invalid."),
        "document_type_id": ({"id": 1}, "This document type id value is forbidden."),
    }
    for key, (value, message) in cases.items():
        response = concord.post("documents", {**base, key: value})
        assert response.status_code == 422, key
        assert response.json()["errors"] == {key: [message]}, key
    long = concord.post("documents", {**base, "title": "x" * 192})
    assert long.json()["errors"] == {"title": ["The title field must not be greater than 191 characters."]}
    assert concord.post("documents", {**base, "content": "x" * 100_000}).status_code == 201
    unknown = concord.post("documents", {**base, "nonsense": 1, "signers": []})
    assert unknown.status_code == 201 and "nonsense" in unknown.headers["X-PolyCRM-Warning"]
    injected = concord.get("documents", order="title;drop table documents")
    assert injected.status_code == 422
    assert concord.get("documents", q="' OR 1=1 --").json()["data"] == []
    assert concord.post("documents", [1, 2]).status_code == 422
    assert concord.get("documents").json()["meta"]["total"] == 2  # the two accepted, nothing half-written


def test_a_limited_user_sees_and_changes_only_what_its_role_allows(concord: Concord, brand_id: int,
                                                                   types: dict[str, dict]) -> None:
    reader = concord.as_user("reader", {"Document": {"create": "no", "read": "all", "edit": "no", "delete": "no"},
                                        "DocumentType": {"read": "all"}, "Brand": {"read": "all"}})
    owner = concord.as_user("owner", {"Document": {"create": "yes", "read": "own", "edit": "own", "delete": "own"},
                                      "DocumentType": {"read": "all"}, "Brand": {"read": "all"}})
    theirs = new(owner, brand_id)
    mine = new(concord, brand_id, title="Admin's")
    assert [d["id"] for d in owner.get("documents").json()["data"]] == [theirs["id"]]
    assert owner.get(f"documents/{mine['id']}").status_code == 403
    assert owner.post(f"documents/{mine['id']}/lost").status_code == 403
    assert owner.post(f"documents/{theirs['id']}/lost").json()["status"] == "lost"
    assert reader.get(f"documents/{mine['id']}").json()["authorizations"]["update"] is False
    refused = reader.post(f"documents/{mine['id']}/accept")
    assert refused.status_code == 403 and concord.get(f"documents/{mine['id']}").json()["status"] == "draft"
    assert reader.post("documents", {"title": "X", "brand_id": brand_id, "user_id": reader.user_id}).status_code == 403
    # Types and brands are lists every user reads (readByEveryone): a role granting documents alone is enough.
    plain = concord.as_user("plain", {"Document": {"create": "yes", "read": "own", "edit": "own", "delete": "own"}})
    response = plain.post("documents", {"title": "X", "brand_id": brand_id, "user_id": plain.user_id})
    assert response.status_code == 201 and response.json()["document_type_id"] == types["Proposal"]["id"]


def test_a_document_is_the_same_document_through_espocrm(concord: Concord, types: dict[str, dict],
                                                         brand_id: int) -> None:
    document = new(concord, brand_id, content="<p>Terms</p>", document_type_id=types["Contract"]["id"])
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    seen = espo.get(f"/api/v1/Document/{document['id']}").json()
    assert seen["name"] == "Proposal for Acme" and seen["status"] == "Draft" and seen["body"] == "<p>Terms</p>"
    assert seen["documentTypeId"] == str(types["Contract"]["id"]) and seen["documentTypeName"] == "Contract"
    assert seen["brandId"] == str(brand_id) and seen["assignedUserId"] == str(concord.user_id)
    sent = espo.put(f"/api/v1/Document/{document['id']}", json={"status": "Sent", "name": "Sent one"})
    assert sent.status_code == 200
    back = concord.get(f"documents/{document['id']}").json()
    assert back["status"] == "sent" and back["title"] == "Sent one"
    # EspoCRM's own documents (its default status, no brand) read through Concord too.
    made = espo.post("/api/v1/Document", json={"name": "Espo's", "publishDate": "2030-01-01"}).json()
    shown = concord.get(f"documents/{made['id']}").json()
    assert shown["status"] == "Active" and shown["brand_id"] is None


def test_brands(concord: Concord, brand_id: int) -> None:
    [default] = concord.get("brands").json()
    assert default == {"id": brand_id, "name": DEFAULT_BRAND, "display_name": DEFAULT_BRAND, "is_default": True,
                       "config": {"primary_color": "#4f46e5"}, "logo_view": None, "logo_view_url": None,
                       "logo_mail": None, "logo_mail_url": None, "visibility_group": None}
    made = concord.post("brands", {"name": "Acme", "display_name": "Acme Inc.", "config": {"primary_color": "#123"}})
    assert made.status_code == 201 and made.json()["is_default"] is False
    assert made.json()["config"] == {"primary_color": "#123"}
    acme = made.json()["id"]
    assert [b["name"] for b in concord.get("brands").json()] == [DEFAULT_BRAND, "Acme"]  # the default first
    # One default brand: making another the default unmakes the first.
    changed = concord.put(f"brands/{acme}", {"name": "Acme", "display_name": "Acme", "is_default": True})
    assert changed.status_code == 200 and changed.json()["is_default"] is True
    assert concord.get(f"brands/{brand_id}").json()["is_default"] is False
    # The rule is the core's: a brand made the default through /api/v1, on create, takes the mark too.
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    third = espo.post("/api/v1/Brand", json={"name": "Third", "displayName": "Third", "isDefault": True})
    assert third.status_code == 200 and concord.get(f"brands/{acme}").json()["is_default"] is False
    assert [b["name"] for b in concord.get("brands").json() if b["is_default"]] == ["Third"]
    espo.put(f"/api/v1/Brand/{acme}", json={"isDefault": True})
    assert espo.delete(f"/api/v1/Brand/{third.json()['id']}").status_code == 200
    refused = concord.post("brands", {"name": "Acme", "config": {"primary_color": "blue"}})
    assert refused.status_code == 422
    assert refused.json()["errors"] == {"name": ["The name has already been taken."],
                                        "display_name": ["The display name field is required."],
                                        "config.primary_color": ["The config.primary color field must be a valid "
                                                                 "hexadecimal color."]}
    assert concord.post("brands", ["x"]).status_code == 422
    missing = concord.get("brands/999999")
    assert missing.status_code == 404
    assert missing.json() == {"message": "No query results for model [Modules\\Brands\\App\\Models\\Brand] 999999"}
    # Writes are for super admins (PolyCRM administrators); reading follows the role.
    reader = concord.as_user("brand-reader", {"Brand": {"create": "yes", "read": "all", "edit": "all",
                                                        "delete": "all"}})
    assert [b["id"] for b in reader.get("brands").json()] == [acme, brand_id]
    assert reader.post("brands", {"name": "Mine", "display_name": "Mine"}).status_code == 403
    assert reader.put(f"brands/{acme}", {"name": "Mine", "display_name": "Mine"}).status_code == 403
    assert reader.delete(f"brands/{acme}").status_code == 403
    assert concord.as_user("no-role", {"Contact": True}).get("brands").status_code == 200  # every user reads them
    assert concord.delete(f"brands/{brand_id}").status_code == 204
    last = concord.delete(f"brands/{acme}")
    assert last.status_code == 409 and last.json() == {"message": "There must be at least one brand."}
