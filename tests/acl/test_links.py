"""Access control through links: a user's own record may only be linked to records they may read, shows the
names only of those, is found by conditions on linked records only through those, and relating or
unrelating needs edit access on both sides. Each row of FIELDS and RELATIONS is tried at every level
against the world's records of the linked type (tests/acl/conftest.py), on both backends."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from polycrm.dialects.inflow.ids import encode_id
from tests.acl.conftest import LABELS, LEVELS, World, ok, record_body

# What a new user in the team reaches at each level, of the world's records and one of their own ("own").
REACHED = {"all": {*LABELS, "own"}, "team": {"team", "own"}, "own": {"own"}, "no": set()}


@dataclass(frozen=True)
class LinkField:
    entity: str  # the user's own record
    field: str
    kind: str  # link, linkParent or linkMultiple
    target: str


FIELDS = [LinkField("Contact", "account", "link", "Account"), LinkField("Opportunity", "account", "link", "Account"),
          LinkField("Case", "contact", "link", "Contact"), LinkField("Task", "parent", "linkParent", "Lead"),
          LinkField("Email", "parent", "linkParent", "Account"),
          LinkField("Meeting", "contacts", "linkMultiple", "Contact"),
          LinkField("Opportunity", "contacts", "linkMultiple", "Contact"),
          LinkField("Contact", "accounts", "linkMultiple", "Account"),
          LinkField("Document", "accounts", "linkMultiple", "Account"),
          LinkField("Call", "leads", "linkMultiple", "Lead")]
# (the user's own record's type, link, related type): junction, reverse-column and children links.
RELATIONS = [("Account", "opportunities", "Opportunity"), ("Account", "contacts", "Contact"),
             ("Account", "contactsPrimary", "Contact"), ("Account", "tasks", "Task"), ("Account", "emails", "Email"),
             ("Contact", "opportunities", "Opportunity"), ("Contact", "meetings", "Meeting"),
             ("Lead", "calls", "Call"), ("Opportunity", "documents", "Document"), ("Case", "contacts", "Contact")]


def link_value(row: LinkField, target_id: str) -> dict:
    if row.kind == "linkMultiple":
        return {f"{row.field}Ids": [target_id]}
    value = {f"{row.field}Id": target_id}
    if row.kind == "linkParent":
        value[f"{row.field}Type"] = row.target
    return value


def actor(world: World, own: str, linked: str, level: str) -> tuple[int, object, dict[str, str]]:
    """A user in the team who may change their own records of `own` and has `level` on `linked`; the
    records of `linked` to try, by label: the world's, and one assigned to the user ("own")."""
    scopes = {own: {"create": "yes", "read": "own", "edit": "own", "delete": "no"},
              linked: {"create": "no", "read": level, "edit": level, "delete": "no"}}
    user_id, client = world.user(scopes)
    return user_id, client, {**world.records[linked], "own": world.create(linked, "own", user_id)}


@pytest.fixture
def secrets(world: World) -> dict[str, dict[str, str]]:
    """Each linked record's description, set to a value the tests look for."""
    described = {}
    for entity in {row.target for row in FIELDS}:
        described[entity] = {}
        for label, record_id in world.records[entity].items():
            described[entity][label] = f"secret {entity} {label}"
            ok(world.admin.patch(f"/api/v1/{entity}/{record_id}", json={"description": described[entity][label]}), 200)
    return described


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("row", FIELDS, ids=[f"{r.entity}.{r.field}" for r in FIELDS])
def test_own_record_links_shows_and_is_found_only_through_readable_records(world, secrets, row, level):
    user_id, client, targets = actor(world, row.entity, row.target, level)
    secrets[row.target]["own"] = "secret own"
    ok(world.admin.patch(f"/api/v1/{row.target}/{targets['own']}", json={"description": "secret own"}), 200)
    probe = ok(client.post(f"/api/v1/{row.entity}", json=record_body(row.entity, "Probe"),
                           headers={"X-Skip-Duplicate-Check": "true"}), 200).json()["id"]
    linked, named, found = set(), set(), set()
    for label, target_id in targets.items():
        # Linking: only to a record the user may read (a hidden one fails like a wrong id).
        response = ok(client.patch(f"/api/v1/{row.entity}/{probe}", json=link_value(row, target_id)), 200, 400)
        if response.status_code == 200:
            linked.add(label)
        # Someone allowed links it; the user's own record names it only if they may read it.
        ok(world.admin.patch(f"/api/v1/{row.entity}/{probe}", json=link_value(row, target_id)), 200)
        record = ok(client.get(f"/api/v1/{row.entity}/{probe}"), 200).json()
        name = record[f"{row.field}Names"][target_id] if row.kind == "linkMultiple" else record[f"{row.field}Name"]
        if name is not None:
            named.add(label)
        listed = ok(client.get(f"/api/v1/{row.entity}", params={"searchParams": json.dumps({"where": [
            {"type": "linkedWith", "attribute": row.field, "value": [target_id]} if row.kind == "linkMultiple" else
            {"type": "equals", "attribute": f"{row.field}.description", "value": secrets[row.target][label]}
            if row.kind == "link" else {"type": "equals", "attribute": f"{row.field}Id", "value": target_id}]})}),
            200).json()["list"]
        if probe in [r["id"] for r in listed] and row.kind != "linkParent":
            found.add(label)
    assert linked == REACHED[level] and named == REACHED[level]
    if row.kind != "linkParent":  # a parent is filtered by its id, which is the record's own value
        assert found == REACHED[level]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("row", RELATIONS, ids=[f"{e}.{link}" for e, link, _ in RELATIONS])
def test_relating_and_unrelating_need_edit_access_on_both_sides(world, row, level):
    entity, link, target = row
    user_id, client, targets = actor(world, entity, target, level)
    probe = ok(client.post(f"/api/v1/{entity}", json=record_body(entity, "Probe"),
                           headers={"X-Skip-Duplicate-Check": "true"}), 200).json()["id"]
    related, unrelated, listed = set(), set(), set()
    for label, target_id in targets.items():
        before = world.admin.get(f"/api/v1/{target}/{target_id}").json()
        response = ok(client.post(f"/api/v1/{entity}/{probe}/{link}", json={"id": target_id}), 200, 403)
        after = world.admin.get(f"/api/v1/{target}/{target_id}").json()
        if response.status_code == 200:
            related.add(label)
        else:  # refused: the other record did not change at all
            assert after["versionNumber"] == before["versionNumber"], label
        # An administrator relates it; the user unrelates it only if they may edit it.
        ok(world.admin.post(f"/api/v1/{entity}/{probe}/{link}", json={"id": target_id}), 200)
        shown = ok(client.get(f"/api/v1/{entity}/{probe}/{link}", params={"maxSize": 200}), 200, 403)
        if shown.status_code == 200 and target_id in [r["id"] for r in shown.json()["list"]]:
            listed.add(label)
        if ok(client.delete(f"/api/v1/{entity}/{probe}/{link}", params={"id": target_id}), 200, 403).status_code == 200:
            unrelated.add(label)
        ok(world.admin.delete(f"/api/v1/{entity}/{probe}/{link}", params={"id": target_id}), 200)
    assert related == REACHED[level] and unrelated == REACHED[level] and listed == REACHED[level]


def test_relating_a_record_kept_on_it_is_an_update_of_it(world):
    """`POST Account/{id}/opportunities` sets the opportunity's account: a change of the opportunity, with
    its version, modifier and stream note."""
    user_id, client, _ = actor(world, "Account", "Opportunity", "all")
    account = ok(client.post("/api/v1/Account", json={"name": "Kept"}, headers={"X-Skip-Duplicate-Check": "true"}),
                 200).json()["id"]
    opportunity = world.records["Opportunity"]["other"]
    before = world.admin.get(f"/api/v1/Opportunity/{opportunity}").json()
    ok(client.post(f"/api/v1/Account/{account}/opportunities", json={"id": opportunity}), 200)
    after = world.admin.get(f"/api/v1/Opportunity/{opportunity}").json()
    assert after["accountId"] == account and after["versionNumber"] == before["versionNumber"] + 1
    assert after["modifiedById"] == str(user_id)
    ok(client.delete(f"/api/v1/Account/{account}/opportunities", params={"id": opportunity}), 200)
    again = world.admin.get(f"/api/v1/Opportunity/{opportunity}").json()
    assert again["accountId"] is None and again["versionNumber"] == after["versionNumber"] + 1


def test_sorting_by_a_link_places_hidden_names_as_none(world):
    """Sorting own records by their account's name must not tell where a hidden account's name falls among
    names the user chose."""
    user_id, client, _ = actor(world, "Contact", "Account", "own")
    hidden = world.records["Account"]["other"]
    ok(world.admin.patch(f"/api/v1/Account/{hidden}", json={"name": "Mmm hidden"}), 200)
    mine = {}
    for name in ("Aaa", "Zzz"):
        account = ok(world.admin.post("/api/v1/Account", json={"name": name, "assignedUserId": str(user_id)},
                                      headers={"X-Skip-Duplicate-Check": "true"}), 200).json()["id"]
        mine[name] = ok(client.post("/api/v1/Contact", json={"lastName": f"Sort {name}", "accountId": account}),
                        200).json()["id"]
    probe = ok(client.post("/api/v1/Contact", json={"lastName": "Sort probe"}), 200).json()["id"]
    ok(world.admin.patch(f"/api/v1/Contact/{probe}", json={"accountId": hidden}), 200)
    for order in ("asc", "desc"):
        listed = ok(client.get("/api/v1/Contact", params={"orderBy": "account", "order": order,
                                                           "where[0][type]": "startsWith",
                                                           "where[0][attribute]": "lastName",
                                                           "where[0][value]": "Sort"}), 200).json()["list"]
        ids = [r["id"] for r in listed]
        # The hidden name sorts as none: before both names ascending, after both descending.
        between = ids.index(mine["Aaa"]) < ids.index(probe) < ids.index(mine["Zzz"]) or \
            ids.index(mine["Zzz"]) < ids.index(probe) < ids.index(mine["Aaa"])
        assert not between, (order, listed)


def test_the_stream_and_followers_name_only_readable_records(world):
    """Notes name their authors and, in their data, linked records; followers are named: each name only
    if the reader may read that user or record."""
    user_id, client, accounts = actor(world, "Opportunity", "Account", "own")
    opportunity = world.create("Opportunity", "streamed", user_id)
    for account in (accounts["other"], accounts["own"]):
        ok(world.admin.patch(f"/api/v1/Opportunity/{opportunity}", json={"accountId": account}), 200)
    ok(world.admin.post("/api/v1/Note", json={"post": "from the admin", "parentType": "Opportunity",
                                               "parentId": opportunity}), 200)
    ok(world.admin.post(f"/api/v1/Opportunity/{opportunity}/followers", json={"id": world.users["all"]}), 200)
    notes = ok(client.get(f"/api/v1/Opportunity/{opportunity}/stream"), 200).json()["list"]
    post = next(n for n in notes if n["type"] == "Post")
    assert post["createdById"] and post["createdByName"] is None  # the admin: a user they may not read
    created = next(n for n in notes if n["type"] == "Create")
    assert created["data"]["assignedUserName"] is not None  # themselves
    moves = [n["data"]["attributes"] for n in notes if n["type"] == "Update"]
    names = [(a["was"].get("accountName"), a["became"].get("accountName")) for a in moves]
    hidden_name = world.admin.get(f"/api/v1/Account/{accounts['other']}").json()["name"]
    own_name = world.admin.get(f"/api/v1/Account/{accounts['own']}").json()["name"]
    assert (hidden_name, own_name) not in names and (None, own_name) in names and (None, None) in names
    record = ok(client.get(f"/api/v1/Opportunity/{opportunity}"), 200).json()
    assert record["followersNames"][world.users["all"]] is None
    assert record["followersNames"][str(user_id)] is not None


# InflowCRM relation fields: (module, its entity, API field, linked entity).
INFLOW_FIELDS = [("contact", "Contact", "company", "Account"), ("potential", "Opportunity", "customer", "Account"),
                 ("potential", "Opportunity", "contact", "Contact"), ("task", "Task", "relatedTo", "Account"),
                 ("customer", "Account", "assignedUser", "User")]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("row", INFLOW_FIELDS, ids=[f"{m}.{f}" for m, _, f, _ in INFLOW_FIELDS])
def test_inflow_links_only_to_readable_records(world, row, level):
    module, entity, field, target = row
    if target == "User":
        # Users are read at "own" whatever the role (oneself); the level applies to the others.
        scopes = {entity: {"create": "yes", "read": "own", "edit": "own", "delete": "no"},
                  "User": {"read": level, "edit": "no"}}
        user_id, espo = world.user(scopes)
        targets = {"own": str(user_id), "other": world.users["other"], "all": world.users["all"]}
        expected = {"all": {"own", "other", "all"}, "team": {"own", "all"}, "own": {"own"}, "no": {"own"}}[level]
    else:
        user_id, espo, targets = actor(world, entity, target, level)
        expected = REACHED[level]
    client = world.client(espo.headers["x-api-key"])
    linked = set()
    for label, target_id in targets.items():
        data = {field: encode_id(target, int(target_id))}
        if entity == "Opportunity":
            data.update(name="Inflow probe", amount=1, closeDate="2030-01-01")
        elif entity in ("Contact",):
            data.update(lastName="Inflow probe")
        else:
            data.update(name="Inflow probe")
        response = client.post("/api/createRecord", json={"module": module, "data": data})
        assert response.status_code in (201, 400), response.text
        if response.status_code == 201:
            linked.add(label)
    assert linked == expected
