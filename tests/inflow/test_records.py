"""Records through the InflowCRM API: values of every field type, ids, access control, bad input for each
endpoint, the deprecated aliases, and cross-protocol visibility with the EspoCRM API."""

from __future__ import annotations

import pytest

from tests.inflow.conftest import create, error

BAD_IDS = ["123", "zz" * 12, "507f1f77bcf86cd79943901", "507f1f77bcf86cd7994390111", "' OR 1=1 --"]


def test_values_of_every_type_round_trip(inflow):
    customer = create(inflow, "customer", {"name": "Acme", "type": "Customer", "website": "acme.example"})
    contact = create(inflow, "contact", {"firstName": "Ada", "lastName": "Lovelace", "company": customer["id"],
                                         "email": "ada@example.com", "phone": "+44 20 1234", "doNotCall": True})
    assert contact["name"] == "Ada Lovelace" and contact["company"] == customer["id"]
    assert contact["doNotCall"] is True and contact["phone"] == "+44 20 1234"
    deal = create(inflow, "potential", {"name": "Deal", "amount": 1200.5, "closeDate": "2030-01-31",
                                        "customer": customer["id"], "contact": contact["id"], "stage": 2})
    assert deal["stage"] == "Proposal"  # a 0-based stage index reads back as the stage name (§9.3)
    assert deal["amount"] == 1200.5 and deal["closeDate"] == "2030-01-31"
    task = create(inflow, "task", {"name": "Call", "dateStart": "2030-01-02T09:30:00.000Z", "dueDate": "2030-01-03",
                                   "relatedTo": deal["id"]})
    assert task["dateStart"] == "2030-01-02T09:30:00.000Z" and task["dueDate"] == "2030-01-03"
    assert task["relatedTo"] == deal["id"] and task["assignedUser"] is not None
    event = create(inflow, "event", {"name": "Kick-off", "dateStart": "2030-02-01T10:00:00Z",
                                     "dateEnd": "2030-02-01T11:00:00+01:00", "relatedTo": customer["id"]})
    assert event["dateEnd"] == "2030-02-01T10:00:00.000Z" and event["relatedTo"] == customer["id"]
    cleared = inflow.patch(f"/api/updateRecord/{task['id']}", json={"module": "task", "data": {"relatedTo": None}})
    assert cleared.json()["data"]["relatedTo"] is None


def test_custom_field_types(inflow, harness):
    core = harness.app.state.core
    core.add_field("Account", "cTags", "multiEnum", {"options": ["a", "b", "c"]}, {"inflow": "tags"})
    core.add_field("Account", "cActive", "bool", {}, {"inflow": "isActive"})
    core.add_field("Account", "cSince", "date", {}, {"inflow": "since"})
    core.add_field("Account", "cHidden", "varchar")  # no InflowCRM name: invisible here
    record = create(inflow, "customer", {"name": "Typed", "tags": ["a", "c"], "isActive": True, "since": "2020-05-01"})
    assert (record["tags"], record["isActive"], record["since"]) == (["a", "c"], True, "2020-05-01")
    assert "cHidden" not in record and "hidden" not in record
    error(inflow.post("/api/createRecord", json={"module": "customer", "data": {"name": "x", "cHidden": "v"}}),
          400, "VALIDATION_ERROR")


def test_ids_encode_the_module(inflow, harness):
    customer = create(inflow, "customer", {"name": "Acme"})
    contact = create(inflow, "contact", {"lastName": "Doe"})
    assert customer["id"][8:] == contact["id"][8:] == f"{1:016x}"  # both first of their kind
    assert customer["id"][:8] != contact["id"][:8]
    error(inflow.get(f"/api/contact/{customer['id']}"), 404, "NOT_FOUND")
    assert inflow.get(f"/api/customer/{customer['id'].upper()}").json()["data"]["id"] == customer["id"]
    for bad in BAD_IDS:
        details = error(inflow.get(f"/api/customer/{bad}"), 400, "VALIDATION_ERROR")["details"]
        assert details == [{"field": "id", "errors": ["Invalid ObjectId format"]}]
        error(inflow.delete(f"/api/customer/{bad}"), 400, "VALIDATION_ERROR")
        error(inflow.patch(f"/api/updateRecord/{bad}", json={"module": "customer", "data": {}}), 400,
              "VALIDATION_ERROR")
        error(inflow.get(f"/api/customer/{bad}/files"), 400, "VALIDATION_ERROR")
        error(inflow.get(f"/api/getUser/{bad}"), 400, "VALIDATION_ERROR")
        error(inflow.get(f"/api/files/{bad}/download"), 400, "VALIDATION_ERROR")


def test_cross_protocol_visibility_both_ways(inflow, harness):
    espo = harness.key_client(harness.admin_key)
    created = create(inflow, "customer", {"name": "Both Ways", "email": "both@example.com", "customerCity": "Brno",
                                          "type": "Partner"})
    canonical = str(int(created["id"][8:], 16))
    seen = espo.get(f"/api/v1/Account/{canonical}").json()
    assert (seen["name"], seen["emailAddress"], seen["billingAddressCity"], seen["type"]) == (
        "Both Ways", "both@example.com", "Brno", "Partner")
    assert seen["createdAt"].replace(" ", "T") + ".000Z" == created["createdAt"]
    contact = espo.post("/api/v1/Contact", json={"firstName": "Eve", "lastName": "Espo", "accountId": canonical,
                                                 "emailAddress": "eve@example.com"}).json()
    found = inflow.post("/api/findRecord", json={"module": "contact", "filters": {"email": "eve@example.com"}})
    record = found.json()["data"]
    assert (record["firstName"], record["lastName"], record["company"]) == ("Eve", "Espo", created["id"])
    assert int(record["id"][8:], 16) == int(contact["id"])
    espo.patch(f"/api/v1/Contact/{contact['id']}", json={"lastName": "Updated"})
    assert inflow.get(f"/api/contact/{record['id']}").json()["data"]["lastName"] == "Updated"
    assert inflow.delete(f"/api/contact/{record['id']}").status_code == 204
    assert espo.get(f"/api/v1/Contact/{contact['id']}").status_code == 404


def test_bundle_and_access_follow_roles(inflow_api):
    _, reader = inflow_api.user({"Account": {"create": "no", "read": "all", "edit": "no", "delete": "no"}})
    assert [m["moduleName"] for m in reader.get("/api/getBundleModuleNames").json()["data"]] == ["customer"]
    assert error(reader.post("/api/searchRecords", json={"module": "contact"}), 403, "FORBIDDEN")["message"] == \
        "Module not available in your bundle"
    error(reader.post("/api/createRecord", json={"module": "customer", "data": {"name": "No"}}), 403, "FORBIDDEN")
    _, owner = inflow_api.user({"Account": {"create": "yes", "read": "own", "edit": "own", "delete": "own"}})
    mine = create(owner, "customer", {"name": "Mine"})
    assert reader.get(f"/api/customer/{mine['id']}").status_code == 200
    _, other = inflow_api.user({"Account": {"create": "yes", "read": "own", "edit": "own", "delete": "own"}})
    error(other.get(f"/api/customer/{mine['id']}"), 403, "FORBIDDEN")
    assert other.post("/api/records/count", json={"module": "customer"}).json()["data"] == {"count": 0}
    error(other.delete(f"/api/customer/{mine['id']}"), 403, "FORBIDDEN")


def test_authentication(inflow_api, harness, pass_key_trust):
    for client in (inflow_api.client(None), inflow_api.client("0" * 32), inflow_api.client("")):
        body = error(client.post("/api/searchRecords", json={"module": "customer"}), 401, "UNAUTHORIZED")
        assert body["message"] == "Invalid API key"
    key = harness.directory.create_api_key(harness.admin_id)
    assert inflow_api.client(key.key).get("/api/getUserList").status_code == 200
    harness.directory.revoke_api_key(key.info.id)
    pass_key_trust()
    error(inflow_api.client(key.key).get("/api/getUserList"), 401, "UNAUTHORIZED")
    upper = inflow_api.client(None, **{"X-API-KEY": harness.admin_key})
    assert upper.get("/api/getBundleModuleNames").status_code == 200


@pytest.mark.parametrize("body,field", [
    ({}, "module"),
    ({"module": ""}, "module"),
    ({"module": 7}, "module"),
    ({"module": "order"}, "module"),
    ({"module": "customer"}, "data"),
    ({"module": "customer", "data": []}, "data"),
    ({"module": "customer", "data": {}}, "name"),
    ({"module": "customer", "data": {"name": "x", "unknownField": 1}}, "unknownField"),
    ({"module": "customer", "data": {"name": "x", "email": "not an email"}}, "email"),
    ({"module": "customer", "data": {"name": "x" * 300}}, "name"),
    ({"module": "customer", "data": {"name": "x", "type": "Nope"}}, "type"),
    ({"module": "customer", "data": {"name": "x", "assignedUser": "zz"}}, "assignedUser"),
    ({"module": "contact", "data": {"lastName": "x", "company": "c6b8e6220000000000000001"}}, "company"),
    ({"module": "contact", "data": {"lastName": "x", "name": "Read Only"}}, "name"),
    ({"module": "potential", "data": {"name": "x", "amount": "lots", "closeDate": "2030-01-01"}}, "amount"),
    ({"module": "potential", "data": {"name": "x", "amount": 1, "closeDate": "31/01/2030"}}, "closeDate"),
    ({"module": "potential", "data": {"name": "x", "amount": 1, "closeDate": "2030-01-01", "stage": 9}}, "stage"),
    ({"module": "task", "data": {"name": "x", "relatedTo": "0" * 24}}, "relatedTo"),
])
def test_create_rejects_bad_input_naming_the_field(inflow, body, field):
    details = error(inflow.post("/api/createRecord", json=body), 400, "VALIDATION_ERROR")["details"]
    assert [d["field"] for d in details] == [field]
    assert inflow.post("/api/records/count", json={"module": "customer"}).json()["data"]["count"] == 0


def test_create_names_every_bad_field_at_once(inflow):
    details = error(inflow.post("/api/createRecord", json={"module": "customer", "data": {
        "name": "x", "nope": 1, "alsoNope": 2}}), 400, "VALIDATION_ERROR")["details"]
    assert details == [{"field": "nope", "errors": ["Unknown field 'nope'"]},
                       {"field": "alsoNope", "errors": ["Unknown field 'alsoNope'"]}]


def test_update_errors(inflow, harness):
    record = create(inflow, "customer", {"name": "Stable"})
    missing = record["id"][:8] + "00000000000000ff"
    error(inflow.patch(f"/api/updateRecord/{missing}", json={"module": "customer", "data": {"name": "x"}}), 404,
          "NOT_FOUND")
    error(inflow.patch(f"/api/updateRecord/{record['id']}", json={"module": "contact", "data": {}}), 404, "NOT_FOUND")
    error(inflow.patch(f"/api/updateRecord/{record['id']}", json={"module": "customer", "data": {"name": ""}}),
          400, "VALIDATION_ERROR")
    ignored = inflow.patch(f"/api/updateRecord/{record['id']}", json={"module": "customer", "data": {
        "id": "x", "createdAt": "2000-01-01T00:00:00.000Z", "description": "kept"}})
    assert ignored.json()["data"]["createdAt"] == record["createdAt"]
    assert ignored.json()["data"]["description"] == "kept"
    error(inflow.post(f"/api/updateRecord/{record['id']}", json={}), 405, "METHOD_NOT_ALLOWED")


@pytest.mark.parametrize("path", ["/api/searchRecords", "/api/findRecord", "/api/records/count",
                                  "/api/getModuleFields", "/api/getSampleData", "/api/records/getByIds",
                                  "/api/createRecord", "/api/getProcessesForModule", "/api/make/getModuleFields"])
def test_malformed_bodies(inflow, path):
    error(inflow.post(path, content=b'{"module": "customer",', headers={"content-type": "application/json"}),
          400, "VALIDATION_ERROR")
    error(inflow.post(path, content=b'["customer"]', headers={"content-type": "application/json"}), 400,
          "VALIDATION_ERROR")
    error(inflow.post(path, content=b"module=customer", headers={"content-type": "text/plain"}), 415,
          "UNSUPPORTED_MEDIA_TYPE")
    error(inflow.post(path, json={"module": "nope"}), 400, "VALIDATION_ERROR")
    error(inflow.post(path, content=b"{" + b" " * (10 * 1024 * 1024) + b"}",
                      headers={"content-type": "application/json"}), 413, "PAYLOAD_TOO_LARGE")


def test_urlencoded_create_and_text_body_for_records(inflow):
    response = inflow.post("/api/createRecord", data={"module": "potential", "name": "Form", "amount": "12.5",
                                                      "closeDate": "2030-01-01", "stage": "1"})
    assert response.status_code == 201, response.text
    assert (response.json()["data"]["amount"], response.json()["data"]["stage"]) == (12.5, "Qualification")
    error(inflow.post("/api/createRecord", content=b"name=x", headers={"content-type": "text/plain"}), 415,
          "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize("body", [
    {"module": "customer", "page": 0}, {"module": "customer", "page": "first"}, {"module": "customer", "limit": 0},
    {"module": "customer", "limit": 201}, {"module": "customer", "limit": True}, {"module": "customer", "page": 1.5},
    {"module": "customer", "sort": {"name": 1, "createdAt": -1}}, {"module": "customer", "sort": {"name": 2}},
    {"module": "customer", "sort": {"name; DROP TABLE account": 1}}, {"module": "customer", "sort": "name"},
    {"module": "customer", "sort": {"unknown": 1}}, {"module": "customer", "filters": {"name": {"$ne": None}}},
    {"module": "customer", "filters": ["name"]}, {"module": "customer", "filters": {"nope": 1}},
    {"module": "customer", "advancedFilters": "name = 1"},
    {"module": "customer", "advancedFilters": [{"conditions": [{"field": "name", "condition": "like",
                                                                "value": "%"}]}]},
    {"module": "customer", "advancedFilters": [{"conditions": [{"field": "name", "condition": "greater",
                                                                "value": "a"}]}]},
    {"module": "customer", "advancedFilters": [{"conditions": [{"condition": "equal", "value": "a"}]}]},
    {"module": "customer", "advancedFilters": [{"conditions": "name"}]},
    {"module": "customer", "advancedFilters": {"name": "x"}},
    {"module": "customer", "advancedFilters": [{"conditions": [{"field": "name", "condition": "in",
                                                                "value": "x"}]}]},
    {"module": "customer", "advancedFilters": [{"conditions": [{"field": "name", "condition": "equal",
                                                                "value": "a\u0000b"}]}]},
    {"module": "customer", "advancedFilters": [{"conditions": [{"field": "assignedUser", "condition": "equal",
                                                                "value": "1 OR 1=1"}]}]},
])
def test_search_rejects_bad_parameters(inflow, body):
    error(inflow.post("/api/searchRecords", json=body), 400, "VALIDATION_ERROR")


def test_injection_attempts_are_plain_values(inflow):
    create(inflow, "customer", {"name": "Robert'); DROP TABLE account;--"})
    for value in ("' OR '1'='1", "%", "_", "*"):
        response = inflow.post("/api/searchRecords", json={"module": "customer", "filters": {"name": value}})
        assert response.json()["data"] == []
    found = inflow.post("/api/records/count", json={"module": "customer", "filters": {
        "name": "Robert'); DROP TABLE account;--"}})
    assert found.json()["data"] == {"count": 1}


def test_get_by_ids_errors(inflow):
    error(inflow.post("/api/records/getByIds", json={"module": "customer", "ids": []}), 400, "VALIDATION_ERROR")
    error(inflow.post("/api/records/getByIds", json={"module": "customer"}), 400, "VALIDATION_ERROR")
    error(inflow.post("/api/records/getByIds", json={"module": "customer", "ids": ["nope"]}), 400, "VALIDATION_ERROR")
    error(inflow.post("/api/records/getByIds", json={"module": "customer", "ids": [1]}), 400, "VALIDATION_ERROR")
    other = create(inflow, "contact", {"lastName": "Other module"})
    response = inflow.post("/api/records/getByIds", json={"module": "customer", "ids": [other["id"]]})
    assert response.json()["data"] == [] and response.json()["meta"]["pagination"]["total"] == 0


def test_user_endpoint_errors(inflow, inflow_api, harness):
    error(inflow.get(f"/api/getUser/{'c6b8e622' + 'f' * 16}"), 404, "NOT_FOUND")
    customer = create(inflow, "customer", {"name": "Not a user"})
    error(inflow.get(f"/api/getUser/{customer['id']}"), 404, "NOT_FOUND")
    me = inflow.post("/api/validateApiKey").json()["data"]["userId"]
    error(inflow.patch(f"/api/updateUser/{me}", json={}), 400, "VALIDATION_ERROR")
    error(inflow.patch(f"/api/updateUser/{me}", json={"email": "new@example.com"}), 400, "VALIDATION_ERROR")
    error(inflow.patch(f"/api/updateUser/{me}", json={"password": "x"}), 400, "VALIDATION_ERROR")
    error(inflow.patch(f"/api/updateUser/{me}", json={"createdAt": "x"}), 400, "VALIDATION_ERROR")
    user_id, plain = inflow_api.user({"Account": True})
    mine = plain.post("/api/validateApiKey").json()["data"]["userId"]
    assert plain.get(f"/api/getUser/{mine}").json()["data"]["systemLabel"].startswith("user")
    error(plain.get(f"/api/getUser/{me}"), 403, "FORBIDDEN")
    # Without access to users, a user lists only themselves.
    assert [u["id"] for u in plain.get("/api/getUserList").json()["data"]] == [mine]
    assert plain.post("/api/validateApiKey").json()["data"]["userType"] == "user"


def test_deprecated_integration_aliases(inflow):
    response = inflow.post("/integration/searchRecords", json={"module": "customer"})
    assert response.status_code == 200
    assert response.json()["meta"]["deprecation"] == {
        "message": "This endpoint is deprecated. Use /api/searchRecords.", "sunset_date": "2027-12-31",
        "replacement_endpoint": "/api/searchRecords"}
    assert response.headers["deprecation"] == "true" and "successor-version" in response.headers["link"]
    record = inflow.post("/integration/createRecord", json={"module": "customer", "data": {"name": "Old"}})
    assert record.status_code == 201
    assert inflow.get(f"/integration/customer/{record.json()['data']['id']}").status_code == 200
    assert inflow.post("/api/searchRecords", json={"module": "customer"}).json()["meta"]["deprecation"] is None


def test_unknown_paths_and_methods_answer_in_the_envelope(inflow, harness):
    error(inflow.get("/api/doesNotExist"), 404, "NOT_FOUND")
    error(inflow.post("/api/a/b/c/d"), 404, "NOT_FOUND")
    error(inflow.get("/api/createRecord"), 405, "METHOD_NOT_ALLOWED")
    error(inflow.put("/api/customer/" + "0" * 24), 405, "METHOD_NOT_ALLOWED")
    error(inflow.get("/api/order/" + "0" * 24), 404, "NOT_FOUND")
    espo = harness.key_client(harness.admin_key)
    assert espo.get("/api/v1/Account").status_code == 200  # EspoCRM keeps /api/v1
    assert espo.get("/api/v1/App/user").status_code == 200


def test_records_render_for_other_renderers(inflow, harness):
    """What a webhook payload renderer reuses: the module of an entity, a record by API field name without
    file fields, and changed canonical attributes as API field names."""
    from polycrm.dialects.inflow.mapping import InflowMapping
    from polycrm.dialects.inflow.records import api_field_names, render_record

    harness.app.state.core.add_field("Account", "cScan", "file", {}, {"inflow": "scan"})
    created = create(inflow, "customer", {"name": "Hooked", "customerCity": "Oslo"})
    service = harness.app.state.core.records("Account")
    module = InflowMapping.load().module_for(service.entity)
    rendered = render_record(module, service.read_without_acl(int(created["id"][8:], 16)))
    assert rendered == {k: v for k, v in created.items() if k != "scan"}
    assert api_field_names(module, ["billingAddressCity", "name", "modifiedAt", "cScanId", "teamsIds"]) == [
        "name", "customerCity"]
    assert InflowMapping.load().module_for(harness.app.state.core.records("Case").entity) is None
