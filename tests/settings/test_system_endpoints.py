"""The other endpoints EspoCRM clients call at start: `App/about`, `I18n` and `GlobalSearch` (the search
honouring access control: a user finds only what they may read)."""

from __future__ import annotations

import pytest

OWN = {"create": "yes", "read": "own", "edit": "own", "delete": "no"}


def test_about_answers_the_version_as_espocrm_does(harness, api):
    about = api.get("/api/v1/App/about")
    assert about.status_code == 200
    assert about.json()["version"] == "9.3.9" and "PolyCRM" in about.json()["text"]
    assert harness.client().get("/api/v1/App/about").status_code == 401


def test_translations_hold_the_labels_of_what_the_caller_may_read(harness, api, store):
    anonymous = harness.client().get("/api/v1/I18n").json()
    assert set(anonymous) == {"Global"} and "scopeNames" not in anonymous["Global"]
    everything = api.get("/api/v1/I18n").json()
    assert everything["Global"]["scopeNames"]["Opportunity"] == "Opportunity"
    assert everything["Global"]["scopeNamesPlural"]["Opportunity"] == "Opportunities"
    assert everything["Opportunity"]["fields"]["closeDate"] == "Close Date"
    assert everything["Opportunity"]["options"]["stage"]["Closed Won"] == "Closed Won"
    assert everything["Account"]["links"]["contacts"] == "Contacts"
    assert api.post("/api/v1/Admin/fieldManager/Account", json={"name": "taxNumber", "type": "varchar"}).status_code \
        == 200
    assert api.get("/api/v1/I18n").json()["Account"]["fields"]["cTaxNumber"] == "Tax Number"
    _, reader = harness.user({"Account": {"read": "all"}})
    seen = reader.get("/api/v1/I18n").json()
    assert "Account" in seen and "Opportunity" not in seen and "Opportunity" not in seen["Global"]["scopeNames"]


@pytest.fixture
def findable(harness, api):
    """Records named Acme… of every searched type; one account belongs to a user who may read only their own."""
    owner_id, owner = harness.user({"Account": OWN, "Contact": OWN})
    created = {
        "mine": owner.post("/api/v1/Account", json={"name": "Acme Own"}).json(),
        "accounts": [api.post("/api/v1/Account", json={"name": f"Acme {n}"}).json() for n in ("B", "A")],
        "contact": api.post("/api/v1/Contact", json={"firstName": "Acme", "lastName": "Person"}).json(),
        "lead": api.post("/api/v1/Lead", json={"lastName": "Acme Lead", "status": "New"}).json(),
        "opportunity": api.post("/api/v1/Opportunity", json={"name": "Acme Deal", "amount": 1,
                                                             "closeDate": "2030-01-01"}).json(),
        "other": api.post("/api/v1/Account", json={"name": "Other"}).json(),
    }
    gone = api.post("/api/v1/Account", json={"name": "Acme Gone"}).json()
    assert api.delete(f"/api/v1/Account/{gone['id']}").status_code == 200
    return owner, created


def test_global_search_finds_across_types_in_list_order(api, findable):
    _, created = findable
    found = api.get("/api/v1/GlobalSearch", params={"q": "Acme"}).json()
    assert found["total"] == -2
    assert [(r["_scope"], r["name"]) for r in found["list"]] == [
        ("Account", "Acme A"), ("Account", "Acme B"), ("Account", "Acme Own"), ("Contact", "Acme Person"),
        ("Lead", "Acme Lead"), ("Opportunity", "Acme Deal")]
    assert found["list"][4]["status"] == "New" and found["list"][5]["stage"] == "Prospecting"
    assert found["list"][0]["id"] == created["accounts"][1]["id"]


def test_global_search_pages(api, findable):
    first = api.get("/api/v1/GlobalSearch", params={"q": "Acme", "maxSize": 4}).json()
    rest = api.get("/api/v1/GlobalSearch", params={"q": "Acme", "maxSize": 4, "offset": 4}).json()
    assert first["total"] == -1 and len(first["list"]) == 4
    assert rest["total"] == -2 and [r["name"] for r in rest["list"]] == ["Acme Lead", "Acme Deal"]


def test_global_search_shows_a_user_only_what_they_may_read(findable):
    owner, created = findable
    found = owner.get("/api/v1/GlobalSearch", params={"q": "Acme"}).json()
    assert [(r["_scope"], r["id"]) for r in found["list"]] == [("Account", created["mine"]["id"])]


@pytest.mark.parametrize("params, status, reason", [
    ({}, 400, "No `q` parameter."),
    ({"q": "  "}, 400, "No `q` parameter."),
    ({"q": "Acme", "offset": "-1"}, 400, "offset must not be negative."),
    ({"q": "Acme", "maxSize": "-3"}, 400, "maxSize must not be negative."),
    ({"q": "Acme", "maxSize": "100000"}, 403, "Max size should not exceed 200. Use offset and limit."),
])
def test_global_search_refuses_bad_parameters(api, params, status, reason):
    response = api.get("/api/v1/GlobalSearch", params=params)
    assert response.status_code == status and response.headers["x-status-reason"] == reason


@pytest.mark.parametrize("text", ["'; DROP TABLE account; --", "%", "_", "\\", "A" * 5000, "Acme*Zzz"])
def test_global_search_takes_any_text_literally(api, findable, text):
    found = api.get("/api/v1/GlobalSearch", params={"q": text})
    assert found.status_code == 200 and found.json()["list"] == []
