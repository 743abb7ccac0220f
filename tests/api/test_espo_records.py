"""EspoCRM API: create, read, update, delete, and the errors of each (specs/espocrm.md §3)."""

from __future__ import annotations

import pytest


def create(api, entity: str, body: dict, **headers) -> dict:
    response = api.post(f"/api/v1/{entity}", json=body, headers=headers)
    assert response.status_code == 200, (response.status_code, response.headers.get("x-status-reason"),
                                         response.text)
    return response.json()


def test_root_says_what_it_is(api):
    assert api.get("/api/v1/").json() == "EspoCRM REST API"


def test_create_returns_full_record_with_system_attributes(api, harness):
    account = create(api, "Account", {"name": "Acme", "type": "Customer", "website": "acme.example",
                                      "emailAddress": "info@acme.example", "billingAddressCity": "Prague"})
    assert isinstance(account["id"], str) and account["id"]
    assert account["name"] == "Acme"
    assert account["type"] == "Customer"
    assert account["billingAddressCity"] == "Prague"
    assert account["emailAddress"] == "info@acme.example"
    assert account["emailAddressData"] == [{"emailAddress": "info@acme.example", "lower": "info@acme.example",
                                            "primary": True, "optOut": False, "invalid": False}]
    assert account["createdById"] == str(harness.admin_id)
    assert account["createdByName"] == "admin"
    assert len(account["createdAt"]) == 19 and "T" not in account["createdAt"]
    assert account["teamsIds"] == [] and account["teamsNames"] == {}
    assert "deleted" not in account


def test_read_update_delete_round_trip(api):
    contact = create(api, "Contact", {"firstName": "Ada", "lastName": "Lovelace", "phoneNumber": "+44 20 1234"})
    assert contact["name"] == "Ada Lovelace"
    read = api.get(f"/api/v1/Contact/{contact['id']}").json()
    assert read == contact
    updated = api.patch(f"/api/v1/Contact/{contact['id']}", json={"lastName": "King", "description": "math"})
    assert updated.status_code == 200
    body = updated.json()
    assert body["name"] == "Ada King" and body["description"] == "math"
    assert body["firstName"] == "Ada"  # partial update keeps the rest
    assert body["versionNumber"] == contact["versionNumber"] + 1
    put = api.put(f"/api/v1/Contact/{contact['id']}", json={"title": "ignored", "doNotCall": True})
    assert put.status_code == 200 and put.json()["doNotCall"] is True
    deleted = api.delete(f"/api/v1/Contact/{contact['id']}")
    assert deleted.status_code == 200 and deleted.json() is True
    missing = api.get(f"/api/v1/Contact/{contact['id']}")
    assert missing.status_code == 404
    assert missing.headers["x-status-reason"] == f"Record {contact['id']} does not exist."
    assert missing.content == b""


def test_defaults_and_system_input_is_ignored(api):
    lead = create(api, "Lead", {"lastName": "Doe", "id": "999", "createdAt": "2001-01-01 00:00:00",
                                "versionNumber": 77, "unknownThing": 1, "createdByName": "x"})
    assert lead["status"] == "New"
    assert lead["id"] != "999" and lead["createdAt"] != "2001-01-01 00:00:00"
    assert lead["versionNumber"] == 1
    assert "unknownThing" not in lead


def test_currency_and_converted_amount(api):
    opp = create(api, "Opportunity", {"name": "Deal", "amount": 100, "closeDate": "2030-01-31",
                                      "amountCurrency": "EUR"})
    assert opp["amount"] == 100 and opp["amountCurrency"] == "EUR"
    assert opp["amountConverted"] == pytest.approx(108.0)
    assert opp["stage"] == "Prospecting"
    usd = create(api, "Opportunity", {"name": "Deal 2", "amount": 5.5, "closeDate": "2030-01-31"})
    assert usd["amountCurrency"] == "USD"


@pytest.mark.parametrize("entity,body,field,kind", [
    ("Account", {}, "name", "required"),
    ("Account", {"name": ""}, "name", "required"),
    ("Account", {"name": "x" * 250}, "name", "maxLength"),
    ("Account", {"name": 12.5, "type": "Nope"}, "type", "valid"),
    ("Account", {"name": ["list"]}, "name", "valid"),
    ("Account", {"name": {"a": 1}}, "name", "valid"),
    ("Account", {"name": "A", "emailAddress": "not-an-email"}, "emailAddress", "emailAddress"),
    ("Contact", {"firstName": "Only"}, "lastName", "required"),
    ("Opportunity", {"name": "D", "amount": "lots", "closeDate": "2030-01-01"}, "amount", "valid"),
    ("Opportunity", {"name": "D", "amount": 1, "closeDate": "31/01/2030"}, "closeDate", "valid"),
    ("Opportunity", {"name": "D", "amount": 1, "closeDate": "2030-01-01", "amountCurrency": "XXX"},
     "amount", "validCurrency"),
    ("Opportunity", {"name": "D", "amount": 1, "closeDate": "2030-01-01", "probability": "1e999"},
     "probability", "valid"),
    ("Contact", {"lastName": "L", "doNotCall": "maybe"}, "doNotCall", "valid"),
    ("Contact", {"lastName": "L", "accountId": "no-such-id"}, "account", "valid"),
    ("Contact", {"lastName": "L", "accountId": "424242"}, "account", "valid"),
    ("Contact", {"lastName": "L", "teamsIds": "not-a-list"}, "teams", "valid"),
    ("Task", {"name": "T", "parentType": "Nope", "parentId": "1"}, "parent", "valid"),
    ("Meeting", {"name": "M", "dateStart": "tomorrow"}, "dateStart", "valid"),
])
def test_validation_failure_has_espo_envelope_and_writes_nothing(api, entity, body, field, kind):
    before = api.get(f"/api/v1/{entity}").json()["total"]
    response = api.post(f"/api/v1/{entity}", json=body, headers={"X-Skip-Duplicate-Check": "true"})
    assert response.status_code == 400, response.text
    assert response.json() == {"messageTranslation": {"label": "validationFailure", "scope": None,
                                                      "data": {"field": field, "type": kind}}}
    assert response.headers["x-status-reason"] == \
        f"Field validation failure; entityType: {entity}, field: {field}, type: {kind}."
    assert api.get(f"/api/v1/{entity}").json()["total"] == before


@pytest.mark.parametrize("raw,content_type,reason", [
    (b"{not json", "application/json", "Body is not valid JSON."),
    (b"42", "application/json", "Body is not a JSON object."),
    (b'"text"', "application/json", "Body is not a JSON object."),
])
def test_malformed_bodies_get_400(api, raw, content_type, reason):
    response = api.post("/api/v1/Account", content=raw, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert response.headers["x-status-reason"] == reason


def test_body_without_json_content_type_is_treated_as_empty(api):
    response = api.post("/api/v1/Account", content=b'{"name": "A"}', headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert response.json()["messageTranslation"]["data"] == {"field": "name", "type": "required"}


def test_oversized_body_is_refused(harness, config):
    harness_api = harness.key_client(harness.admin_key)
    big = b'{"name": "' + b"x" * (config.max_body_bytes + 10) + b'"}'
    response = harness_api.post("/api/v1/Account", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert harness_api.get("/api/v1/Account").json()["total"] == 0


def test_unknown_entity_and_bad_ids(api):
    response = api.get("/api/v1/Nope")
    assert response.status_code == 404
    assert response.headers["x-status-reason"] == "Controller 'Nope' does not exist."
    assert api.get("/api/v1/Account/abc").status_code == 404
    assert api.get("/api/v1/Account/1%27%20OR%201=1").status_code == 404
    assert api.patch("/api/v1/Account/999999", json={"name": "x"}).status_code == 404
    assert api.delete("/api/v1/Account/999999").status_code == 404
    # Ids with a newline: the /api/v1 prefix was once stripped wrongly from one at the end, and a wrong route
    # answered 405; one inside a path matches no route, and the 404 has no body, as EspoCRM's errors.
    assert api.get("/api/v1/Account/1%0A").status_code == 404
    assert api.get("/api/v1/Account/1%0A/contacts").status_code == 404


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("POST", "/api/v1/Account/1", {"GET", "HEAD", "PUT", "PATCH", "DELETE"}),
    ("PUT", "/api/v1/Account", {"GET", "HEAD", "POST"}),
    ("POST", "/api/v1/Webhook/1", {"GET", "HEAD", "PUT", "PATCH", "DELETE"}),
    ("PUT", "/api/v1/Account/1/contacts", {"GET", "HEAD", "POST", "DELETE"}),
    ("PATCH", "/api/v1/Account/1/stream", {"GET", "HEAD"}),
])
def test_a_method_a_path_does_not_take_is_405_naming_the_ones_it_does(api, method, path, allowed):
    """The Allow header names every method of the path (it once named only those of one handler)."""
    response = api.request(method, path)
    assert response.status_code == 405 and response.content == b""
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


def test_update_validation_only_checks_sent_fields_and_rolls_back(api):
    account = create(api, "Account", {"name": "Keep"})
    response = api.put(f"/api/v1/Account/{account['id']}", json={"name": "Changed", "type": "Bogus"})
    assert response.status_code == 400
    assert api.get(f"/api/v1/Account/{account['id']}").json()["name"] == "Keep"
    cleared = api.put(f"/api/v1/Account/{account['id']}", json={"name": ""})
    assert cleared.status_code == 400


def test_optimistic_locking_with_version_header(api):
    account = create(api, "Account", {"name": "V"})
    stale = api.put(f"/api/v1/Account/{account['id']}", json={"name": "W"},
                    headers={"X-Version-Number": str(account["versionNumber"] + 5)})
    assert stale.status_code == 409
    assert stale.headers["x-status-reason"] == "modified"
    assert stale.json()["versionNumber"] == account["versionNumber"]
    fresh = api.put(f"/api/v1/Account/{account['id']}", json={"name": "W"},
                    headers={"X-Version-Number": str(account["versionNumber"])})
    assert fresh.status_code == 200


def test_duplicate_check_and_skip(api):
    first = create(api, "Account", {"name": "Dup Corp"})
    again = api.post("/api/v1/Account", json={"name": "Dup Corp"})
    assert again.status_code == 409
    assert again.headers["x-status-reason"] == "duplicate"
    assert [r["id"] for r in again.json()] == [first["id"]]
    create(api, "Account", {"name": "Dup Corp"}, **{"X-Skip-Duplicate-Check": "TRUE"})
    contact = create(api, "Contact", {"firstName": "J", "lastName": "S", "emailAddress": "J@x.example"})
    by_email = api.post("/api/v1/Contact", json={"lastName": "Other", "emailAddress": "j@X.example"})
    assert by_email.status_code == 409 and by_email.json()[0]["id"] == contact["id"]


def test_email_and_phone_lists(api):
    contact = create(api, "Contact", {"lastName": "Multi", "emailAddressData": [
        {"emailAddress": "a@x.example", "primary": False},
        {"emailAddress": "b@x.example", "primary": True, "optOut": True}],
        "phoneNumberData": [{"phoneNumber": "+1 555 0100", "type": "Mobile"}]})
    assert contact["emailAddress"] == "b@x.example"
    assert contact["emailAddressIsOptedOut"] is True
    assert [e["emailAddress"] for e in contact["emailAddressData"]] == ["b@x.example", "a@x.example"]
    assert contact["phoneNumber"] == "+1 555 0100" and contact["phoneNumberData"][0]["type"] == "Mobile"
    found = api.get("/api/v1/Contact", params={"where[0][type]": "equals", "where[0][attribute]": "emailAddress",
                                               "where[0][value]": "A@X.EXAMPLE"}).json()
    assert [r["id"] for r in found["list"]] == [contact["id"]]


def test_case_numbers_autoincrement(api):
    first = create(api, "Case", {"name": "One"})
    second = create(api, "Case", {"name": "Two"})
    assert second["number"] == first["number"] + 1
    assert first["status"] == "New" and first["priority"] == "Normal"


def test_email_post_stores_parent(api):
    contact = create(api, "Contact", {"lastName": "Parent"})
    email = create(api, "Email", {"to": "recipient@example.com", "subject": "Hello", "body": "<p>x</p>",
                                  "isHtml": True, "parentType": "Contact", "parentId": contact["id"]})
    assert email["name"] == "Hello" and email["parentName"] == "Parent"
    assert email["status"] == "Archived"


def test_purged_ids_are_never_given_again(api, harness):
    """Integrations may still hold a purged record's id: a new record must not answer to it."""
    from datetime import datetime, timedelta

    ids = [create(api, "Account", {"name": f"Purge {i}"})["id"] for i in range(3)]
    assert api.delete(f"/api/v1/Account/{ids[-1]}").status_code == 200
    purged = harness.app.state.core.purge(datetime.utcnow() + timedelta(seconds=5), ["Account"])
    assert purged == {"Account": 1}
    single = create(api, "Account", {"name": "After purge"})["id"]
    many = api.post("/api/v1/Account/action/massCreate", json={"list": [{"name": "Mass 1"}, {"name": "Mass 2"}]})
    assert many.status_code == 200
    new_ids = [int(single)] + [int(i) for i in many.json()["ids"]]
    assert min(new_ids) > int(ids[-1]) and len(set(new_ids)) == 3
