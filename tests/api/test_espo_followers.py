"""EspoCRM followers (specs/espocrm.md §2.1-2.2, §5, §6.1): following records, their followers, the `followed`
filters, mass follow, the follows EspoCRM makes on its own, access rules and bad input. The activity stream
itself is tested in test_espo_stream.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.api.test_espo_records import create

ALL = {"create": "yes", "read": "all", "edit": "all", "delete": "all"}
OWN = {"create": "yes", "read": "own", "edit": "own", "delete": "no"}
TEAM = {"create": "yes", "read": "team", "edit": "team", "delete": "no"}
FOLLOW_VIEW = {"isFollowed", "followersIds", "followersNames"}


def followers(api, record: dict, entity: str = "Account") -> list[str]:
    return api.get(f"/api/v1/{entity}/{record['id']}").json()["followersIds"]


def stored_follows(store) -> int:
    table = store.database.table("stream_subscription")
    with store.database.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def followed(client, entity: str = "Account", **params) -> list[str]:
    params = params or {"primaryFilter": "followed"}
    response = client.get(f"/api/v1/{entity}", params=dict(params, orderBy="name"))
    assert response.status_code == 200, response.headers.get("x-status-reason")
    return [r["name"] for r in response.json()["list"]]


# --- reading --------------------------------------------------------------------------------------

def test_a_read_shows_the_readers_follow_and_lists_show_it_when_selected(api, harness):
    user, client = harness.user({"Account": OWN})
    account = create(api, "Account", {"name": "Acme", "assignedUserId": str(user)})
    admin, user = str(harness.admin_id), str(user)
    assert account["isFollowed"] is False and account["followersIds"] == [user]  # the creator does not follow
    assert api.put(f"/api/v1/Account/{account['id']}/subscription").json() is True
    account = api.get(f"/api/v1/Account/{account['id']}").json()
    assert account["isFollowed"] is True
    assert account["followersIds"] == [admin, user]  # the reader first, then by name
    assert account["followersNames"] == {admin: "admin", user: api.get(f"/api/v1/User/{user}").json()["name"]}
    seen = client.get(f"/api/v1/Account/{account['id']}").json()
    assert seen["isFollowed"] is True and seen["followersIds"] == [user, admin]  # the reader first
    listed = api.get("/api/v1/Account").json()["list"][0]
    assert not FOLLOW_VIEW & set(listed)
    selected = api.get("/api/v1/Account", params={"select": "name,isFollowed,followersIds,followersNames"})
    item = selected.json()["list"][0]
    assert FOLLOW_VIEW <= set(item) and item["followersIds"] == [admin, user]
    assert api.get(f"/api/v1/Account/{account['id']}", params={"select": "isFollowed"}).json() == {
        "id": account["id"], "isFollowed": True}


def test_entities_without_a_stream_have_no_followers(api, store):
    call = create(api, "Call", {"name": "Ring", "dateStart": "2030-01-01 10:00:00",
                                "dateEnd": "2030-01-01 10:30:00"})
    assert not FOLLOW_VIEW & set(call)
    path = f"/api/v1/Call/{call['id']}"
    for method, route, body in [("PUT", "subscription", None), ("DELETE", "subscription", None),
                                ("GET", "followers", None), ("POST", "followers", {"id": call["assignedUserId"]}),
                                ("DELETE", "followers", {"id": call["assignedUserId"]})]:
        response = api.request(method, f"{path}/{route}", json=body)
        assert (response.status_code, response.headers["x-status-reason"]) == (404, "No stream."), (method, route)
    mass = api.post("/api/v1/MassAction", json={"entityType": "Call", "action": "follow",
                                                "params": {"ids": [call["id"]]}})
    assert mass.status_code == 404
    # EspoCRM accepts the filter on every entity: nothing can be followed here, so nothing matches.
    assert followed(api, "Call") == [] and followed(api, "Call", **{"boolFilterList[]": "followed"}) == []
    assert stored_follows(store) == 0
    scopes = api.get("/api/v1/Metadata", params={"key": "scopes"}).json()
    assert scopes["Account"]["stream"] is True and scopes["Call"]["stream"] is False


def test_metadata_and_acl_list_the_followed_filters(api, harness):
    select_defs = api.get("/api/v1/Metadata", params={"key": "selectDefs"}).json()
    assert select_defs["Lead"]["primaryFilterList"][-1] == "followed"
    assert "followed" in select_defs["Task"]["boolFilterList"]
    assert "followed" not in select_defs["Document"]["boolFilterList"]
    _, client = harness.user({"Account": OWN})
    table = client.get("/api/v1/App/user").json()["acl"]["table"]
    assert table["Account"]["stream"] == "own" and table["Lead"]["stream"] == "no"


# --- following ------------------------------------------------------------------------------------

def test_following_is_idempotent_and_not_a_change_of_the_record(api, harness, store):
    harness.app.state.webhooks.subscriptions.create(
        protocol="espo", event="Account.update", entity_type="Account", action="update", field=None,
        url="http://127.0.0.1:9/", secret="s" * 32, owner_id=None, created_by_id=harness.admin_id)
    account = create(api, "Account", {"name": "Quiet"})
    path = f"/api/v1/Account/{account['id']}"
    assert account["isFollowed"] is False  # nobody is assigned, and its creator does not follow it
    assert api.put(f"{path}/subscription").json() is True
    for _ in range(2):
        assert api.delete(f"{path}/subscription").json() is True
    unfollowed = api.get(path).json()
    assert unfollowed["isFollowed"] is False and unfollowed["followersIds"] == [] == list(unfollowed["followersNames"])
    for _ in range(2):
        assert api.put(f"{path}/subscription").json() is True
    after = api.get(path).json()
    assert after["isFollowed"] is True and after["followersIds"] == [str(harness.admin_id)]
    assert (after["modifiedAt"], after["versionNumber"]) == (account["modifiedAt"], account["versionNumber"])
    events = store.database.table("webhook_event")
    with store.database.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 0
    api.put(path, json={"name": "Loud"})  # a real change, to show the webhook listens
    with store.database.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 1


def test_followers_are_listed_with_list_parameters_and_managed_by_id_or_ids(api, harness):
    first, _ = harness.user({"Account": OWN})
    second, _ = harness.user({"Account": ALL})
    account = create(api, "Account", {"name": "Crowd", "assignedUserId": str(first)})
    path = f"/api/v1/Account/{account['id']}/followers"
    assert api.post(path, json={"ids": [str(second), str(second)], "id": "ignored"}).json() is True
    listed = api.get(path).json()
    assert listed["total"] == 2
    assert {u["id"] for u in listed["list"]} == {str(first), str(second)}
    page = api.get(path, params={"orderBy": "userName", "order": "desc", "maxSize": 1, "select": "userName"}).json()
    assert page["total"] == 2 and len(page["list"]) == 1 and page["list"][0]["userName"].startswith("user")
    only = api.get(path, params={"where[0][type]": "equals", "where[0][attribute]": "id",
                                 "where[0][value]": str(first)}).json()
    assert [u["id"] for u in only["list"]] == [str(first)]
    assert api.get(path, headers={"X-No-Total": "true"}).json()["total"] == -2
    assert api.request("DELETE", path, json={"id": str(first)}).json() is True
    assert followers(api, account) == [str(second)]
    assert api.get(path, params={"orderBy": "nope"}).status_code == 400


def test_a_deleted_follower_is_no_longer_shown(api, harness):
    user, _ = harness.user({"Account": ALL})
    account = create(api, "Account", {"name": "Left", "assignedUserId": str(user)})
    assert api.put(f"/api/v1/Account/{account['id']}/subscription").json() is True
    assert api.delete(f"/api/v1/User/{user}").status_code == 200
    assert followers(api, account) == [str(harness.admin_id)]
    assert api.get(f"/api/v1/Account/{account['id']}/followers").json()["total"] == 1


# --- access ---------------------------------------------------------------------------------------

def test_who_may_follow_and_manage_followers(api, harness, store):
    owner, owner_client = harness.user({"Account": OWN})
    stranger, stranger_client = harness.user({"Account": OWN})
    _, no_scope_client = harness.user({"Contact": ALL})
    reader, reader_client = harness.user({"Account": {"create": "no", "read": "all", "edit": "no", "delete": "no"}})
    account = create(api, "Account", {"name": "Mine", "assignedUserId": str(owner)})
    path = f"/api/v1/Account/{account['id']}"
    before = stored_follows(store)
    for client in (stranger_client, no_scope_client):  # no read access to the record, or to the scope
        assert client.put(f"{path}/subscription").status_code == 403
        assert client.delete(f"{path}/subscription").status_code == 403
        assert client.get(f"{path}/followers").status_code == 403
        assert client.get(path).status_code == 403
    for client in (stranger_client, no_scope_client, reader_client):  # managing followers needs edit access
        assert client.post(f"{path}/followers", json={"id": str(stranger)}).status_code == 403
        assert client.request("DELETE", f"{path}/followers", json={"id": str(owner)}).status_code == 403
    assert stored_follows(store) == before
    # A reader may follow; the owner may add and remove only themselves; an admin anyone who can read it.
    assert reader_client.put(f"{path}/subscription").json() is True
    assert owner_client.request("DELETE", f"{path}/followers", json={"id": str(owner)}).json() is True
    assert owner_client.post(f"{path}/followers", json={"ids": [str(owner)]}).json() is True
    refused = owner_client.post(f"{path}/followers", json={"ids": [str(owner), str(reader)]})
    assert (refused.status_code, refused.headers["x-status-reason"]) == (403, "No 'followerManagement' permission.")
    blind = api.post(f"{path}/followers", json={"ids": [str(reader), str(stranger)]})
    assert (blind.status_code, blind.headers["x-status-reason"]) == (403, "Could not add user to followers.")
    assert sorted(followers(api, account)) == sorted(map(str, (owner, reader)))
    assert api.request("DELETE", f"{path}/followers", json={"ids": [str(owner), str(reader)]}).json() is True
    assert followers(api, account) == []
    assert owner_client.get(f"{path}/followers").json()["total"] == 0  # may not read users: an empty list


def test_team_level_follows_follow_team_access(api, harness):
    team = create(api, "Team", {"name": "Sales"})["id"]
    member, member_client = harness.user({"Account": TEAM}, teams=[int(team)])
    outsider, outsider_client = harness.user({"Account": TEAM})
    account = create(api, "Account", {"name": "Shared", "teamsIds": [team]})
    path = f"/api/v1/Account/{account['id']}"
    assert member_client.put(f"{path}/subscription").json() is True
    assert outsider_client.put(f"{path}/subscription").status_code == 403
    assert api.post(f"{path}/followers", json={"id": str(outsider)}).status_code == 403
    assert followed(member_client) == ["Shared"] and followed(outsider_client) == []
    assert str(member) in followers(api, account)


def test_missing_records_and_unknown_entities(api):
    for method, route in [("PUT", "subscription"), ("DELETE", "subscription"), ("GET", "followers")]:
        for record_id in ("999999", "1 OR 1=1", "abc"):
            response = api.request(method, f"/api/v1/Account/{record_id}/{route}")
            assert response.status_code == 404, (method, route, record_id)
    assert api.post("/api/v1/Account/999999/followers", json={"id": "1"}).status_code == 404
    unknown = api.put("/api/v1/Nope/1/subscription")
    assert (unknown.status_code, unknown.headers["x-status-reason"]) == (404, "Controller 'Nope' does not exist.")


# --- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, status, reason", [
    ({}, 400, "No ids."),
    ({"ids": []}, 400, "No ids."),
    ({"ids": "1"}, 400, "No ids."),
    ({"ids": {"0": "1"}}, 400, "No ids."),
    ({"id": None}, 400, "No ids."),
    ({"ids": [True]}, 400, "Bad id item."),
    ({"ids": [None]}, 400, "Bad id item."),
    ({"id": 1.5}, 400, "Bad id item."),
    ({"ids": [{"id": "1"}]}, 400, "Bad id item."),
    ({"ids": [["1"]]}, 400, "Bad id item."),
    ({"ids": [str(i) for i in range(1, 1002)]}, 400, "At most 1000 users per request."),
    ({"id": "999999"}, 404, "User 999999 not found."),
    ({"id": "0"}, 404, "User 0 not found."),
    ({"id": "-1"}, 404, "User -1 not found."),
    ({"id": "1 OR 1=1"}, 404, "User 1 OR 1=1 not found."),
    ({"ids": ["1", "1); DELETE FROM stream_subscription; --"]}, 404, None),
    ({"id": "99999999999999999999999"}, 404, None),
])
def test_bad_follower_input_is_refused_and_writes_nothing(api, store, body, status, reason):
    account = create(api, "Account", {"name": "Guarded"})
    assert api.put(f"/api/v1/Account/{account['id']}/subscription").json() is True
    before = stored_follows(store)
    for method in ("POST", "DELETE"):
        response = api.request(method, f"/api/v1/Account/{account['id']}/followers", json=body)
        assert response.status_code == status, (method, response.headers.get("x-status-reason"))
        if reason is not None:
            assert response.headers["x-status-reason"] == reason
    assert stored_follows(store) == before and followers(api, account) == [str(account["createdById"])]  # admin


@pytest.mark.parametrize("content, content_type, status", [
    (b"{not json", "application/json", 400),
    (b"[\"1\"]", "application/json", 400),  # an array body is {"list": [...]}: no ids
    (b"\"1\"", "application/json", 400),
    (b"id=1", "text/plain", 400),  # not JSON: the body is {}
    (b"{\"id\": \"" + b"9" * 2_000_000 + b"\"}", "application/json", 404),
])
def test_malformed_bodies_are_refused(api, store, content, content_type, status):
    account = create(api, "Account", {"name": "Raw"})
    before = stored_follows(store)
    response = api.post(f"/api/v1/Account/{account['id']}/followers", content=content,
                        headers={"Content-Type": content_type})
    assert response.status_code == status
    assert stored_follows(store) == before


def test_oversized_bodies_get_413(harness, store):
    limited = harness.key_client(harness.admin_key)
    account = create(limited, "Account", {"name": "Big"})
    assert limited.put(f"/api/v1/Account/{account['id']}/subscription").json() is True
    huge = b"{\"ids\": [" + b"\"1\"," * 3_000_000 + b"\"1\"]}"
    response = limited.post(f"/api/v1/Account/{account['id']}/followers", content=huge,
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert followers(limited, account) == [str(harness.admin_id)]


# --- filters --------------------------------------------------------------------------------------

def test_followed_filters_list_what_the_user_follows(api, harness):
    user, client = harness.user({"Account": ALL})
    accounts = [create(api, "Account", {"name": name}) for name in ("First", "Second", "Third")]
    assert client.put(f"/api/v1/Account/{accounts[1]['id']}/subscription").json() is True
    mine = create(client, "Account", {"name": "Own"})  # assigned to its creator, who so follows it
    assert followed(client) == ["Own", "Second"]
    assert followed(client, **{"boolFilterList[]": "followed"}) == ["Own", "Second"]
    assert followed(client, **{"where[0][type]": "bool", "where[0][value][]": "followed"}) == ["Own", "Second"]
    assert followed(client, **{"where[0][type]": "primary", "where[0][value]": "followed"}) == ["Own", "Second"]
    assert followed(client, searchParams='{"primaryFilter": "followed", "textFilter": "Ow"}') == ["Own"]
    # Bool filters are OR-ed: followed, or assigned to the user (as what they create is).
    create(api, "Account", {"name": "Assigned", "assignedUserId": str(user)})
    client.delete(f"/api/v1/Account/{mine['id']}/subscription")
    assert followed(client) == ["Assigned", "Second"]
    assert followed(client, **{"boolFilterList[]": ["followed", "onlyMy"]}) == ["Assigned", "Own", "Second"]
    assert followed(api) == []  # the admin made them all, and creators do not follow
    assert client.get("/api/v1/Account", params={"primaryFilter": "followed"}).json()["total"] == 2
    api.delete(f"/api/v1/Account/{accounts[1]['id']}")  # a deleted record's follows go with it
    assert followed(client) == ["Assigned"]


def test_followed_is_no_attribute_to_filter_or_sort_by(api):
    create(api, "Account", {"name": "Plain"})
    for params in ({"where[0][type]": "isTrue", "where[0][attribute]": "isFollowed"}, {"orderBy": "isFollowed"},
                   {"where[0][type]": "linkedWith", "where[0][attribute]": "followers", "where[0][value]": "1"}):
        assert api.get("/api/v1/Account", params=params).status_code == 400, params


# --- mass actions ---------------------------------------------------------------------------------

def mass(client, action: str, params: dict, entity: str = "Account"):
    return client.post("/api/v1/MassAction", json={"entityType": entity, "action": action, "params": params})


def test_mass_follow_and_unfollow_by_ids_and_criteria(api, harness, store):
    user, client = harness.user({"Account": OWN}, mass_update=False)
    mine = [create(api, "Account", {"name": f"Mine{i}", "assignedUserId": str(user)})["id"] for i in range(3)]
    other = create(api, "Account", {"name": "Other"})["id"]
    assert followed(client) == ["Mine0", "Mine1", "Mine2"]  # assigned users follow
    assert mass(client, "unfollow", {"ids": mine[:2] + ["999999", "junk"]}).json() == {"count": 2, "ids": mine[:2]}
    assert followed(client) == ["Mine2"]
    # By criteria: no mass-update permission needed (following changes no record), the user's records only.
    assert mass(client, "follow", {"where": [{"type": "startsWith", "attribute": "name", "value": "M"}]}).json() == {
        "count": 3}
    assert followed(client) == ["Mine0", "Mine1", "Mine2"]
    refused = mass(client, "follow", {"ids": [mine[0], other]})  # all or nothing
    assert refused.status_code == 403 and str(user) not in followers(api, {"id": other})
    unfollowed = mass(client, "unfollow", {"searchParams": {"primaryFilter": "followed"}})
    assert unfollowed.json() == {"count": 3} and followed(client) == []
    assert mass(api, "follow", {"ids": [other]}).json() == {"count": 1, "ids": [other]}


@pytest.mark.parametrize("params, status", [
    ({}, 400),
    ({"ids": "1"}, 400),
    ({"ids": ["1"], "where": []}, 400),
    ({"where": "x"}, 400),
    ({"where": [{"type": "equals", "attribute": "nope", "value": 1}]}, 400),
    ({"searchParams": {"primaryFilter": "nope"}}, 400),
])
def test_mass_follow_bad_input(api, store, params, status):
    create(api, "Account", {"name": "Target"})
    before = stored_follows(store)
    for action in ("follow", "unfollow"):
        assert mass(api, action, params).status_code == status, (action, params)
    assert stored_follows(store) == before


# --- automatic follows ----------------------------------------------------------------------------

def test_assigned_users_follow_on_create_and_assignment(api, harness):
    reader, reader_client = harness.user({"Account": OWN})
    other_reader, _ = harness.user({"Account": OWN})
    blind, _ = harness.user({"Contact": ALL})
    # Assigning a record to a user needs read access to that user.
    integration, integration_client = harness.user({"Account": ALL, "User": {"read": "all"}}, user_type="api")
    admin = str(harness.admin_id)
    assigned = create(api, "Account", {"name": "Assigned", "assignedUserId": str(reader)})
    assert assigned["followersIds"] == [str(reader)]  # not its creator
    # A user who may not read the record does not follow it.
    assert create(api, "Account", {"name": "Blind", "assignedUserId": str(blind)})["followersIds"] == []
    # An API user does not follow what it creates; the user it assigns does.
    imported = create(integration_client, "Account", {"name": "Imported", "assignedUserId": str(reader)})
    assert imported["isFollowed"] is False and imported["followersIds"] == [str(reader)]
    # A regular user creates: assigned to them by default, and following.
    own = create(reader_client, "Account", {"name": "Own"})
    assert own["assignedUserId"] == str(reader) and own["followersIds"] == [str(reader)]
    # A newly assigned user follows; the one before stays.
    moved = api.put(f"/api/v1/Account/{assigned['id']}", json={"assignedUserId": str(other_reader)}).json()
    assert sorted(moved["followersIds"]) == sorted([str(reader), str(other_reader)])
    assert api.put(f"/api/v1/Account/{assigned['id']}", json={"assignedUserId": None}).status_code == 200
    assert len(followers(api, assigned)) == 2
    assert admin not in followers(api, assigned)


def test_mass_create_update_and_conversion_follow_too(api, harness):
    reader, _ = harness.user({"Account": OWN, "Contact": OWN, "Lead": OWN, "Opportunity": OWN})
    made = api.post("/api/v1/Account/action/massCreate", json={"list": [
        {"name": "Bulk1", "assignedUserId": str(reader)}, {"name": "Bulk2"}]}).json()
    records = [api.get(f"/api/v1/Account/{i}").json() for i in made["ids"]]
    assert [r["followersIds"] for r in records] == [[str(reader)], []]
    api.post("/api/v1/MassAction", json={"entityType": "Account", "action": "update", "params": {
        "ids": [made["ids"][1]]}, "data": {"values": {"assignedUserId": str(reader)}}})
    assert str(reader) in followers(api, {"id": made["ids"][1]})
    lead = create(api, "Lead", {"lastName": "Prospect", "accountName": "Prospect Inc",
                                "assignedUserId": str(reader)})
    converted = api.post("/api/v1/Lead/action/convert", json={"id": lead["id"], "records": {
        "Account": {"name": "Prospect Inc", "assignedUserId": str(reader)}}}).json()
    account = converted["createdAccountId"]
    assert followers(api, {"id": account}) == [str(reader)]


# --- purge ----------------------------------------------------------------------------------------

def test_purge_removes_the_follows_of_purged_records_and_users(api, harness, store):
    user, _ = harness.user({"Account": ALL})
    kept = create(api, "Account", {"name": "Kept", "assignedUserId": str(user)})
    gone = create(api, "Account", {"name": "Gone", "assignedUserId": str(user)})
    for account in (kept, gone):
        assert api.put(f"/api/v1/Account/{account['id']}/subscription").json() is True
    assert stored_follows(store) == 4
    api.delete(f"/api/v1/Account/{gone['id']}")
    assert stored_follows(store) == 4  # a soft delete keeps them, unseen
    core = harness.app.state.core
    core.purge(datetime.utcnow() + timedelta(days=1), ["Account"])
    assert stored_follows(store) == 2
    api.delete(f"/api/v1/User/{user}")
    core.purge(datetime.utcnow() + timedelta(days=1), ["User"])
    assert stored_follows(store) == 1 and followers(api, kept) == [str(harness.admin_id)]
