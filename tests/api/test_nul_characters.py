"""NUL characters (U+0000): PostgreSQL cannot store them in text and SQLite would keep them, so no text
PolyCRM stores may hold one. Every body of both protocols that carries one gets a 400 in the protocol's own
format and writes nothing; core validation refuses them again for callers that bypass the dialects."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import func, select

from polycrm.core.errors import BadRequest, ValidationFailure
from polycrm.core.values import RecordInput, nul_location
from polycrm.events.addresses import BlockedTarget, parse_target
from tests.inflow.conftest import create, error

NUL = "a\u0000b"
HOOK_URL = "https://hooks.example.com/hook"  # resolved by the tests' fake DNS (tests/support/ssrf.py)


def row_counts(store) -> dict[str, int]:
    """Rows per table: a refused request must leave every one as it was."""
    with store.database.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in store.database.metadata.tables.items()}


def stored_nul(store) -> list[tuple[str, Any]]:
    """Every stored text holding a NUL character (SQLite would keep one; PostgreSQL refuses it)."""
    found = []
    with store.database.connect() as conn:
        for name, table in store.database.metadata.tables.items():
            for row in conn.execute(select(table)):
                found += [(name, value) for value in row if isinstance(value, str) and "\x00" in value]
    return found




def refused_by_espo(response, location: str) -> None:
    assert response.status_code == 400, (response.status_code, response.text)
    assert response.headers["x-status-reason"] == f"NUL characters are not allowed in the body ('{location}')."


def refused_by_inflow(response, location: str) -> None:
    body = error(response, 400, "VALIDATION_ERROR")
    assert body["message"] == f"{location} must not contain NUL characters"
    assert body["details"] == [{"field": location, "errors": [f"{location} must not contain NUL characters"]}]


# --- EspoCRM -------------------------------------------------------------------------------------------


def test_espo_bodies_with_nul_anywhere_are_refused_and_nothing_is_written(api, harness, store):
    account = api.post("/api/v1/Account", json={"name": "Acme"}).json()
    contact = api.post("/api/v1/Contact", json={"lastName": "Doe"}).json()
    note = api.post("/api/v1/Note", json={"post": "Hi", "parentType": "Account", "parentId": account["id"]}).json()
    hook = api.post("/api/v1/Webhook", json={"event": "Account.create", "url": HOOK_URL}).json()
    before = row_counts(store)
    cases: list[tuple[str, str, Any, str]] = [
        ("POST", "/api/v1/Contact", {"lastName": "x", "emailAddress": f"{NUL}@example.com"}, "emailAddress"),
        ("POST", "/api/v1/Contact", {"lastName": "x", "emailAddressData": [
            {"emailAddress": "ok@example.com"}, {"emailAddress": f"{NUL}@example.com"}]},
         "emailAddressData[1].emailAddress"),
        ("POST", "/api/v1/Contact", {"lastName": "x", "phoneNumberData": [{"phoneNumber": "+1 555\u0000"}]},
         "phoneNumberData[0].phoneNumber"),
        ("POST", "/api/v1/Account", {"name": NUL}, "name"),
        ("POST", "/api/v1/Account", {"name": "x", NUL: "y"}, "a\\0b"),
        ("PUT", f"/api/v1/Account/{account['id']}", {"name": NUL}, "name"),
        ("PUT", f"/api/v1/Contact/{contact['id']}", {"accountsIds": [account["id"]],
                                                      "accountsColumns": {account["id"]: {"role": NUL}}},
         f"accountsColumns.{account['id']}.role"),
        ("POST", "/api/v1/Account/action/massCreate", {"list": [{"name": "fine"}, {"name": NUL}]}, "list[1].name"),
        ("POST", "/api/v1/MassAction", {"entityType": "Account", "action": "update",
                                        "params": {"ids": [account["id"]]}, "data": {"name": NUL}}, "data.name"),
        ("POST", "/api/v1/Note", {"post": NUL, "parentType": "Account", "parentId": account["id"]}, "post"),
        ("PUT", f"/api/v1/Note/{note['id']}", {"post": NUL}, "post"),
        ("POST", "/api/v1/Webhook", {"event": "Account.create", "url": f"{HOOK_URL}/{NUL}"}, "url"),
        ("POST", "/api/v1/Webhook", {"event": "Account.create", "url": HOOK_URL, "description": NUL}, "description"),
        ("PUT", f"/api/v1/Webhook/{hook['id']}", {"url": f"{HOOK_URL}?{NUL}"}, "url"),
        ("PUT", f"/api/v1/Webhook/{hook['id']}", {"description": NUL}, "description"),
        ("POST", "/api/v1/Admin/fieldManager/Account", {"name": "tier", "type": "enum", "options": ["a", NUL]},
         "options[1]"),
        ("POST", "/api/v1/Admin/fieldManager/Account", {"name": "note", "type": "varchar", "tooltip": NUL},
         "tooltip"),
        ("POST", "/api/v1/User", {"userName": NUL, "lastName": "x"}, "userName"),
    ]
    for method, path, body, location in cases:
        refused_by_espo(api.request(method, path, json=body), location)
    # A JSON array body (mass create's list form) and a form body are bodies too.
    refused_by_espo(api.post("/api/v1/Account/action/massCreate", json=[{"name": NUL}]), "[0].name")
    form = api.post("/api/v1/Account", content=b"name=a%00b",
                     headers={"content-type": "application/x-www-form-urlencoded"})
    refused_by_espo(form, "name")
    assert row_counts(store) == before
    assert api.get(f"/api/v1/Account/{account['id']}").json()["name"] == "Acme"
    assert not {"cTier", "cNote"} & set(harness.app.state.core.registry.entity("Account").fields)
    assert stored_nul(store) == []


def test_espo_credentials_with_nul_in_the_user_name_are_a_failed_login(harness):
    encoded = base64.b64encode(b"ad\x00min:admin-password-1").decode()
    client = harness.client(validate=False)
    for headers in ({"Authorization": f"Basic {encoded}"}, {"Espo-Authorization": encoded}):
        response = client.get("/api/v1/App/user", headers=headers)
        assert response.status_code == 401, response.text


def test_espo_delivery_ids_with_nul_name_no_delivery(api):
    hook = api.post("/api/v1/Webhook", json={"event": "Account.create", "url": HOOK_URL}).json()
    response = api.post(f"/api/v1/Webhook/{hook['id']}/deliveries/a%00b/redeliver")
    assert response.status_code == 404


def test_other_control_characters_are_kept(api):
    """Only NUL cannot be stored; other control characters are data like any other."""
    text = "tab\tbell\u0007escape\u001b"
    account = api.post("/api/v1/Account", json={"name": "x", "description": text})
    assert account.status_code == 200 and account.json()["description"] == text


# --- InflowCRM -----------------------------------------------------------------------------------------


def multipart(parts: list[tuple[bytes, bytes]]) -> tuple[bytes, dict[str, str]]:
    """A hand-built multipart body: (Content-Disposition parameters, content) per part. HTTP clients
    percent-encode control characters in names, so NUL can only be sent raw this way."""
    body = b"".join(b"--xyz\r\nContent-Disposition: form-data; " + disposition + b"\r\n\r\n" + content + b"\r\n"
                    for disposition, content in parts) + b"--xyz--\r\n"
    return body, {"content-type": "multipart/form-data; boundary=xyz"}


def test_inflow_bodies_with_nul_anywhere_are_refused_and_nothing_is_written(inflow, harness, store):
    record = create(inflow, "customer", {"name": "Acme"})
    user_id = inflow.post("/api/validateApiKey").json()["data"]["userId"]
    before = row_counts(store)
    cases: list[tuple[str, str, Any, str]] = [
        ("POST", "/api/createRecord", {"module": "customer", "data": {"name": NUL}}, "data.name"),
        ("POST", "/api/createRecord", {"module": "customer", "data": {"name": "x", "email": f"{NUL}@x.pl"}},
         "data.email"),
        ("PATCH", f"/api/updateRecord/{record['id']}", {"module": "customer", "data": {"website": NUL}},
         "data.website"),
        ("PATCH", f"/api/updateUser/{user_id}", {"position": NUL}, "position"),
        ("POST", "/api/searchRecords", {"module": "customer", "filters": {"name": NUL}}, "filters.name"),
        ("POST", "/webhooks/subscribe", {"event": "created", "hookUrl": f"{HOOK_URL}?{NUL}", "module": "customer"},
         "hookUrl"),
    ]
    for method, path, body, location in cases:
        refused_by_inflow(inflow.request(method, path, json=body), location)
    form = inflow.post("/api/createRecord", content=b"module=customer&name=a%00b",
                       headers={"content-type": "application/x-www-form-urlencoded"})
    refused_by_inflow(form, "name")
    for parts, location in [
        ([(b'name="module"', b"customer"), (b'name="name"', b"a\x00b")], "name"),
        ([(b'name="module"', b"customer"), (b'name="na\x00me"', b"x")], "na\\0me"),
        ([(b'name="module"', b"customer"), (b'name="name"', b"x"),
          (b'name="standaloneAttachments"; filename="a\x00b.txt"', b"hello")], "standaloneAttachments"),
    ]:
        content, headers = multipart(parts)
        refused_by_inflow(inflow.post("/api/createRecord", content=content, headers=headers), location)
    assert row_counts(store) == before
    assert not any(harness.app.state.core.files.staging_dir.iterdir())  # refused uploads are not kept
    assert stored_nul(store) == []


# --- core, for callers that bypass the dialects (CLI, internal) ------------------------------------------


def test_core_refuses_nul_in_every_stored_text(harness, store):
    core = harness.app.state.core
    actor = harness.directory.actor(harness.admin_id)
    account = core.records("Account").create(actor, {"name": "Acme"})
    before = row_counts(store)
    record_cases = [
        ("Account", {"name": NUL}, "name", "valid"),
        ("Contact", {"lastName": "x", "emailAddress": f"{NUL}@example.com"}, "emailAddress", "valid"),
        ("Contact", {"lastName": "x", "emailAddressData": [{"emailAddress": f"{NUL}@example.com"}]},
         "emailAddress", "valid"),
        ("Contact", {"lastName": "x", "accountsIds": [account["id"]],
                     "accountsColumns": {account["id"]: {"role": NUL}}}, "accounts", "columnsValid"),
        ("Team", {"name": "t", "positionList": ["ok", NUL]}, "positionList", "valid"),
    ]
    for entity, data, field, kind in record_cases:
        with pytest.raises(ValidationFailure) as failure:
            core.records(entity).create(actor, data)
        assert (failure.value.field, failure.value.kind) == (field, kind), entity
    email = core.records("Email").entity  # its only JSON field is read-only: convert the value directly
    with pytest.raises(ValidationFailure):
        RecordInput(email).convert(email.attributes["addressNameMap"], email.fields["addressNameMap"],
                                   {"a@example.com": NUL})
    with pytest.raises(ValidationFailure) as failure:
        core.stream.post(actor, {"post": NUL, "parentType": "Account", "parentId": account["id"]})
    assert (failure.value.entity, failure.value.field, failure.value.kind) == ("Note", "post", "valid")
    for params in ({"options": ["a", NUL]}, {"options": ["a"], "tooltip": NUL}, {"options": ["a"], "default": NUL}):
        with pytest.raises(BadRequest):
            core.add_field("Account", "cTier", "enum", params)
    assert row_counts(store) == before and stored_nul(store) == []
    with pytest.raises(BlockedTarget):
        parse_target(f"{HOOK_URL}?{NUL}")


def test_nul_location_names_the_first_place_and_survives_deep_nesting():
    assert nul_location({"a": [1, "x", {"b": NUL}], "c": NUL}) == "a[2].b"
    assert nul_location({"a": {NUL: 1}}) == "a.a\\0b" and nul_location(NUL) == ""
    assert nul_location({"a": ["x", 1, None, True, 2.5]}) is None
    deep: Any = NUL
    for _ in range(5000):
        deep = [deep]
    assert nul_location(deep) == "[0]" * 5000
