"""Create, show, update and delete through `/api/{resource}` (specs/concord.md §2, §4, §9): record shape and key
order, status codes, ids as Concord reads them, validation in Laravel's words."""

from __future__ import annotations

import json
import re

import pytest

from polycrm.dialects.concord.mapping import FIELD_TYPES, ConcordMapping, load_spec
from polycrm.dialects.concord.values import BodyReader
from polycrm.meta import load_builtin_registry
from tests.concord.conftest import MAPPING, Concord

CONCORD_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000000Z")
AUTHORIZATIONS = ["viewAny", "view", "create", "update", "delete", "bulkDelete", "export"]


def test_create_contact_answers_201_with_the_record_in_concords_key_order(concord: Concord) -> None:
    response = concord.post("contacts", {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
                                         "phones": [{"number": "+44 20 7946 0000", "type": "work"}],
                                         "job_title": "Analyst", "city": "London"})
    assert response.status_code == 201
    assert response.headers["x-app-version"] == "1.5.1"
    body = response.json()
    first = ["notes_count", "calls_count"]  # right after `id`, as 1.4.1's resource puts the counts it loads apart
    assert list(body)[:11] == ["id", *first, "media", "display_name", "path", "created_at", "updated_at",
                               "authorizations", "was_recently_created", "first_name"]  # `media` before the common keys
    counts = [key for key in body if key.endswith("_count") and key not in ("associations_count", *first)]
    assert {"companies_count", "deals_count", "activities_count"} <= set(counts)
    assert list(body)[14:17 + len(counts)] == ["tags", "user_id", "source_id", *counts]  # where 1.4.1 has them
    assert body["display_name"] == "Ada Lovelace"
    assert body["path"] == f"/contacts/{body['id']}"
    assert CONCORD_TIME.fullmatch(body["created_at"]) and CONCORD_TIME.fullmatch(body["updated_at"])
    assert list(body["authorizations"]) == AUTHORIZATIONS and all(body["authorizations"].values())
    assert body["was_recently_created"] is True
    assert body["email"] == "ada@example.com" and body["job_title"] == "Analyst" and body["city"] == "London"
    assert body["phones"] == [{"id": 1, "number": "+44 20 7946 0000", "type": "work"}]
    assert body["user_id"] is None  # no default owner (§9)
    assert body["companies"] == [] and body["deals"] == [] and body["actions"] == []
    nested = list(MAPPING.resources["contacts"].associations)  # the nested arrays, then actions and the sum
    assert list(body)[-len(nested) - 2:] == [*nested, "actions", "associations_count"]
    assert body["associations_count"] == 0


def test_show_update_and_delete(concord: Concord) -> None:
    created = concord.create("contacts", {"first_name": "Grace", "last_name": "Hopper"})
    path = f"contacts/{created['id']}"
    shown = concord.get(path).json()
    assert shown["was_recently_created"] is False and shown["first_name"] == "Grace"
    updated = concord.put(path, {"last_name": "Brewster Hopper"})
    assert updated.status_code == 200
    assert updated.json()["first_name"] == "Grace"  # PUT is partial
    assert updated.json()["display_name"] == "Grace Brewster Hopper"
    assert updated.json()["was_recently_created"] is False
    deleted = concord.delete(path)
    assert deleted.status_code == 204 and deleted.content == b""
    assert "content-type" not in deleted.headers
    for response in (concord.get(path), concord.put(path, {"first_name": "X"}), concord.delete(path)):
        assert response.status_code == 404
        assert response.json() == {
            "message": f"No query results for model [Modules\\Contacts\\App\\Models\\Contact] {created['id']}"}


def test_path_ids_read_as_mysql_casts_them(concord: Concord) -> None:
    created = concord.create("contacts", {"first_name": "One"})
    number = created["id"]
    assert concord.get(f"contacts/{number}abc").json()["id"] == number
    assert concord.get(f"contacts/0{number}").json()["id"] == number
    for bad in ("abc", "0", "-1"):
        response = concord.get(f"contacts/{bad}")
        assert response.status_code == 404
        assert response.json()["message"].endswith(f"Contact] {bad}")


def test_unknown_resources_and_paths_are_404_with_an_empty_message(concord: Concord) -> None:
    created = concord.create("contacts", {"first_name": "One"})
    for path in ("nosuch", "nosuch/1", f"contacts/{created['id']}/nosuch", "contacts/1/deals/2"):
        response = concord.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"message": ""}


def test_patch_is_405_before_authentication(concord: Concord) -> None:
    anonymous = concord.harness.client({"Accept": "application/json"}, validate=False)
    for client in (concord.http, anonymous):
        response = client.patch("/api/contacts/9", json={})
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD, PUT, DELETE"
        assert response.json() == {"message": "The PATCH method is not supported for route api/contacts/9. "
                                              "Supported methods: GET, HEAD, PUT, DELETE."}
        assert response.content.startswith(b'{\n    "message"')  # the exception handler pretty-prints


def test_company_and_deal_keys(concord: Concord) -> None:
    company = concord.create("companies", {"name": "Acme", "domain": "acme.test", "email": "info@acme.test",
                                           "street": "1 Main St", "postal_code": "12345"})
    assert company["display_name"] == "Acme" and company["domain"] == "acme.test"
    assert company["path"] == f"/companies/{company['id']}"
    first = ["notes_count", "calls_count"]
    assert list(company)[:3] == ["id", *first]
    counts = [f"{key}_count" for key in MAPPING.resources["companies"].associations if f"{key}_count" not in first]
    assert list(company)[10:19 + len(counts)] == ["name", "domain", "email", "industry_id", "phones", "tags", *counts,
                                                 "source_id", "parent_company_id", "street"]  # 1.4.1's order
    assert company["contacts"] == [] and company["deals"] == []


@pytest.mark.parametrize("body, errors", [
    ({}, {"first_name": ["The First Name field is required."]}),
    ({"first_name": ""}, {"first_name": ["The First Name field is required."]}),
    ({"first_name": 5}, {"first_name": ["The First Name field must be a string."]}),
    ({"first_name": "A", "email": "not-an-email"}, {"email": ["The E-Mail Address field must be a valid email address."]}),
    ({"first_name": "A", "user_id": "me"}, {"user_id": ["The selected Owner is invalid."]}),  # as Concord 1.4.1
    ({"first_name": "A", "phones": 555}, {"phones": ["The Phone field must be an array."]}),
    ({"first_name": "A", "phones": [{"type": "work"}]}, {"phones.0.number": ["The phones.0.number field is required."]}),
    ({"first_name": "A", "phones": [{"number": "1", "type": ["x"]}]},  # Concord 1.4.1: 500
     {"phones.0.type": ["The selected phones.0.type is invalid."]}),
    ({"first_name": "A", "phones": ["1"] * 1001}, {"phones": ["The Phone field must not have more than 1000 items."]}),
    ({"first_name": "A", "phones": [{"number": "1", "type": {"a": 1}}]},  # was a 500 (Schemathesis)
     {"phones.0.type": ["The selected phones.0.type is invalid."]}),
    ({"first_name": "A" * 192}, {"first_name": ["The First Name field must not be greater than 191 characters."]}),
    ({"first_name": ["A"], "last_name": {"x": 1}}, {"first_name": ["The First Name field must be a string."],
                                                    "last_name": ["The Last Name field must be a string."]}),
])
def test_create_refuses_bad_values_in_laravels_words(concord: Concord, body: dict, errors: dict) -> None:
    response = concord.post("contacts", body)
    assert response.status_code == 422
    messages = [m for items in errors.values() for m in items]
    expected = messages[0] + (f" (and {len(messages) - 1} more error)" if len(messages) == 2 else "")
    assert response.json() == {"message": expected, "errors": errors}
    assert response.content.startswith(b'{"message"')  # compact, as Laravel's validator answers
    assert concord.get("contacts").json()["meta"]["total"] == 0  # nothing written


def test_phone_types_are_read_as_concord_reads_them(concord: Concord) -> None:
    """As a running Concord 1.4.1 stored them: a type it does not know is its default, mobile (no 422); a
    number may carry its type after `|`; a comma string is a list of numbers. PolyCRM names a replaced type in
    X-PolyCRM-Warning. The types are listed by the Phone field of `GET /api/fields/contacts/create` (`types`)."""
    made = concord.post("contacts", {"first_name": "PT2", "phones": [
        {"number": "+15550001002", "type": "MOBILE"}, {"number": "+15550001003", "type": 5},
        {"number": "+15550001004", "type": "work"}, {"number": "+15550001001", "type": "fax"}]})
    assert made.status_code == 201, made.content
    assert [(p["number"], p["type"]) for p in made.json()["phones"]] == [
        ("+15550001002", "mobile"), ("+15550001003", "mobile"), ("+15550001004", "work"), ("+15550001001", "mobile")]
    warning = made.headers["X-PolyCRM-Warning"]
    assert "phones.0.type 'MOBILE'" in warning and "phones.3.type 'fax'" in warning and "phones.2" not in warning
    piped = concord.create("contacts", {"first_name": "PT4", "phones": ["+15550001006|work",
                                                                       {"number": "+15550001007|Other"}]})
    assert [(p["number"], p["type"]) for p in piped["phones"]] == [("+15550001006", "work"),
                                                                   ("+15550001007", "other")]
    # an unknown suffix stays in the number (Concord stores `+15550001007|fax`), which is no phone number here
    refused = concord.post("contacts", {"first_name": "PT4", "phones": ["+15550001007|fax"]})
    assert refused.status_code == 422 and refused.json()["errors"] == {"phones": ["The selected Phone is invalid."]}
    listed = concord.create("companies", {"name": "PT5", "phones": "+15550001008|OTHER,+15550001009, "})
    assert [(p["number"], p["type"]) for p in listed["phones"]] == [("+15550001008", "other"),
                                                                    ("+15550001009", "mobile")]
    # null and "" are the default type here (Concord 1.4.1: 500, the contact made without its phone)
    blank = concord.create("contacts", {"first_name": "PT6", "phones": [{"number": "1", "type": None},
                                                                          {"number": "2", "type": ""}]})
    assert [p["type"] for p in blank["phones"]] == ["mobile", "mobile"]
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    numbers = espo.get(f"/api/v1/Account/{listed['id']}").json()["phoneNumberData"]
    assert [(n["phoneNumber"], n["type"]) for n in numbers] == [("+15550001008", "Other"), ("+15550001009", "Mobile")]
    field = next(f for f in concord.get("fields/contacts/create").json() if f["attribute"] == "phones")
    assert (field["types"], field["type"]) == ({"mobile": "Mobile", "work": "Work", "other": "Other"}, "mobile")


def test_update_refuses_emptying_a_required_field(concord: Concord) -> None:
    created = concord.create("contacts", {"first_name": "Keep"})
    response = concord.put(f"contacts/{created['id']}", {"first_name": None})
    assert response.status_code == 422
    assert response.json()["errors"] == {"first_name": ["The First Name field must be a string.",
                                                        "The First Name field must have a value."]}
    assert concord.get(f"contacts/{created['id']}").json()["first_name"] == "Keep"


@pytest.mark.parametrize("raw, key", [
    (b"{not json", "body"), (b"[1, 2]", "body"), (b'"text"', "body"), (b'{"first_name": "a\\u0000b"}', "body"),
])
def test_malformed_bodies_are_422(concord: Concord, raw: bytes, key: str) -> None:
    response = concord.http.post("/api/contacts", content=raw)
    assert response.status_code == 422
    assert key in response.json()["errors"]


def test_an_oversized_body_is_refused_before_it_is_read(concord: Concord) -> None:
    response = concord.http.post("/api/contacts", content=b'{"first_name": "' + b"a" * (11 * 1024 * 1024) + b'"}')
    assert response.status_code == 413
    assert "message" in response.json()


def test_unknown_keys_are_ignored_with_a_warning_and_record_keys_silently(concord: Concord) -> None:
    response = concord.post("contacts", {"first_name": "A", "favourite_colour": "teal", "id": 99,
                                         "display_name": "x", "created_at": "2020-01-01"})
    assert response.status_code == 201
    assert response.json()["id"] != 99
    assert response.headers["x-polycrm-warning"] == "keys ignored (not fields of contacts): favourite_colour"


def test_owner_is_a_user_id(concord: Concord) -> None:
    response = concord.post("contacts", {"first_name": "Owned", "user_id": concord.user_id})
    assert response.json()["user_id"] == concord.user_id
    response = concord.post("contacts", {"first_name": "Owned", "user_id": 999999})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["user_id"]


def test_contact_email_is_unique_across_contacts_and_users(concord: Concord) -> None:
    first = concord.create("contacts", {"first_name": "A", "email": "same@example.com"})
    message = "A contact or team member with this email already exist."
    for email in ("same@example.com", "SAME@example.com"):
        response = concord.post("contacts", {"first_name": "B", "email": email})
        assert response.status_code == 422 and response.json()["errors"] == {"email": [message]}
    assert concord.put(f"contacts/{first['id']}", {"email": "same@example.com"}).status_code == 200  # its own
    concord.harness.directory.create_user("teammate", None, email="team@example.com")
    response = concord.post("contacts", {"first_name": "C", "email": "team@example.com"})
    assert response.status_code == 422 and response.json()["errors"] == {"email": [message]}
    other = concord.create("contacts", {"first_name": "D"})
    assert concord.put(f"contacts/{other['id']}", {"email": "same@example.com"}).status_code == 422


def test_every_field_type_has_a_reader() -> None:
    """`int` had none: the first write to a resource mapping an int key would have been a 500."""
    data = load_spec()
    data["resources"]["contacts"]["fields"]["seats"] = {"field": "seats", "type": "int", "label": "Seats"}
    mapping = ConcordMapping(data)
    reader = BodyReader(mapping, mapping.resources["contacts"], load_builtin_registry().entity("Contact"))
    assert all(callable(getattr(reader, f"_{kind}", None)) for kind in FIELD_TYPES)
    assert reader.read({"first_name": "A", "seats": "12"}, creating=True).data["seats"] == 12
    assert reader.read({"first_name": "A", "seats": "many"}, creating=True).errors == {
        "seats": ["The Seats field must be an integer."]}
    data["resources"]["contacts"]["fields"]["seats"].update(field="title", type="integer")
    with pytest.raises(LookupError, match="no field type integer"):
        ConcordMapping(data).check(load_builtin_registry())
