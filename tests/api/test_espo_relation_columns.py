"""EspoCRM API: relationship columns (specs/espocrm.md §2.2, §2.3, §4, §5): link-multiple `<field>Columns`,
the column attributes of relationship lists (`columnAttributeMap`) and the `column*` where items."""

from __future__ import annotations

import json

import pytest

from tests.api.test_espo_records import create

MEETING = {"name": "Kick-off", "dateStart": "2030-03-01 10:00:00", "dateEnd": "2030-03-01 11:00:00"}


def columns_failure(response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["messageTranslation"]["data"]["type"] == "columnsValid"


@pytest.fixture
def north(api) -> dict:
    return create(api, "Account", {"name": "North"})


@pytest.fixture
def south(api) -> dict:
    return create(api, "Account", {"name": "South"})


@pytest.fixture
def contact(api, north, south) -> dict:
    """Related to both accounts: CEO (inactive) at North, no values given at South."""
    return create(api, "Contact", {"lastName": "Role", "accountsIds": [north["id"], south["id"]],
                                   "accountsColumns": {north["id"]: {"role": "CEO", "isInactive": True}}})


# --- reading and writing <field>Columns -----------------------------------------------------------

def test_columns_are_written_on_create_and_read_back(api, north, south, contact):
    expected = {north["id"]: {"role": "CEO", "isInactive": True}, south["id"]: {"role": None, "isInactive": False}}
    assert contact["accountsColumns"] == expected
    read = api.get(f"/api/v1/Contact/{contact['id']}").json()
    assert read["accountsColumns"] == expected and read["accountsIds"] == [north["id"], south["id"]]
    keys = list(read)
    assert keys.index("accountsIds") < keys.index("accountsNames") < keys.index("accountsColumns")
    assert api.get(f"/api/v1/Contact/{contact['id']}", params={"select": "accountsColumns"}).json() == {
        "id": contact["id"], "accountsColumns": expected}


def test_update_sets_columns_with_or_without_ids(api, north, south, contact):
    only_columns = api.put(f"/api/v1/Contact/{contact['id']}",
                           json={"accountsColumns": {south["id"]: {"role": "CTO"}}})
    assert only_columns.headers.get("x-record-link-updated") == "true"
    assert only_columns.json()["accountsColumns"] == {north["id"]: {"role": "CEO", "isInactive": True},
                                                      south["id"]: {"role": "CTO", "isInactive": False}}
    with_ids = api.patch(f"/api/v1/Contact/{contact['id']}", json={
        "accountsIds": [south["id"]], "accountsColumns": {south["id"]: {"isInactive": True}}}).json()
    assert with_ids["accountsIds"] == [south["id"]]
    assert with_ids["accountsColumns"] == {south["id"]: {"role": "CTO", "isInactive": True}}
    again = api.put(f"/api/v1/Contact/{contact['id']}", json={"accountsIds": [north["id"], south["id"]]}).json()
    assert again["accountsColumns"][north["id"]] == {"role": None, "isInactive": False}  # a new row: defaults
    same = api.put(f"/api/v1/Contact/{contact['id']}", json={"accountsColumns": {south["id"]: {"role": "CTO"}}})
    assert "x-record-link-updated" not in same.headers and same.json()["versionNumber"] == again["versionNumber"]
    cleared = api.put(f"/api/v1/Contact/{contact['id']}",
                      json={"accountsColumns": {south["id"]: {"role": None}}, "description": "x"}).json()
    assert cleared["accountsColumns"][south["id"]]["role"] is None and cleared["description"] == "x"
    assert api.put(f"/api/v1/Contact/{contact['id']}", json={"accountsColumns": None}).status_code == 200


def test_relating_takes_no_column_values(api, north, contact):
    """EspoCRM's relate (§5) takes ids only: a new relation gets the columns' defaults, other keys are ignored."""
    west = create(api, "Account", {"name": "West"})
    assert api.post(f"/api/v1/Account/{west['id']}/contacts",
                    json={"id": contact["id"], "columns": {"role": "Boss"}}).json() is True
    read = api.get(f"/api/v1/Contact/{contact['id']}").json()
    assert read["accountsColumns"][west["id"]] == {"role": None, "isInactive": False}
    assert read["accountsColumns"][north["id"]] == {"role": "CEO", "isInactive": True}


def test_opportunity_roles_and_event_attendance(api, harness):
    people = [create(api, "Contact", {"lastName": f"P{i}"}) for i in range(2)]
    lead = create(api, "Lead", {"lastName": "Guest"})
    opportunity = create(api, "Opportunity", {
        "name": "Deal", "amount": 10, "closeDate": "2031-01-01", "contactsIds": [p["id"] for p in people],
        "contactsColumns": {people[0]["id"]: {"role": "Decision Maker"}, people[1]["id"]: {"role": ""}}})
    assert opportunity["contactsColumns"] == {people[0]["id"]: {"role": "Decision Maker"},
                                              people[1]["id"]: {"role": ""}}
    related = api.get(f"/api/v1/Opportunity/{opportunity['id']}/contacts", params={"orderBy": "lastName"}).json()
    assert [c["opportunityRole"] for c in related["list"]] == ["Decision Maker", ""]
    deals = api.get(f"/api/v1/Contact/{people[0]['id']}/opportunities").json()["list"]
    assert [d["contactRole"] for d in deals] == ["Decision Maker"]
    admin = str(harness.admin_id)
    for entity in ("Meeting", "Call"):
        event = create(api, entity, dict(MEETING, usersIds=[admin], contactsIds=[people[0]["id"]],
                                         leadsIds=[lead["id"]],
                                         contactsColumns={people[0]["id"]: {"status": "Accepted"}},
                                         leadsColumns={lead["id"]: {"status": "Tentative"}}))
        assert event["usersColumns"] == {admin: {"status": "None"}}  # the column's default
        assert event["contactsColumns"] == {people[0]["id"]: {"status": "Accepted"}}
        assert event["leadsColumns"] == {lead["id"]: {"status": "Tentative"}}
        plural = entity.lower() + "s"
        attending = api.get(f"/api/v1/{entity}/{event['id']}/contacts").json()["list"]
        assert [c["acceptanceStatus"] for c in attending] == ["Accepted"]
        assert api.get(f"/api/v1/User/{admin}/{plural}").json()["list"][0]["acceptanceStatus"] == "None"
        assert api.get(f"/api/v1/Lead/{lead['id']}/{plural}").json()["list"][0]["acceptanceStatus"] == "Tentative"
        declined = api.put(f"/api/v1/{entity}/{event['id']}", json={"usersColumns": {admin: {"status": "Declined"}}})
        assert declined.json()["usersColumns"] == {admin: {"status": "Declined"}}


def test_team_roles_of_users(api, harness):
    team = create(api, "Team", {"name": "Sales"})
    admin = str(harness.admin_id)
    updated = api.put(f"/api/v1/User/{admin}", json={"teamsIds": [team["id"]],
                                                     "teamsColumns": {team["id"]: {"role": "Lead"}}})
    assert updated.status_code == 200 and updated.json()["teamsColumns"] == {team["id"]: {"role": "Lead"}}
    assert api.get(f"/api/v1/Team/{team['id']}/users").json()["list"][0]["teamRole"] == "Lead"
    assert api.get(f"/api/v1/User/{admin}/teams").json()["list"][0]["userRole"] == "Lead"


def test_account_is_inactive_is_read_from_the_primary_accounts_row(api, north, south, contact):
    """EspoCRM selects Contact `accountIsInactive` from the row of the contact's `accountId`; it is not
    written through the contact (`accountRole` is shown only in relationship lists)."""
    assert contact["accountIsInactive"] is False  # no primary account
    at_north = api.put(f"/api/v1/Contact/{contact['id']}", json={"accountId": north["id"],
                                                                 "accountIsInactive": False}).json()
    assert at_north["accountIsInactive"] is True and "accountRole" not in at_north
    assert api.put(f"/api/v1/Contact/{contact['id']}", json={"accountId": south["id"]}).json()[
        "accountIsInactive"] is False
    api.put(f"/api/v1/Contact/{contact['id']}", json={"accountId": north["id"]})
    other = create(api, "Contact", {"lastName": "Other", "accountId": south["id"]})
    listed = api.get("/api/v1/Contact", params={"orderBy": "accountIsInactive", "order": "desc"}).json()["list"]
    assert [(c["lastName"], c["accountIsInactive"]) for c in listed] == [("Role", True), ("Other", False)]
    for type_, expected in (("isTrue", [contact["id"]]), ("isFalse", [other["id"]])):
        found = api.get("/api/v1/Contact", params={"where[0][type]": type_, "where[0][attribute]": "accountIsInactive"})
        assert [c["id"] for c in found.json()["list"]] == expected
    api.put(f"/api/v1/Contact/{contact['id']}", json={"accountsIds": [south["id"]]})  # the row goes
    assert api.get(f"/api/v1/Contact/{contact['id']}").json()["accountIsInactive"] is False


def test_the_primary_account_is_one_of_the_accounts_with_the_title_as_its_role(api, north, south):
    """EspoCRM's Contact.afterSave: `accountId` joins `accounts`, `title` is that row's role."""
    created = create(api, "Contact", {"lastName": "Kept", "accountId": north["id"], "title": "CFO"})
    assert created["accountsIds"] == [north["id"]] and created["title"] == "CFO"
    assert created["accountsColumns"] == {north["id"]: {"role": "CFO", "isInactive": False}}
    listed = api.get(f"/api/v1/Account/{north['id']}/contacts").json()["list"]
    assert [(c["id"], c["accountRole"]) for c in listed] == [(created["id"], "CFO")]
    moved = api.put(f"/api/v1/Contact/{created['id']}", json={"accountId": south["id"]}).json()
    # The old row stays; the new one takes the title the contact had (EspoCRM relates with `title`).
    assert moved["accountsIds"] == [north["id"], south["id"]] and moved["title"] == "CFO"
    retitled = api.put(f"/api/v1/Contact/{created['id']}", json={"title": "CEO"}).json()
    assert retitled["title"] == "CEO" and retitled["accountsColumns"][south["id"]]["role"] == "CEO"
    assert retitled["accountsColumns"][north["id"]]["role"] == "CFO"
    found = api.get("/api/v1/Contact", params={"where[0][type]": "equals", "where[0][attribute]": "title",
                                               "where[0][value]": "CEO", "orderBy": "title"}).json()
    assert [c["id"] for c in found["list"]] == [created["id"]]
    cleared = api.put(f"/api/v1/Contact/{created['id']}", json={"accountId": None}).json()
    assert cleared["accountsIds"] == [north["id"]] and cleared["title"] is None


def test_a_title_without_an_account_or_beside_given_columns(api, north):
    alone = create(api, "Contact", {"lastName": "Alone", "title": "Owner"})
    assert alone["title"] is None and alone["accountsIds"] == []  # no account row to keep it (as EspoCRM)
    assert api.put(f"/api/v1/Contact/{alone['id']}", json={"title": "Owner"}).json()["accountsIds"] == []
    both = create(api, "Contact", {"lastName": "Both", "accountId": north["id"], "title": "VP",
                                   "accountsIds": [north["id"]], "accountsColumns": {north["id"]: {"role": "X"}}})
    assert both["accountsColumns"] == {north["id"]: {"role": "VP", "isInactive": False}}
    untitled = create(api, "Contact", {"lastName": "Untitled", "accountId": north["id"]})
    assert untitled["accountsColumns"] == {north["id"]: {"role": None, "isInactive": False}}


def test_mass_create_and_lead_conversion_keep_the_account(api, north):
    made = api.post("/api/v1/Contact/action/massCreate", json={"list": [
        {"lastName": "M1", "accountId": north["id"], "title": "Buyer"}, {"lastName": "M2"}]})
    assert made.status_code == 200, made.text
    listed = api.get(f"/api/v1/Account/{north['id']}/contacts").json()["list"]
    assert [(c["lastName"], c["accountRole"]) for c in listed] == [("M1", "Buyer")]
    lead = create(api, "Lead", {"lastName": "Lead", "accountName": "Converted Co"})
    converted = api.post(f"/api/v1/Lead/{lead['id']}/convert", json={"createAccount": True, "createContact": True})
    assert converted.status_code == 200, converted.text
    contact = api.get("/api/v1/Contact", params={"where[0][type]": "equals", "where[0][attribute]": "lastName",
                                                 "where[0][value]": "Lead", "select": "accountId,accountsIds"})
    record = contact.json()["list"][0]
    assert record["accountsIds"] == [record["accountId"]]


@pytest.mark.parametrize("title", [["CEO"], {"a": 1}, True, "x" * 101, "nul\x00"])
def test_bad_titles_are_400_and_write_nothing(api, north, title):
    response = api.post("/api/v1/Contact", json={"lastName": "Bad", "accountId": north["id"], "title": title})
    assert response.status_code == 400 and "title" in response.headers["x-status-reason"]
    assert api.get(f"/api/v1/Account/{north['id']}/contacts").json()["total"] == 0
    assert api.get("/api/v1/Contact").json()["total"] == 0


# --- lists ----------------------------------------------------------------------------------------

def test_lists_return_columns_only_when_selected(api, north, contact):
    plain = api.get("/api/v1/Contact").json()["list"][0]
    assert "accountsColumns" not in plain and "accountsIds" not in plain
    selected = api.get("/api/v1/Contact", params={"select": "lastName,accountsColumns"}).json()["list"][0]
    assert selected["accountsColumns"][north["id"]] == {"role": "CEO", "isInactive": True}
    assert "accountsIds" not in selected
    by_json = api.get("/api/v1/Contact", params={"searchParams": json.dumps({"select": ["accountsColumns"]})})
    assert north["id"] in by_json.json()["list"][0]["accountsColumns"]


def test_relationship_lists_carry_column_attributes(api, north, south, contact):
    listed = api.get(f"/api/v1/Account/{north['id']}/contacts").json()["list"]
    assert listed[0]["accountRole"] == "CEO" and listed[0]["accountIsInactive"] is True  # North's row, not
    assert list(listed[0])[-1] == "accountRole"  # the primary account's; appended, as EspoCRM appends it
    at_south = api.get(f"/api/v1/Account/{south['id']}/contacts").json()["list"][0]
    assert at_south["accountRole"] is None and at_south["accountIsInactive"] is False
    accounts = api.get(f"/api/v1/Contact/{contact['id']}/accounts", params={"orderBy": "name"}).json()["list"]
    assert [(a["name"], a["contactRole"], a["contactIsInactive"]) for a in accounts] == [
        ("North", "CEO", True), ("South", None, False)]
    narrow = api.get(f"/api/v1/Account/{north['id']}/contacts", params={"select": "lastName"}).json()["list"][0]
    assert "accountRole" not in narrow and "accountIsInactive" not in narrow
    chosen = api.get(f"/api/v1/Account/{north['id']}/contacts",
                     params={"select": "lastName,accountRole"}).json()["list"][0]
    assert chosen["accountRole"] == "CEO" and "accountIsInactive" not in chosen
    assert "accountRole" not in api.get(f"/api/v1/Contact/{contact['id']}").json()


# --- column* where items --------------------------------------------------------------------------

@pytest.fixture
def staff(api, north, south) -> dict[str, str]:
    """North's contacts: Ann (CEO, inactive), Ben (CTO), Cy (no role); Ann is "Advisor" at South."""
    ids = {}
    for name, role, inactive in (("Ann", "CEO", True), ("Ben", "CTO", False), ("Cy", None, False)):
        ids[name] = create(api, "Contact", {"lastName": name, "accountsIds": [north["id"]], "accountsColumns": {
            north["id"]: {"role": role, "isInactive": inactive}}})["id"]
    api.put(f"/api/v1/Contact/{ids['Ann']}", json={"accountsIds": [north["id"], south["id"]],
                                                   "accountsColumns": {south["id"]: {"role": "Advisor"}}})
    return ids


def names(response) -> list[str]:
    assert response.status_code == 200, response.headers.get("x-status-reason")
    return sorted(r["lastName"] for r in response.json()["list"])


@pytest.mark.parametrize("item,expected", [
    ({"type": "columnEquals", "attribute": "role", "value": "CEO"}, ["Ann"]),
    ({"type": "columnEquals", "attribute": "role", "value": "Advisor"}, []),  # Ann's role at South
    ({"type": "columnNotEquals", "attribute": "role", "value": "CEO"}, ["Ben", "Cy"]),
    ({"type": "columnIn", "attribute": "role", "value": ["CEO", "CTO"]}, ["Ann", "Ben"]),
    ({"type": "columnNotIn", "attribute": "role", "value": ["CEO"]}, ["Ben", "Cy"]),
    ({"type": "columnLike", "attribute": "role", "value": "c%"}, ["Ann", "Ben"]),
    ({"type": "columnIsNull", "attribute": "role"}, ["Cy"]),
    ({"type": "columnIsNotNull", "attribute": "role"}, ["Ann", "Ben"]),
    ({"type": "columnEquals", "attribute": "isInactive", "value": True}, ["Ann"]),
    ({"type": "columnNotEquals", "field": "isInactive", "value": True}, ["Ben", "Cy"]),
])
def test_column_items_filter_a_relationship_list_by_its_rows(api, north, staff, item, expected):
    as_json = api.get(f"/api/v1/Account/{north['id']}/contacts", params={"searchParams": json.dumps({"where": [item]})})
    assert names(as_json) == expected
    query = {f"where[0][{key}]": value for key, value in item.items() if not isinstance(value, (list, bool))}
    if isinstance(item.get("value"), list):
        query.update({f"where[0][value][{i}]": value for i, value in enumerate(item["value"])})
    if isinstance(item.get("value"), bool):
        query["where[0][value]"] = "true" if item["value"] else "false"
    assert names(api.get(f"/api/v1/Account/{north['id']}/contacts", params=query)) == expected


def test_column_fields_filter_by_any_related_record(api, harness):
    """EspoCRM's form: `attribute` is a field standing for a junction column (`acceptanceStatusMeetings`)."""
    people = {name: create(api, "Contact", {"lastName": name})["id"] for name in ("Ann", "Ben", "Cy")}
    first = create(api, "Meeting", dict(MEETING, contactsIds=[people["Ann"], people["Ben"]], contactsColumns={
        people["Ann"]: {"status": "Accepted"}, people["Ben"]: {"status": "Declined"}}))
    create(api, "Meeting", dict(MEETING, name="Review", contactsIds=[people["Ben"]],
                                contactsColumns={people["Ben"]: {"status": "Accepted"}}))

    def where(path: str, type_: str, attribute: str, value=None) -> list[str]:
        item = {"type": type_, "attribute": attribute} | ({} if value is None else {"value": value})
        return names(api.get(path, params={"searchParams": json.dumps({"where": [item]})}))

    assert where("/api/v1/Contact", "columnIn", "acceptanceStatusMeetings", ["Accepted"]) == ["Ann", "Ben"]
    assert where("/api/v1/Contact", "columnEquals", "acceptanceStatusMeetings", "Declined") == ["Ben"]
    assert where("/api/v1/Contact", "columnNotIn", "acceptanceStatusMeetings", ["Accepted"]) == ["Ben"]
    assert where("/api/v1/Contact", "columnIsNull", "acceptanceStatusMeetings") == ["Cy"]  # no meeting at all
    assert where("/api/v1/Contact", "columnIsNotNull", "acceptanceStatusMeetings") == ["Ann", "Ben"]
    assert where("/api/v1/Contact", "columnLike", "acceptanceStatusMeetings", "Dec%") == ["Ben"]
    assert where("/api/v1/Contact", "columnIn", "acceptanceStatusCalls", ["Accepted"]) == []
    # In a relationship list the field still means any meeting; the relation's own column means this one.
    meeting_contacts = f"/api/v1/Meeting/{first['id']}/contacts"
    assert where(meeting_contacts, "columnIn", "acceptanceStatusMeetings", ["Accepted"]) == ["Ann", "Ben"]
    assert where(meeting_contacts, "columnIn", "status", ["Accepted"]) == ["Ann"]
    users = api.get("/api/v1/User", params={"searchParams": json.dumps({"where": [
        {"type": "columnIsNull", "attribute": "acceptanceStatusMeetings"}]})}).json()
    assert str(harness.admin_id) in [u["id"] for u in users["list"]]


@pytest.mark.parametrize("path,item", [
    ("/api/v1/Contact", {"type": "columnEquals", "attribute": "role", "value": "CEO"}),
    ("{account}/opportunities", {"type": "columnEquals", "attribute": "role", "value": "CEO"}),
    ("{account}/contacts", {"type": "columnEquals", "attribute": "lastName", "value": "Ann"}),
    ("{account}/contacts", {"type": "columnIn", "attribute": "acceptanceStatus", "value": ["None"]}),
    ("{account}/contacts", {"type": "columnEquals", "value": "CEO"}),
    ("{account}/contacts", {"type": "columnEquals", "attribute": "role; DROP TABLE account_contact", "value": "x"}),
    ("{account}/contacts", {"type": "columnLike", "attribute": "isInactive", "value": "t%"}),
    ("{account}/contacts", {"type": "columnEquals", "attribute": "isInactive", "value": "maybe"}),
    ("{account}/contacts", {"type": "columnLike", "attribute": "role", "value": ["C%"]}),
    ("{account}/contacts", {"type": "columnIn", "attribute": "role", "value": [{"a": 1}]}),
    ("{account}/contacts", {"type": "columnEquals", "attribute": "role", "value": "C\x00"}),
])
def test_bad_column_items_are_400(api, north, staff, path, item):
    response = api.get(path.format(account=f"/api/v1/Account/{north['id']}"),
                       params={"searchParams": json.dumps({"where": [item]})})
    assert response.status_code == 400 and response.content == b""
    assert response.headers["x-status-reason"]


def test_column_item_values_are_data_not_sql(api, north, staff):
    injected = "CEO' OR '1'='1"
    response = api.get(f"/api/v1/Account/{north['id']}/contacts", params={
        "where[0][type]": "columnEquals", "where[0][attribute]": "role", "where[0][value]": injected})
    assert names(response) == []
    assert api.get(f"/api/v1/Account/{north['id']}/contacts").json()["total"] == 3


# --- bad input --------------------------------------------------------------------------------------

@pytest.mark.parametrize("columns", [
    ["CEO"], "CEO", 5, True,
    {"{north}": "CEO"}, {"{north}": ["CEO"]}, {"{north}": None},
    {"{north}": {"rol": "x"}},
    {"{north}": {"role'; DROP TABLE account_contact; --": "x"}},
    {"{north}": {"role": 5}}, {"{north}": {"role": True}}, {"{north}": {"role": {"a": 1}}},
    {"{north}": {"role": "x" * 101}},  # NUL is refused for the whole body first: tests/api/test_nul_characters.py
    {"{north}": {"isInactive": "yes"}}, {"{north}": {"isInactive": 1}}, {"{north}": {"isInactive": None}},
    {"not-an-id": {"role": "x"}}, {"{west}": {"role": "x"}},
])
def test_bad_columns_are_refused_and_write_nothing(api, north, contact, columns):
    west = create(api, "Account", {"name": "West"})
    text = json.dumps(columns).replace("{north}", north["id"]).replace("{west}", west["id"])
    before = api.get(f"/api/v1/Contact/{contact['id']}").json()
    response = api.put(f"/api/v1/Contact/{contact['id']}",
                       json={"description": "must not be saved", "accountsColumns": json.loads(text)})
    columns_failure(response)
    assert response.json() == {"messageTranslation": {"label": "validationFailure", "scope": None,
                                                      "data": {"field": "accounts", "type": "columnsValid"}}}
    assert response.headers["x-status-reason"] == \
        "Field validation failure; entityType: Contact, field: accounts, type: columnsValid."
    assert api.get(f"/api/v1/Contact/{contact['id']}").json() == before


def test_columns_for_records_leaving_or_outside_the_set_are_refused(api, north, south, contact):
    before = api.get(f"/api/v1/Contact/{contact['id']}").json()
    columns_failure(api.put(f"/api/v1/Contact/{contact['id']}", json={
        "accountsIds": [south["id"]], "accountsColumns": {north["id"]: {"role": "Ex"}}}))
    assert api.get(f"/api/v1/Contact/{contact['id']}").json() == before
    total = api.get("/api/v1/Contact").json()["total"]
    columns_failure(api.post("/api/v1/Contact", json={"lastName": "New", "accountsColumns": {
        north["id"]: {"role": "CEO"}}}))
    columns_failure(api.post("/api/v1/Contact", json={"lastName": "New", "accountsIds": [south["id"]],
                                                      "accountsColumns": {north["id"]: {"role": "CEO"}}}))
    columns_failure(api.post("/api/v1/Contact/action/massCreate", json={"list": [
        {"lastName": "Fine"}, {"lastName": "Bad", "accountsColumns": {north["id"]: {"role": "CEO"}}}]}))
    assert api.get("/api/v1/Contact").json()["total"] == total


@pytest.mark.parametrize("entity,field,value", [
    ("Opportunity", "contacts", {"role": "Boss"}),
    ("Opportunity", "contacts", {"role": "decision maker"}),
    ("Meeting", "contacts", {"status": "Maybe"}),
    ("Meeting", "contacts", {"status": None}),
    ("Meeting", "contacts", {"status": ""}),
    ("Call", "contacts", {"status": "accepted"}),
])
def test_enum_columns_take_only_their_options(api, entity, field, value):
    person = create(api, "Contact", {"lastName": "Opt"})
    body = {"name": "X", "amount": 1, "closeDate": "2031-01-01"} if entity == "Opportunity" else dict(MEETING)
    body |= {f"{field}Ids": [person["id"]], f"{field}Columns": {person["id"]: value}}
    total = api.get(f"/api/v1/{entity}").json()["total"]
    response = api.post(f"/api/v1/{entity}", json=body)
    columns_failure(response)
    assert response.json()["messageTranslation"]["data"]["field"] == field
    assert api.get(f"/api/v1/{entity}").json()["total"] == total


def test_mass_update_with_bad_columns_changes_no_record(api, north, contact):
    other = create(api, "Contact", {"lastName": "Other"})
    response = api.post("/api/v1/MassAction", json={
        "entityType": "Contact", "action": "update", "params": {"ids": [contact["id"], other["id"]]},
        "data": {"description": "bulk", "accountsColumns": {north["id"]: {"role": "Chair"}}}})
    columns_failure(response)  # `other` is not related to North
    assert api.get(f"/api/v1/Contact/{contact['id']}").json()["description"] is None
    assert api.get(f"/api/v1/Contact/{contact['id']}").json()["accountsColumns"][north["id"]]["role"] == "CEO"


def test_column_values_are_stored_as_given(api, north, contact):
    injected = "x'); DELETE FROM contact; --"
    updated = api.put(f"/api/v1/Contact/{contact['id']}",
                      json={"accountsColumns": {north["id"]: {"role": injected}}})
    assert updated.json()["accountsColumns"][north["id"]]["role"] == injected
    assert api.get("/api/v1/Contact").json()["total"] == 1
    listed = api.get(f"/api/v1/Account/{north['id']}/contacts", params={
        "where[0][type]": "columnEquals", "where[0][attribute]": "role", "where[0][value]": injected})
    assert listed.json()["total"] == 1
