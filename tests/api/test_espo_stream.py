"""EspoCRM's activity stream (specs/espocrm.md §1, §8): the notes written when records of an entity with a
stream are created and changed, users' posts (`Note`), `{Entity}/{id}/stream` and `/posts`, access rules and
bad input."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.api.test_espo_records import create

ALL = {"create": "yes", "read": "all", "edit": "all", "delete": "all"}
OWN = {"create": "yes", "read": "own", "edit": "own", "delete": "own"}
TEAM = {"create": "yes", "read": "team", "edit": "team", "delete": "no"}


def stored_notes(store) -> int:
    table = store.database.table("note")
    with store.database.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def stream(client, entity: str, record: dict, route: str = "stream", **params) -> dict:
    response = client.get(f"/api/v1/{entity}/{record['id']}/{route}", params=params)
    assert response.status_code == 200, response.headers.get("x-status-reason")
    return response.json()


def types(page: dict) -> list[str]:
    return [note["type"] for note in page["list"]]


def post(client, entity: str, record: dict, text: str = "Hello"):
    return client.post("/api/v1/Note", json={"type": "Post", "post": text, "parentType": entity,
                                             "parentId": record["id"]})


# --- notes written on their own -------------------------------------------------------------------

def test_a_new_record_gets_a_create_note_with_its_assigned_user_and_status(api, harness):
    user, _ = harness.user({"Lead": ALL})
    user_name = api.get(f"/api/v1/User/{user}").json()["name"]
    lead = create(api, "Lead", {"lastName": "Stone", "status": "Assigned", "assignedUserId": str(user)})
    page = stream(api, "Lead", lead)
    assert page["total"] == 1
    note = page["list"][0]
    assert note["type"] == "Create" and note["post"] is None
    assert note["data"] == {"assignedUserId": str(user), "assignedUserName": user_name, "statusValue": "Assigned",
                            "statusField": "status", "statusStyle": "primary"}
    assert (note["parentType"], note["parentId"], note["parentName"]) == ("Lead", lead["id"], "Stone")
    assert (note["createdById"], note["createdByName"]) == (str(harness.admin_id), "admin")
    assert note["createdAt"] == lead["createdAt"] and note["isInternal"] is False
    assert note["relatedId"] is None and note["modifiedAt"] is None
    account = create(api, "Account", {"name": "Plain"})  # nobody assigned, no status field
    assert stream(api, "Account", account)["list"][0]["data"] == {}


def test_updates_write_assign_update_and_status_notes_newest_first(api, harness):
    user, _ = harness.user({"Opportunity": ALL})
    first = create(api, "Account", {"name": "First"})
    second = create(api, "Account", {"name": "Second"})
    opportunity = create(api, "Opportunity", {"name": "Deal", "stage": "Prospecting", "amount": 100,
                                              "amountCurrency": "USD", "closeDate": "2030-01-01",
                                              "accountId": first["id"]})
    path = f"/api/v1/Opportunity/{opportunity['id']}"
    assert api.put(path, json={"stage": "Closed Won", "amount": 250, "accountId": second["id"],
                               "assignedUserId": str(user), "description": "not audited"}).status_code == 200
    page = stream(api, "Opportunity", opportunity)
    assert types(page) == ["Status", "Update", "Assign", "Create"]
    status, update, assign, _ = page["list"]
    assert status["data"] == {"field": "stage", "value": "Closed Won", "style": "success"}
    assert assign["data"]["assignedUserId"] == str(user) and assign["data"]["assignedUserName"]
    assert update["data"]["fields"] == ["amount", "account"]
    was, became = update["data"]["attributes"]["was"], update["data"]["attributes"]["became"]
    assert (was["amount"], became["amount"]) == (100, 250)
    assert (was["accountId"], was["accountName"]) == (first["id"], "First")
    assert (became["accountId"], became["accountName"]) == (second["id"], "Second")
    assert api.put(path, json={"description": "only this"}).status_code == 200  # not audited: no note
    assert api.put(path, json={"stage": "Closed Won"}).status_code == 200  # no change: no note
    assert api.put(path, json={"assignedUserId": None}).status_code == 200
    page = stream(api, "Opportunity", opportunity)
    assert page["total"] == 5 and page["list"][0]["data"] == {"assignedUserId": None}


def test_notes_bear_their_records_creation_and_modification_times(api, monkeypatch):
    """A note written a clock tick after its record's stamp (CI caught one on a second's edge) still bears it."""
    import polycrm.core.stream as stream_module
    monkeypatch.setattr(stream_module, "utcnow", lambda: datetime(2001, 1, 1))
    lead = create(api, "Lead", {"lastName": "Tick", "status": "New"})
    assert stream(api, "Lead", lead)["list"][0]["createdAt"] == lead["createdAt"]
    updated = api.put(f"/api/v1/Lead/{lead['id']}", json={"status": "Assigned"}).json()
    assert stream(api, "Lead", lead)["list"][0]["createdAt"] == updated["modifiedAt"]
    ids = api.post("/api/v1/Lead/action/massCreate", json={"list": [{"lastName": "A"}]}).json()["ids"]
    created = api.get(f"/api/v1/Lead/{ids[0]}").json()["createdAt"]
    assert stream(api, "Lead", {"id": ids[0]})["list"][0]["createdAt"] == created


def test_a_date_change_is_an_update_and_a_status_cleared_is_no_status_note(api):
    task = create(api, "Task", {"name": "Call back", "status": "Started", "dateEnd": "2030-01-01 10:00:00"})
    path = f"/api/v1/Task/{task['id']}"
    assert api.put(path, json={"dateEnd": "2030-01-02 11:00:00", "priority": "High"}).status_code == 200
    update = stream(api, "Task", task)["list"][0]
    assert update["type"] == "Update" and update["data"]["fields"] == ["priority", "dateEnd"]
    assert update["data"]["attributes"]["became"]["dateEnd"] == "2030-01-02 11:00:00"
    assert api.put(path, json={"status": "Completed"}).status_code == 200
    assert stream(api, "Task", task)["list"][0]["data"] == {"field": "status", "value": "Completed",
                                                            "style": "success"}


def test_mass_create_and_mass_update_write_notes(api, store):
    created = api.post("/api/v1/Lead/action/massCreate", json={"list": [
        {"lastName": f"L{i}", "status": "New"} for i in range(3)]}).json()
    before = stored_notes(store)
    assert before == 3
    result = api.post("/api/v1/MassAction", json={"entityType": "Lead", "action": "update",
                                                  "params": {"ids": created["ids"]},
                                                  "data": {"status": "Dead", "doNotCall": True}})
    assert result.json()["count"] == 3
    for lead_id in created["ids"]:
        page = stream(api, "Lead", {"id": lead_id})
        assert types(page) == ["Status", "Update", "Create"]
        assert page["list"][1]["data"]["attributes"] == {"was": {"doNotCall": False}, "became": {"doNotCall": True}}
    assert stored_notes(store) == 9


def test_entities_without_a_stream_write_no_notes_and_have_no_stream(api, store):
    call = create(api, "Call", {"name": "Ring", "dateStart": "2030-01-01 10:00:00", "dateEnd": "2030-01-01 10:30:00"})
    assert api.put(f"/api/v1/Call/{call['id']}", json={"status": "Held"}).status_code == 200
    assert stored_notes(store) == 0
    for route in ("stream", "posts"):
        response = api.get(f"/api/v1/Call/{call['id']}/{route}")
        assert (response.status_code, response.headers["x-status-reason"]) == (403, "No stream access.")
        assert api.get(f"/api/v1/Call/999999/{route}").status_code == 404
        assert api.get(f"/api/v1/User/{call['assignedUserId']}/{route}").status_code == 403
    refused = post(api, "Call", call)
    assert (refused.status_code, refused.headers["x-status-reason"]) == (403, "No stream access.")
    assert stored_notes(store) == 0
    scopes = api.get("/api/v1/Metadata", params={"key": "scopes"}).json()
    assert scopes["Opportunity"]["statusField"] == "stage" and "statusField" not in scopes["Account"]


# --- posts ----------------------------------------------------------------------------------------

def test_posts_are_created_read_edited_and_deleted_by_their_author(api, harness, store):
    author, author_client = harness.user({"Contact": ALL})
    _, other_client = harness.user({"Contact": ALL})
    contact = create(api, "Contact", {"lastName": "Reed"})
    created = post(author_client, "Contact", contact, "First words")
    assert created.status_code == 200, created.headers.get("x-status-reason")
    note = created.json()
    assert (note["type"], note["post"], note["data"]) == ("Post", "First words", {})
    assert (note["parentType"], note["parentId"], note["parentName"]) == ("Contact", contact["id"], "Reed")
    assert note["createdById"] == str(author) and note["number"] == int(note["id"])
    assert api.get(f"/api/v1/Note/{note['id']}").json() == note
    path = f"/api/v1/Note/{note['id']}"
    edited = author_client.patch(path, json={"post": "Better words", "type": "Create", "parentId": "1",
                                             "createdById": "1"}).json()
    assert (edited["post"], edited["type"], edited["parentId"], edited["createdById"]) == (
        "Better words", "Post", contact["id"], str(author))
    assert edited["modifiedById"] == str(author) and edited["modifiedAt"]
    assert author_client.put(path, json={}).json() == edited
    for method in ("PUT", "PATCH"):
        refused = other_client.request(method, path, json={"post": "Mine now"})
        assert (refused.status_code, refused.headers["x-status-reason"]) == (403, "No edit access.")
    assert api.put(path, json={"post": "Admin words"}).status_code == 403  # own posts only, admins too
    refused = other_client.delete(path)
    assert (refused.status_code, refused.headers["x-status-reason"]) == (403, "No delete access.")
    assert stream(api, "Contact", contact, "posts")["list"] == [edited]
    assert types(stream(api, "Contact", contact)) == ["Post", "Create"]
    assert author_client.delete(path).json() is True
    gone = api.get(path)
    assert (gone.status_code, gone.headers["x-status-reason"]) == (404, f"Record {note['id']} does not exist.")
    assert author_client.delete(path).status_code == 404
    assert stream(api, "Contact", contact, "posts") == {"total": 0, "list": []}
    # Admins delete any note; nobody edits one that is not a post.
    create_note = stream(api, "Contact", contact)["list"][0]
    assert api.put(f"/api/v1/Note/{create_note['id']}", json={"post": "x"}).status_code == 403
    assert api.delete(f"/api/v1/Note/{create_note['id']}").json() is True
    assert stream(api, "Contact", contact)["total"] == 0
    other = post(other_client, "Contact", contact).json()
    assert api.delete(f"/api/v1/Note/{other['id']}").json() is True
    assert stored_notes(store) == 3  # soft-deleted, kept until a purge


def test_purge_removes_the_stream_of_purged_records(api, harness, store):
    contact = create(api, "Contact", {"lastName": "Gone"})
    assert post(api, "Contact", contact).status_code == 200
    assert api.delete(f"/api/v1/Contact/{contact['id']}").json() is True
    assert api.get(f"/api/v1/Contact/{contact['id']}/stream").status_code == 404
    harness.app.state.core.purge(datetime.now() + timedelta(days=1))
    assert stored_notes(store) == 0


# --- reading the stream ---------------------------------------------------------------------------

def test_stream_pages_totals_and_after(api):
    account = create(api, "Account", {"name": "Busy"})
    for i in range(5):
        assert post(api, "Account", account, f"p{i}").status_code == 200
    page = stream(api, "Account", account, maxSize=2)
    assert page["total"] == 6 and [n["post"] for n in page["list"]] == ["p4", "p3"]
    page = stream(api, "Account", account, maxSize=2, offset=4)
    assert page["total"] == 6 and types(page) == ["Post", "Create"]
    no_total = api.get(f"/api/v1/Account/{account['id']}/stream", params={"maxSize": 2},
                       headers={"X-No-Total": "true"}).json()
    assert no_total["total"] == -1 and len(no_total["list"]) == 2
    last = api.get(f"/api/v1/Account/{account['id']}/posts", params={"offset": 4},
                   headers={"X-No-Total": "true"}).json()
    assert last["total"] == -2 and [n["post"] for n in last["list"]] == ["p0"]
    assert stream(api, "Account", account, after="2000-01-01 00:00:00")["total"] == 6
    assert stream(api, "Account", account, after="2999-01-01T00:00:00+02:00") == {"total": 0, "list": []}
    assert stream(api, "Account", account, maxSize=0)["total"] == 6  # 0 is the default, as in lists


# --- access ---------------------------------------------------------------------------------------

def test_who_may_read_a_stream_and_post_in_it(api, harness, store):
    owner, owner_client = harness.user({"Account": OWN})
    _, stranger_client = harness.user({"Account": OWN})
    _, no_role_client = harness.user()
    team = create(api, "Team", {"name": "Sales"})
    _, member_client = harness.user({"Account": TEAM}, teams=[int(team["id"])])
    _, outsider_client = harness.user({"Account": TEAM})
    account = create(api, "Account", {"name": "Mine", "assignedUserId": str(owner), "teamsIds": [team["id"]]})
    note = post(owner_client, "Account", account).json()
    path = f"/api/v1/Account/{account['id']}"
    before = stored_notes(store)
    for client in (stranger_client, no_role_client, outsider_client):
        for route in ("stream", "posts"):
            refused = client.get(f"{path}/{route}")
            assert (refused.status_code, refused.headers["x-status-reason"]) == (403, "No stream access.")
        assert post(client, "Account", account).status_code == 403
        refused = client.get(f"/api/v1/Note/{note['id']}")
        assert (refused.status_code, refused.headers["x-status-reason"]) == (403, "No read access.")
    assert stored_notes(store) == before
    for client in (owner_client, member_client):
        assert types(stream(client, "Account", account)) == ["Post", "Create"]
        assert client.get(f"/api/v1/Note/{note['id']}").status_code == 200
    assert post(member_client, "Account", account).status_code == 200
    # A user who may no longer read the record may not change their post in its stream either.
    assert api.put(path, json={"assignedUserId": None, "teamsIds": []}).status_code == 200
    assert owner_client.put(f"/api/v1/Note/{note['id']}", json={"post": "x"}).status_code == 403
    assert owner_client.delete(f"/api/v1/Note/{note['id']}").status_code == 403


# --- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("body,field,kind", [
    ({"parentType": "Account"}, "post", "required"),
    ({"post": "", "parentType": "Account"}, "post", "required"),
    ({"post": "   ", "parentType": "Account"}, "post", "required"),
    ({"post": 42, "parentType": "Account"}, "post", "valid"),
    ({"post": ["a"], "parentType": "Account"}, "post", "valid"),
    ({"post": "x" * 65_536, "parentType": "Account"}, "post", "maxLength"),
    ({"type": "Create", "post": "x", "parentType": "Account"}, "type", "valid"),
    ({"type": None, "post": "x", "parentType": "Account"}, "type", "valid"),
    ({"post": "x"}, "parent", "required"),
    ({"post": "x", "parentType": None}, "parent", "required"),
    ({"post": "x", "parentType": "Nope"}, "parent", "valid"),
    ({"post": "x", "parentType": "account"}, "parent", "valid"),
    ({"post": "x", "parentType": ["Account"]}, "parent", "valid"),
    ({"post": "x", "parentType": "Account", "parentId": True}, "parent", "valid"),
    ({"post": "x", "parentType": "Account", "parentId": {"id": 1}}, "parent", "valid"),
])
def test_invalid_posts_get_validation_failures(api, store, body, field, kind):
    account = create(api, "Account", {"name": "Target"})
    body = {"parentId": account["id"], **body}
    before = stored_notes(store)
    response = api.post("/api/v1/Note", json=body)
    assert response.status_code == 400, response.headers.get("x-status-reason")
    assert response.json()["messageTranslation"]["data"] == {"field": field, "type": kind}
    assert response.headers["x-status-reason"] == \
        f"Field validation failure; entityType: Note, field: {field}, type: {kind}."
    assert stored_notes(store) == before


def test_posts_ignore_unknown_and_read_only_attributes(api, harness):
    account = create(api, "Account", {"name": "Target"})
    response = api.post("/api/v1/Note", json={
        "post": "Hi", "parentType": "Account", "parentId": account["id"], "id": "999", "createdById": "999",
        "data": {"injected": True}, "isInternal": True, "relatedId": "1", "unknown": "x", "number": 5})
    note = response.json()
    assert note["id"] != "999" and note["createdById"] == str(harness.admin_id) and note["data"] == {}
    assert note["isInternal"] is False and note["relatedId"] is None and "unknown" not in note


@pytest.mark.parametrize("parent_id", ["999999", "0", "-1", "abc", "1 OR 1=1", "1'; DROP TABLE note; --", ""])
def test_posting_to_a_record_that_does_not_exist_is_404(api, store, parent_id):
    response = api.post("/api/v1/Note", json={"post": "x", "parentType": "Account", "parentId": parent_id})
    assert (response.status_code, response.headers["x-status-reason"]) == (404, "Record not found.")
    assert stored_notes(store) == 0


@pytest.mark.parametrize("raw,status", [
    (b"{not json", 400), (b"42", 400), (b'"Post"', 400), (b"[1, 2]", 400), (b"", 400),
])
def test_malformed_note_bodies(api, store, raw, status):
    response = api.post("/api/v1/Note", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert stored_notes(store) == 0


def test_oversized_note_body_gets_413(api, config, store):
    account = create(api, "Account", {"name": "Target"})
    big = b'{"parentType": "Account", "parentId": "' + account["id"].encode() + b'", "post": "' + \
        b"x" * (config.max_body_bytes + 10) + b'"}'
    assert api.post("/api/v1/Note", content=big, headers={"Content-Type": "application/json"}).status_code == 413
    assert stored_notes(store) == 1  # the account's Create note only


@pytest.mark.parametrize("note_id", ["999999", "abc", "0", "1.5", "1%20OR%201=1", "%27%3B--"])
def test_unknown_note_ids_are_404(api, note_id):
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = api.request(method, f"/api/v1/Note/{note_id}", json={"post": "x"})
        assert response.status_code == 404, (method, note_id)


@pytest.mark.parametrize("params,status,reason", [
    ({"maxSize": "201"}, 403, "Max size should not exceed 200. Use offset and limit."),
    ({"offset": "-1"}, 400, "offset must not be negative."),
    ({"after": "yesterday"}, 400, "Bad 'after' parameter."),
    ({"after": "2030-13-01 00:00:00"}, 400, "Bad 'after' parameter."),
    ({"after": "1' OR '1'='1"}, 400, "Bad 'after' parameter."),
    ({"after[]": "2030-01-01"}, 400, "Bad 'after' parameter."),
])
def test_bad_stream_parameters(api, params, status, reason):
    account = create(api, "Account", {"name": "Target"})
    response = api.get(f"/api/v1/Account/{account['id']}/stream", params=params)
    assert (response.status_code, response.headers["x-status-reason"]) == (status, reason)


def test_odd_stream_parameters_are_read_as_php_does(api):
    account = create(api, "Account", {"name": "Target"})
    for params in ({"maxSize": "abc"}, {"offset": "1 OR 1=1"}, {"maxSize": "2; DROP TABLE note"}, {"unknown": "x"}):
        assert stream(api, "Account", account, **params)["total"] == 1


@pytest.mark.parametrize("path,status", [
    ("/api/v1/Nope/1/stream", 404), ("/api/v1/Account/abc/stream", 404), ("/api/v1/Account/999999/posts", 404),
    ("/api/v1/account/1/stream", 404),
])
def test_unknown_records_and_entities(api, path, status):
    assert api.get(path).status_code == status


def test_stream_routes_are_in_the_openapi_document(api):
    spec = api.get("/api/v1/OpenApi").json()
    assert {"Note", "Note_create", "Note_update"} <= set(spec["components"]["schemas"])
    assert "get" in spec["paths"]["/Lead/{id}/stream"] and "get" in spec["paths"]["/Lead/{id}/posts"]
    assert set(spec["paths"]["/Note/{id}"]) >= {"get", "put", "patch", "delete"}
