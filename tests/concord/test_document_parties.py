"""A document's signers and recipients (Concord's DocumentSigner rows and `recipients`): written with the
document in one transaction, shown on every document as Concord 1.4.1's DocumentResource shows them (the
shapes and messages below are the peer's answers to the same bodies), DocumentSigner and DocumentRecipient
records through `/api/v1` too. Nothing is sent: `send_email` is kept as asked."""

from __future__ import annotations

from typing import Any

import pytest

from tests.concord.conftest import Concord

SIGNER_KEYS = ["name", "email", "sent_at", "send_email", "signed_at", "signature", "sign_ip"]


@pytest.fixture
def brand_id(concord: Concord) -> int:
    return concord.get("brands").json()[0]["id"]


def new(concord: Concord, brand_id: int, **values: Any) -> dict[str, Any]:
    return concord.create("documents", {"title": "Offer", "brand_id": brand_id, "user_id": concord.user_id, **values})


def signer(name: str, email: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "email": email, "sent_at": None, "send_email": False, "signed_at": None,
            "signature": None, "sign_ip": None, **extra}


def test_signers_and_recipients_are_kept_and_shown_as_concords(concord: Concord, brand_id: int) -> None:
    document = new(concord, brand_id, signers=[{"name": " Ann ", "email": "ann@x.test", "send_email": True}],
                   recipients=[{"name": "Rob", "email": "rob@x.test", "send_email": False}, {"name": "Al",
                                                                                             "email": "al@x.test"}])
    # the peer: requires_signature true (signers given, no flag), the signer as DocumentSignerResource
    assert document["requires_signature"] is True
    assert document["signers"] == [signer("Ann", "ann@x.test", send_email=True)]
    assert [list(s) for s in document["signers"]] == [SIGNER_KEYS]
    assert document["recipients"] == [{"name": "Rob", "email": "rob@x.test", "send_email": False},
                                      {"name": "Al", "email": "al@x.test", "send_email": False}]
    keys = list(document)
    assert keys[keys.index("user_id") + 1:keys.index("user_id") + 3] == ["signers", "recipients"]
    shown = concord.get(f"documents/{document['id']}").json()
    assert shown["signers"] == document["signers"] and shown["recipients"] == document["recipients"]
    row = next(r for r in concord.get("documents").json()["data"] if r["id"] == document["id"])
    assert row["signers"] == document["signers"] and row["recipients"] == document["recipients"]
    bare = new(concord, brand_id)
    assert (bare["signers"], bare["recipients"], bare["requires_signature"]) == ([], [], False)


def test_an_update_syncs_signers_by_address_and_replaces_recipients(concord: Concord, brand_id: int) -> None:
    document = new(concord, brand_id, signers=[{"name": "Ann", "email": "ann@x.test", "send_email": True},
                                               {"name": "Bo", "email": "bo@x.test"}],
                   recipients=[{"name": "Rob", "email": "rob@x.test"}])
    path = f"documents/{document['id']}"
    # as the peer: Ann renamed and keeps send_email, Bo removed, Cy added; recipients replaced
    updated = concord.put(path, {"signers": [{"name": "Ann B", "email": "ann@x.test"},
                                             {"name": "Cy", "email": "cy@x.test", "send_email": True}],
                                 "recipients": [{"name": "Z", "email": "z@x.test"}]}).json()
    assert updated["signers"] == [signer("Ann B", "ann@x.test", send_email=True),
                                  signer("Cy", "cy@x.test", send_email=True)]
    assert updated["recipients"] == [{"name": "Z", "email": "z@x.test", "send_email": False}]
    # keys not sent are left alone
    assert concord.put(path, {"title": "Renamed"}).json()["signers"] == updated["signers"]
    # no signature required any more: no signers (the peer's answer); null recipients: none
    dropped = concord.put(path, {"requires_signature": False, "recipients": None}).json()
    assert (dropped["requires_signature"], dropped["signers"], dropped["recipients"]) == (False, [], [])


def test_an_accepted_document_keeps_its_signers_but_their_send_flag(concord: Concord, brand_id: int) -> None:
    document = new(concord, brand_id, signers=[{"name": "Ann", "email": "ann@x.test"},
                                               {"name": "Bo", "email": "bo@x.test"}])
    path = f"documents/{document['id']}"
    concord.post(f"{path}/accept")
    kept = concord.put(path, {"signers": [{"name": "Other", "email": "ann@x.test", "send_email": True},
                                          {"name": "Bo", "email": "bo@x.test"},
                                          {"name": "New", "email": "new@x.test"}]}).json()
    assert kept["status"] == "accepted"
    assert kept["signers"] == [signer("Ann", "ann@x.test", send_email=True), signer("Bo", "bo@x.test")]
    # removing a signer of an accepted document undoes the acceptance (Concord's DocumentService)
    undone = concord.put(path, {"signers": [{"name": "Ann", "email": "ann@x.test"}]}).json()
    assert (undone["status"], undone["accepted_at"], undone["marked_accepted_by"]) == ("draft", None, None)
    assert [s["email"] for s in undone["signers"]] == ["ann@x.test"]


def test_signers_without_a_required_signature_are_not_kept_on_create(concord: Concord, brand_id: int) -> None:
    # Concord reads a false flag as "not given": signers given make the document require a signature
    document = new(concord, brand_id, requires_signature=False, signers=[{"name": "Ann", "email": "ann@x.test"}])
    assert document["requires_signature"] is True and len(document["signers"]) == 1


# The peer's answer to the same body (Concord 1.4.1's ValidatesDocument messages, in its order).
LONG = "a" * 200
PEER_ERRORS = {
    "signers.0.name": ["The signer name field is required."],
    "signers.1.name": ["The signers.1.name field must be a string."],
    "signers.2.name": ["The signer name field is required."],
    "signers.0.email": ["The signer email field must be a valid email address."],
    "signers.1.email": ["The signers.1.email field must not be greater than 191 characters."],
    "signers.2.email": ["The signer email field is required."],
    "recipients.0.name": ["The recipients.0.name field must not be greater than 191 characters."],
    "recipients.1.name": ["The recipient name field is required."],
    "recipients.0.email": ["The recipient email field is required."],
    "recipients.1.email": ["The recipients.1.email field must be a string.",
                           "The recipient email field must be a valid email address."]}


def test_bad_signers_and_recipients_are_concords_422_and_nothing_is_written(concord: Concord, brand_id: int) -> None:
    before = concord.get("documents").json()["meta"]["total"]
    response = concord.post("documents", {
        "title": "Bad", "brand_id": brand_id, "user_id": concord.user_id,
        "signers": [{"name": "", "email": "bad"}, {"name": 5, "email": f"{LONG}@x.com"}, {}],
        "recipients": [{"name": LONG, "email": ""}, {"email": 5}]})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"] == PEER_ERRORS and list(body["errors"]) == list(PEER_ERRORS)
    assert body["message"] == "The signer name field is required. (and 10 more errors)"
    response = concord.post("documents", {"title": "Bad", "brand_id": brand_id, "user_id": concord.user_id,
                                          "signers": "x", "recipients": 5})
    assert response.json()["errors"] == {"signers": ["The signers field must be an array."],
                                         "recipients": ["The recipients field must be an array."]}
    assert concord.get("documents").json()["meta"]["total"] == before
    document = new(concord, brand_id, signers=[{"name": "Ann", "email": "ann@x.test"}])
    path = f"documents/{document['id']}"
    for body, key in (({"signers": [{"name": "A", "email": "a@x.test", "send_email": "maybe"}]}, "signers.0.send_email"),
                      ({"signers": ["ann@x.test"]}, "signers.0.name"),
                      ({"recipients": [{"name": "A", "email": "a@x.test"}] * 101}, "recipients"),
                      ({"title": "", "signers": []}, "title")):
        response = concord.put(path, body)
        assert response.status_code == 422 and key in response.json()["errors"], response.content
    assert concord.get(path).json()["signers"] == document["signers"]  # nothing written


def test_extra_keys_are_dropped_with_a_warning(concord: Concord, brand_id: int) -> None:
    response = concord.post("documents", {"title": "T", "brand_id": brand_id, "user_id": concord.user_id,
                                          "recipients": [{"name": "R", "email": "r@x.test", "extra": 2}],
                                          "signers": [signer("S", "s@x.test")]})
    assert response.status_code == 201
    assert "extra" in response.headers["x-polycrm-warning"] and "sent_at" not in response.headers["x-polycrm-warning"]
    assert response.json()["recipients"] == [{"name": "R", "email": "r@x.test", "send_email": False}]


def test_the_same_rows_through_api_v1(concord: Concord, brand_id: int) -> None:
    document = new(concord, brand_id, signers=[{"name": "Ann", "email": "ann@x.test", "send_email": True}],
                   recipients=[{"name": "Rob", "email": "rob@x.test"}])
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    [row] = espo.get("/api/v1/DocumentSigner", params={"where[0][type]": "equals", "where[0][attribute]": "documentId",
                                                      "where[0][value]": document["id"]}).json()["list"]
    assert (row["name"], row["email"], row["sendEmail"]) == ("Ann", "ann@x.test", True)
    recipients = espo.get("/api/v1/DocumentRecipient").json()["list"]
    assert [(r["name"], int(r["documentId"])) for r in recipients] == [("Rob", document["id"])]
    made = espo.post("/api/v1/DocumentRecipient", json={"name": "Via Espo", "email": "v@x.test",
                                                         "documentId": str(document["id"])})
    assert made.status_code == 200, made.content
    shown = concord.get(f"documents/{document['id']}").json()["recipients"]
    assert [r["name"] for r in shown] == ["Rob", "Via Espo"]


def test_a_limited_user_writes_the_parts_of_documents_they_edit(concord: Concord, brand_id: int) -> None:
    writer = concord.as_user("writer", {"Document": {"create": "yes", "read": "own", "edit": "own", "delete": "no"}})
    mine = writer.create("documents", {"title": "Mine", "brand_id": brand_id, "user_id": writer.user_id,
                                       "signers": [{"name": "Ann", "email": "ann@x.test"}]})
    assert [s["name"] for s in mine["signers"]] == ["Ann"]
    theirs = new(concord, brand_id, signers=[{"name": "Bo", "email": "bo@x.test"}])
    assert writer.put(f"documents/{theirs['id']}", {"signers": []}).status_code == 403
    assert [s["name"] for s in concord.get(f"documents/{theirs['id']}").json()["signers"]] == ["Bo"]
    anonymous = concord.http.put(f"/api/documents/{mine['id']}", json={"signers": []}, headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.json() == {"message": "Unauthenticated."}


def test_a_clone_copies_signers_and_recipients(concord: Concord, brand_id: int) -> None:
    """Concord's Document::clone copies the signers' and recipients' name, address and send flag."""
    document = new(concord, brand_id, signers=[{"name": "Ann", "email": "ann@x.test", "send_email": True}],
                   recipients=[{"name": "Rob", "email": "rob@x.test"}])
    copy = concord.post(f"documents/{document['id']}/clone").json()
    assert copy["id"] != document["id"]
    assert copy["signers"] == document["signers"] and copy["recipients"] == document["recipients"]
    concord.put(f"documents/{copy['id']}", {"recipients": []})
    assert concord.get(f"documents/{document['id']}").json()["recipients"] == document["recipients"]
