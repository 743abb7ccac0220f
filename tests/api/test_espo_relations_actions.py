"""EspoCRM API: relationships (§5), mass actions (§6), lead conversion (§7), custom fields, metadata."""

from __future__ import annotations

from datetime import datetime

import pytest

from polycrm.core import mass_actions
from tests.api.test_espo_records import create


def test_relate_list_and_unrelate(api):
    account = create(api, "Account", {"name": "Rel"})
    contacts = [create(api, "Contact", {"lastName": f"C{i}"}) for i in range(3)]
    assert api.post(f"/api/v1/Account/{account['id']}/contacts", json={"id": contacts[0]["id"]}).json() is True
    assert api.post(f"/api/v1/Account/{account['id']}/contacts",
                    json={"ids": [contacts[1]["id"], contacts[2]["id"]]}).json() is True
    related = api.get(f"/api/v1/Account/{account['id']}/contacts", params={"orderBy": "lastName"}).json()
    assert related["total"] == 3 and [r["lastName"] for r in related["list"]] == ["C0", "C1", "C2"]
    reverse = api.get(f"/api/v1/Contact/{contacts[0]['id']}").json()
    assert reverse["accountsIds"] == [account["id"]] and reverse["accountsNames"] == {account["id"]: "Rel"}
    assert api.request("DELETE", f"/api/v1/Account/{account['id']}/contacts",
                       json={"id": contacts[0]["id"]}).json() is True
    assert api.delete(f"/api/v1/Account/{account['id']}/contacts/{contacts[1]['id']}").json() is True
    assert api.delete(f"/api/v1/Account/{account['id']}/contacts",
                      params={"id": contacts[2]["id"]}).json() is True
    assert api.get(f"/api/v1/Account/{account['id']}/contacts").json()["total"] == 0
    assert api.post(f"/api/v1/Account/{account['id']}/contacts", json={}).json() is False


def test_belongs_to_side_lists_and_set_by_id(api):
    account = create(api, "Account", {"name": "Parent Co"})
    opp = create(api, "Opportunity", {"name": "O", "amount": 1, "closeDate": "2031-01-01",
                                      "accountId": account["id"]})
    assert opp["accountName"] == "Parent Co"
    listed = api.get(f"/api/v1/Account/{account['id']}/opportunities").json()
    assert [r["id"] for r in listed["list"]] == [opp["id"]]
    task = create(api, "Task", {"name": "Call back", "parentType": "Account", "parentId": account["id"]})
    assert task["parentName"] == "Parent Co"
    assert [r["id"] for r in api.get(f"/api/v1/Account/{account['id']}/tasks").json()["list"]] == [task["id"]]
    other = create(api, "Account", {"name": "Other Co"})
    moved = api.put(f"/api/v1/Task/{task['id']}", json={"parentId": other["id"]})  # type stays Account
    assert moved.status_code == 200 and moved.json()["parentName"] == "Other Co"
    assert api.put(f"/api/v1/Task/{task['id']}", json={"parentId": "999999"}).status_code == 400


def test_link_multiple_on_write_replaces_set(api):
    contacts = [create(api, "Contact", {"lastName": f"M{i}"}) for i in range(2)]
    meeting = create(api, "Meeting", {"name": "Demo", "dateStart": "2030-01-20 14:00:00",
                                      "dateEnd": "2030-01-20 15:00:00", "contactsIds": [c["id"] for c in contacts]})
    assert sorted(meeting["contactsIds"]) == sorted(c["id"] for c in contacts)
    response = api.put(f"/api/v1/Meeting/{meeting['id']}", json={"contactsIds": [contacts[0]["id"]]})
    assert response.headers.get("x-record-link-updated") == "true"
    assert response.json()["contactsIds"] == [contacts[0]["id"]]


@pytest.mark.parametrize("body,status", [
    ({"id": "999999"}, 404),
    ({"id": {"x": 1}}, 400),
    ({"ids": "not-a-list"}, 400),
])
def test_relate_bad_input(api, body, status):
    account = create(api, "Account", {"name": "Bad Rel"})
    assert api.post(f"/api/v1/Account/{account['id']}/contacts", json=body).status_code == status
    assert api.get(f"/api/v1/Account/{account['id']}/contacts").json()["total"] == 0


def test_relate_errors(api):
    account = create(api, "Account", {"name": "Errs"})
    assert api.get(f"/api/v1/Account/{account['id']}/nope").status_code == 404
    assert api.get("/api/v1/Account/999999/contacts").status_code == 404
    assert api.post(f"/api/v1/Contact/{account['id']}/account", json={"id": account["id"]}).status_code in (400, 404)


def test_mass_relate_by_where(api):
    account = create(api, "Account", {"name": "Mass"})
    for name in ("Ann", "Bob", "Al"):
        create(api, "Contact", {"firstName": name, "lastName": "Z"})
    response = api.post(f"/api/v1/Account/{account['id']}/contacts", json={
        "massRelate": True, "where": [{"type": "startsWith", "attribute": "firstName", "value": "A"}]})
    assert response.json() is True
    assert api.get(f"/api/v1/Account/{account['id']}/contacts").json()["total"] == 2


def test_mass_action_update_and_delete(api):
    ids = [create(api, "Account", {"name": f"MA{i}"})["id"] for i in range(3)]
    result = api.post("/api/v1/MassAction", json={"entityType": "Account", "action": "update",
                                                  "params": {"ids": ids[:2]}, "data": {"values": {"type": "Partner"}}})
    assert result.json() == {"count": 2, "ids": ids[:2]}
    by_where = api.post("/api/v1/MassAction", json={
        "entityType": "Account", "action": "update", "data": {"sicCode": "77"},
        "params": {"where": [{"type": "equals", "attribute": "type", "value": "Partner"}]}}).json()
    assert by_where == {"count": 2}
    deleted = api.post("/api/v1/MassAction", json={"entityType": "Account", "action": "delete",
                                                   "params": {"ids": [ids[2]]}}).json()
    assert deleted == {"count": 1, "ids": [ids[2]]}
    assert api.get("/api/v1/Account").json()["total"] == 2


@pytest.mark.parametrize("body,status", [
    ({"action": "update", "params": {"ids": []}}, 400),
    ({"entityType": "Account", "action": "update", "params": {"ids": ["1"], "where": []}}, 400),
    ({"entityType": "Account", "action": "update", "params": {}}, 400),
    ({"entityType": "Account", "action": "explode", "params": {"ids": []}}, 400),
    ({"entityType": "Nope", "action": "update", "params": {"ids": []}}, 404),
    ({"entityType": "Account", "action": "update", "params": "x"}, 400),
])
def test_mass_action_bad_input(api, body, status):
    assert api.post("/api/v1/MassAction", json=body).status_code == status


def test_mass_update_is_all_or_nothing(api):
    ids = [create(api, "Account", {"name": f"AON{i}"})["id"] for i in range(2)]
    response = api.post("/api/v1/MassAction", json={"entityType": "Account", "action": "update",
                                                    "params": {"ids": ids}, "data": {"type": "Bogus"}})
    assert response.status_code == 400
    assert all(api.get(f"/api/v1/Account/{i}").json()["type"] is None for i in ids)


def test_seed_mass_forms(api):
    created = api.post("/api/v1/Contact/action/massCreate",
                       json={"list": [{"firstName": "John", "lastName": "Doe"},
                                      {"firstName": "Jane", "lastName": "Smith"}]})
    assert created.status_code == 200 and created.json()["count"] == 2
    ids = created.json()["ids"]
    updated = api.put("/api/v1/Contact/action/massUpdate", json={"ids": ids, "data": {"description": "bulk"}})
    assert updated.json() == {"count": 2, "ids": ids}
    legacy = api.put("/api/v1/Contact/action/massUpdate", json={"ids": ids, "attributes": {"title": "x"}})
    assert legacy.json()["count"] == 2
    removed = api.request("DELETE", "/api/v1/Contact/action/massDelete", json={"ids": ids[:1]})
    assert removed.json() == {"count": 1, "ids": ids[:1]}
    removed_post = api.post("/api/v1/Contact/action/massDelete", json={"ids": ids[1:]})
    assert removed_post.json()["count"] == 1
    assert api.get("/api/v1/Contact").json()["total"] == 0


def test_mass_create_is_all_or_nothing(api):
    response = api.post("/api/v1/Contact/action/massCreate",
                        json={"list": [{"lastName": "Fine"}, {"firstName": "NoLastName"}]})
    assert response.status_code == 400
    assert api.get("/api/v1/Contact").json()["total"] == 0
    assert api.post("/api/v1/Contact/action/massCreate", json={"list": "x"}).status_code == 400
    assert api.post("/api/v1/Contact/action/massCreate", json={"list": [1, 2]}).status_code == 400
    assert api.post("/api/v1/Contact/action/massCreate", json={"list": []}).status_code == 400


def test_lead_conversion_current_form(api):
    lead = create(api, "Lead", {"firstName": "Lea", "lastName": "Convert", "accountName": "Lead Co",
                                "emailAddress": "lea@lead.example", "opportunityAmount": 500, "source": "Web Site"})
    attributes = api.post("/api/v1/Lead/action/getConvertAttributes", json={"id": lead["id"]}).json()
    assert attributes["Account"]["name"] == "Lead Co"
    assert attributes["Contact"]["lastName"] == "Convert"
    assert attributes["Opportunity"]["amount"] == 500 and attributes["Opportunity"]["leadSource"] == "Web Site"
    converted = api.post("/api/v1/Lead/action/convert", json={
        "id": lead["id"], "records": {"Account": {"name": "Lead Co"},
                                      "Contact": {"firstName": "Lea", "lastName": "Convert"},
                                      "Opportunity": {"name": "Deal", "amount": 500, "closeDate": "2031-01-01"}}})
    assert converted.status_code == 200, converted.headers.get("x-status-reason")
    body = converted.json()
    assert body["status"] == "Converted" and body["convertedAt"]
    contact = api.get(f"/api/v1/Contact/{body['createdContactId']}").json()
    assert contact["accountId"] == body["createdAccountId"]
    opp = api.get(f"/api/v1/Opportunity/{body['createdOpportunityId']}").json()
    assert opp["accountId"] == body["createdAccountId"] and opp["contactsIds"] == [contact["id"]]


def test_a_converted_lead_is_stamped_converted_and_modified_at_one_time(api, monkeypatch):
    import polycrm.core.leads as leads_module
    ticks = iter(datetime(2030, 1, 1, 0, 0, second) for second in range(60))
    monkeypatch.setattr(leads_module, "utcnow", lambda: next(ticks))  # a clock that moves at every reading
    lead = create(api, "Lead", {"lastName": "Tick"})
    body = api.post(f"/api/v1/Lead/{lead['id']}/convert", json={"createContact": True}).json()
    assert body["convertedAt"] == body["modifiedAt"]


def test_a_lead_given_the_converted_status_is_stamped_at_its_write_time(api, monkeypatch):
    import polycrm.core.records as records_module
    ticks = iter(datetime(2030, 1, 1, 0, 0, second) for second in range(60))
    monkeypatch.setattr(records_module, "utcnow", lambda: next(ticks))  # a clock that moves at every reading
    created = create(api, "Lead", {"lastName": "Born", "status": "Converted"})
    assert created["convertedAt"] == created["createdAt"]
    lead = create(api, "Lead", {"lastName": "Later"})
    updated = api.put(f"/api/v1/Lead/{lead['id']}", json={"status": "Converted"}).json()
    assert updated["convertedAt"] == updated["modifiedAt"]


def test_lead_conversion_seed_form_and_failure_rolls_back(api):
    lead = create(api, "Lead", {"firstName": "Sam", "lastName": "Seed"})
    bad = api.post(f"/api/v1/Lead/{lead['id']}/convert", json={"createAccount": True, "createOpportunity": True,
                                                                "opportunityName": "Needs amount"})
    assert bad.status_code == 400
    assert api.get("/api/v1/Account").json()["total"] == 0
    ok = api.post(f"/api/v1/Lead/{lead['id']}/convert", json={"createAccount": True, "accountName": "Seed Inc",
                                                               "createContact": True})
    assert ok.status_code == 200 and ok.json()["status"] == "Converted"
    assert api.get(f"/api/v1/Account/{ok.json()['createdAccountId']}").json()["name"] == "Seed Inc"
    assert api.post(f"/api/v1/Lead/{lead['id']}/convert", json={"createContact": True}).status_code == 400


def test_lead_conversion_duplicates(api):
    create(api, "Account", {"name": "Existing"})
    lead = create(api, "Lead", {"lastName": "Dup"})
    response = api.post("/api/v1/Lead/action/convert", json={"id": lead["id"], "records": {"Account": {
        "name": "Existing"}}})
    assert response.status_code == 409
    assert response.json()[0]["_entityType"] == "Account"
    assert api.post("/api/v1/Lead/action/convert", json={"records": {}}).status_code == 400
    assert api.post("/api/v1/Lead/action/convert", json={"id": lead["id"], "records": {"Bogus": {}}}
                    ).status_code == 400


def test_custom_field_is_a_real_filterable_sortable_column(api, harness, store):
    response = api.post("/api/v1/Admin/fieldManager/Contact", json={"name": "loyalty", "type": "int"})
    assert response.status_code == 200 and response.json()["name"] == "cLoyalty"
    tier = api.post("/api/v1/Admin/fieldManager/Contact",
                    json={"name": "tier", "type": "enum", "options": ["Gold", "Silver"]})
    assert tier.status_code == 200
    for i, level in enumerate(["Gold", "Silver", "Gold"]):
        create(api, "Contact", {"lastName": f"L{i}", "cLoyalty": i * 10, "cTier": level})
    params = {"where[0][type]": "equals", "where[0][attribute]": "cTier", "where[0][value]": "Gold",
              "orderBy": "cLoyalty", "order": "desc", "select": "cLoyalty"}
    listed = api.get("/api/v1/Contact", params=params).json()
    assert [r["cLoyalty"] for r in listed["list"]] == [20, 0]
    assert api.post("/api/v1/Contact", json={"lastName": "X", "cTier": "Bronze"}).status_code == 400
    meta = api.get("/api/v1/Metadata", params={"key": "entityDefs.Contact.fields.cTier"}).json()
    assert meta["options"] == ["Gold", "Silver"] and meta["isCustom"] is True
    spec = api.get("/api/v1/OpenApi").json()
    assert "cLoyalty" in str(spec)
    # Kept across restarts: a fresh database object over the same store sees the field.
    from polycrm.store.database import open_database
    reopened = open_database(store.url, schema=store.schema)
    assert "cLoyalty" in reopened.registry.entity("Contact").fields
    reopened.dispose()


@pytest.mark.parametrize("body,status", [
    ({"name": "x1", "type": "nope"}, 400),
    ({"type": "int"}, 400),
    ({"name": "bad name", "type": "int"}, 400),
    ({"name": "e", "type": "enum"}, 400),
    ({"name": "e", "type": "enum", "options": "a,b"}, 400),
    ({"name": "v", "type": "varchar", "maxLength": "big"}, 400),
    ({"name": "v", "type": "varchar", "unknownParam": 1}, 400),
    ({"name": "firstName", "type": "varchar"}, 200),  # becomes cFirstName: no clash
])
def test_field_manager_bad_input(api, body, status):
    assert api.post("/api/v1/Admin/fieldManager/Contact", json=body).status_code == status


def test_field_manager_conflict_and_unknown_entity(api):
    assert api.post("/api/v1/Admin/fieldManager/Contact", json={"name": "dup", "type": "int"}).status_code == 200
    assert api.post("/api/v1/Admin/fieldManager/Contact", json={"name": "dup", "type": "int"}).status_code == 409
    assert api.post("/api/v1/Admin/fieldManager/Nope", json={"name": "x", "type": "int"}).status_code == 404


def test_metadata_and_app_user(api, harness):
    options = api.get("/api/v1/Metadata", params={"key": "entityDefs.Lead.fields.status.options"}).json()
    assert "Converted" in options
    assert api.get("/api/v1/Metadata", params={"key": "entityDefs.Nope"}).status_code == 404
    user = api.get("/api/v1/App/user").json()
    assert user["user"]["userName"] == "admin" and user["user"]["isAdmin"] is True
    assert user["token"] is None
    assert user["acl"]["table"]["Account"]["read"] == "all"


def test_a_mass_action_takes_at_most_its_limit_of_records(api, monkeypatch):
    """One transaction holds SQLite's only write lock: a mass action past MASS_ACTION_LIMIT records is
    refused whole (by ids or by criteria), so no request can keep other writers out past their timeout."""
    monkeypatch.setattr(mass_actions, "MASS_ACTION_LIMIT", 3)
    ids = api.post("/api/v1/Account/action/massCreate", json={"list": [
        {"name": f"Limited {n}"} for n in range(4)]}).json()["ids"]
    where = [{"type": "startsWith", "attribute": "name", "value": "Limited"}]
    for params in ({"ids": ids}, {"where": where}):
        for action, data in (("update", {"type": "Partner"}), ("delete", None), ("follow", None)):
            body = {"entityType": "Account", "action": action, "params": params, **({"data": data} if data else {})}
            response = api.post("/api/v1/MassAction", json=body)
            assert response.status_code == 400 and "at most 3 records" in response.headers["x-status-reason"]
    hub = create(api, "Contact", {"lastName": "Hub"})
    related = api.post(f"/api/v1/Contact/{hub['id']}/accounts", json={"massRelate": True, "where": where})
    assert related.status_code == 400
    assert all(a["type"] is None for a in api.get("/api/v1/Account").json()["list"])
    done = api.post("/api/v1/MassAction", json={"entityType": "Account", "action": "update",
                                                  "params": {"ids": ids[:3]}, "data": {"type": "Partner"}})
    assert done.status_code == 200 and done.json()["count"] == 3


@pytest.mark.parametrize("where", [5, True, "x", {"a": 1}, [1], None])
def test_mass_relate_with_a_malformed_where_is_a_400(api, where):
    hub = create(api, "Contact", {"lastName": "Hub"})
    for body in ({"massRelate": True, "where": where}, {"massRelate": True, "searchParams": {"where": where}},
                 {"massRelate": True, "searchParams": where}):
        response = api.post(f"/api/v1/Contact/{hub['id']}/accounts", json=body)
        assert response.status_code in (200, 400), (body, response.status_code)
