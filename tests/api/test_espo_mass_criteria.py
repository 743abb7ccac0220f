"""Mass actions by criteria refuse criteria they cannot parse (400, nothing touched): ignoring a malformed
`where`, as lists do, would select every record. Lists keep EspoCRM's behaviour (a `where` that is not a list
is ignored) and say so in X-PolyCRM-Warning."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from starlette.testclient import TestClient

from tests.api.test_espo_records import create

GOOD = [{"type": "equals", "attribute": "name", "value": "Keep 1"}]

# Criteria as a mass action's params (MassAction `params`, the legacy bodies, a massRelate body) take them.
MALFORMED: list[dict[str, Any]] = [
    {"where": "garbage"},
    {"where": ""},
    {"where": {"type": "equals", "attribute": "name", "value": "Keep 1"}},
    {"where": {}},
    {"where": None},
    {"where": 5},
    {"where": True},
    {"where": ["garbage"]},
    {"where": [None]},
    {"where": [{"type": "nope", "attribute": "name", "value": "x"}]},
    {"where": [{"type": "equals", "attribute": "nope", "value": "x"}]},
    {"where": [{"type": "equals", "attribute": "name", "value": "x", "extra": 1}]},
    {"where": [{"attribute": "name", "value": "x"}]},
    {"where": [{"type": "or", "value": "x"}]},
    {"where": [{"type": "in", "attribute": "name"}]},
    {"where": [{"type": "equals", "attribute": "name' OR 1=1 --", "value": "x"}]},
    {"where": GOOD, "searchParams": {"where": "garbage"}},
    {"where": GOOD, "searchParams": "garbage"},
    {"searchParams": {"where": "garbage"}},
    {"searchParams": {"where": None}},
    {"searchParams": {"where": {}}},
    {"searchParams": {"where": ""}},
    {"searchParams": {"whereGroup": "garbage"}},
    {"searchParams": {"where": GOOD, "whereGroup": []}},
    {"searchParams": {"wher": GOOD}},
    {"searchParams": {"filter": GOOD}},
    {"searchParams": "garbage"},
    {"searchParams": ""},
    {"searchParams": []},
    {"searchParams": 0},
    {"searchParams": False},
    {"searchParams": {"primaryFilter": "nope"}},
    {"searchParams": {"boolFilterList": "onlyMy"}},
    {"searchParams": {"textFilter": 5}},
    {"selectData": {"where": "garbage"}},
    {"selectData": "garbage"},
]


def _mass_action(action: str, data: dict[str, Any] | None = None) -> Callable[..., Any]:
    def send(api: TestClient, _hub: str, criteria: dict[str, Any]) -> Any:
        body = {"entityType": "Account", "action": action, "params": criteria, **({"data": data} if data else {})}
        return api.post("/api/v1/MassAction", json=body)
    return send


def _legacy(method: str, action: str, extra: dict[str, Any]) -> Callable[..., Any]:
    def send(api: TestClient, _hub: str, criteria: dict[str, Any]) -> Any:
        return api.request(method, f"/api/v1/Account/action/{action}", json={**extra, **criteria, "byWhere": True})
    return send


def _mass_relate(api: TestClient, hub: str, criteria: dict[str, Any]) -> Any:
    body = {"massRelate": True, **criteria}
    if "where" not in body:
        body["where"] = []  # EspoCRM requires it: what is malformed here is searchParams
    return api.post(f"/api/v1/Contact/{hub}/accounts", json=body)


MASS_PATHS = {
    "MassAction update": _mass_action("update", {"type": "Partner"}),
    "MassAction update values": _mass_action("update", {"values": {"type": "Partner"}}),
    "MassAction delete": _mass_action("delete"),
    "MassAction follow": _mass_action("follow"),
    "MassAction unfollow": _mass_action("unfollow"),
    "PUT massUpdate": _legacy("PUT", "massUpdate", {"attributes": {"type": "Partner"}}),
    "POST massUpdate": _legacy("POST", "massUpdate", {"attributes": {"type": "Partner"}}),
    "POST massDelete": _legacy("POST", "massDelete", {}),
    "DELETE massDelete": _legacy("DELETE", "massDelete", {}),
    "massRelate": _mass_relate,
}


def _world(api: TestClient, *, followed: bool = False) -> tuple[str, Callable[[], Any]]:
    """Two accounts (`followed` by the caller) and a contact; a snapshot of everything a mass action could
    change."""
    accounts = [create(api, "Account", {"name": f"Keep {n}"}) for n in (1, 2)]
    hub = create(api, "Contact", {"lastName": "Hub"})["id"]
    for account in accounts if followed else ():
        assert api.put(f"/api/v1/Account/{account['id']}/subscription").status_code == 200

    def followers(account_id: str) -> Any:
        response = api.get(f"/api/v1/Account/{account_id}/followers")
        return response.json()["total"] if response.status_code == 200 else response.status_code

    def snapshot() -> Any:
        listed = api.get("/api/v1/Account", params={"orderBy": "name"}).json()["list"]
        return ([(a["id"], a["name"], a["type"], a["versionNumber"]) for a in listed],
                [followers(a["id"]) for a in accounts], api.get(f"/api/v1/Contact/{hub}/accounts").json()["total"])

    return hub, snapshot


@pytest.mark.parametrize("path", list(MASS_PATHS))
def test_malformed_criteria_are_a_400_and_touch_nothing(api, path):
    send = MASS_PATHS[path]
    hub, snapshot = _world(api, followed=path.endswith("unfollow"))
    before = snapshot()
    for criteria in MALFORMED:
        response = send(api, hub, criteria)
        assert response.status_code == 400, (path, criteria, response.status_code)
        assert response.headers.get("x-status-reason"), (path, criteria)
    assert snapshot() == before
    # The same request with good criteria changes what they select, so the snapshot would have seen it.
    assert send(api, hub, {"where": GOOD}).status_code == 200
    assert snapshot() != before


@pytest.mark.parametrize("path", list(MASS_PATHS))
def test_where_group_in_search_params_selects_like_where(api, path):
    """`whereGroup` (EspoCRM 9's alias of where) was once dropped here, and every record selected."""
    send = MASS_PATHS[path]
    hub, snapshot = _world(api, followed=path.endswith("unfollow"))
    before = snapshot()
    criteria = {"searchParams": {"whereGroup": GOOD}}
    if path == "massRelate":
        criteria["where"] = []
    assert send(api, hub, criteria).status_code == 200
    after = snapshot()
    keep_2 = [[row for row in rows if row[1] == "Keep 2"] for rows in (before[0], after[0])]
    assert after != before, "nothing was selected"
    assert keep_2[0] == keep_2[1] and after[1][1] == before[1][1] and after[2] <= 1, "more than Keep 1 changed"


def test_mass_relate_requires_where_as_espocrm_does(api):
    hub, snapshot = _world(api)
    before = snapshot()
    for body in ({"massRelate": True}, {"massRelate": True, "searchParams": {}},
                 {"massRelate": True, "searchParams": {"where": GOOD}}):
        response = api.post(f"/api/v1/Contact/{hub}/accounts", json=body)
        assert (response.status_code, response.headers["x-status-reason"]) == (
            400, "Bad search params for mass relate: 'where' is required."), body
    assert snapshot() == before


@pytest.mark.parametrize(("reason", "criteria"), [
    ("Bad where: a plain string, not a list of where items.", {"where": "garbage"}),
    ("Bad searchParams.where: null, not a list of where items.", {"searchParams": {"where": None}}),
    ("Bad searchParams: unknown key 'wher'.", {"searchParams": {"wher": GOOD}}),
    ("Bad searchParams: an empty string, not an object.", {"searchParams": ""}),
    ("Bad searchParams: give where or whereGroup, not both.", {"searchParams": {"where": [], "whereGroup": []}}),
    ("Unknown where item type 'nope'.", {"where": [{"type": "nope", "attribute": "name"}]}),
])
def test_the_400_says_what_is_wrong(api, reason, criteria):
    response = api.post("/api/v1/MassAction", json={"entityType": "Account", "action": "delete", "params": criteria})
    assert (response.status_code, response.headers["x-status-reason"]) == (400, reason)


def test_criteria_ignore_select_as_espocrm_does(api):
    """A mass action returns no attributes: `select` in any form (EspoCRM's web client sends a string)."""
    _world(api)
    for select in ("name,type", ["name"], None):
        response = api.post("/api/v1/MassAction", json={"entityType": "Account", "action": "update", "params": {
            "where": GOOD, "searchParams": {"select": select}}, "data": {"type": "Partner"}})
        assert response.json() == {"count": 1}


def test_explicitly_empty_criteria_still_select_every_record(api):
    """EspoCRM's meaning of `where: []` and `searchParams: {}`: no condition."""
    _world(api)
    for params in ({"where": []}, {"searchParams": {}}, {"searchParams": {"where": []}}):
        response = api.post("/api/v1/MassAction", json={"entityType": "Account", "action": "update",
                                                        "params": params, "data": {"type": "Partner"}})
        assert response.json() == {"count": 2}


# --- lists: ignored, and said so ------------------------------------------------------------------

WARNING = "x-polycrm-warning"
NOT_A_LIST = "where ignored: {}, not a list of where items"


@pytest.mark.parametrize(("query", "warning"), [
    ("where=garbage", NOT_A_LIST.format("a plain string")),
    ("where=", NOT_A_LIST.format("an empty string")),
    # espocrm-client 0.2.1 sends its where items so; PHP keeps the last value (specs/espocrm.md §2.4(3)).
    ("where=type&where=attribute&where=value", NOT_A_LIST.format("a plain string")),
    ("whereGroup=garbage", NOT_A_LIST.format("a plain string")),
    ("where[type]=equals&where[attribute]=name&where[value]=Keep%201",
     NOT_A_LIST.format("an object") + " (write where[0][type]=..., with list indexes)"),
    ('searchParams={"where":"garbage"}', NOT_A_LIST.format("a plain string")),
    ('searchParams={"where":{"type":"equals"}}', NOT_A_LIST.format("an object")),
    ('searchParams={"where":5}', NOT_A_LIST.format("a number")),
    ('searchParams={"whereGroup":true}', NOT_A_LIST.format("a boolean")),
])
def test_a_list_ignores_a_where_that_is_not_a_list_and_says_so(api, query, warning):
    hub, _ = _world(api)
    account = api.get("/api/v1/Account").json()["list"][0]["id"]
    for path in ("/api/v1/Account", f"/api/v1/Account/{account}/followers", f"/api/v1/Contact/{hub}/accounts"):
        response = api.get(f"{path}?{query}")
        assert response.status_code == 200, path
        assert response.headers[WARNING] == warning, path
    assert api.get(f"/api/v1/Account?{query}").json()["total"] == 2  # unfiltered, as EspoCRM


@pytest.mark.parametrize("query", [
    "", "where[0][type]=equals&where[0][attribute]=name&where[0][value]=Keep%201",
    'where=[{"type":"equals","attribute":"name","value":"Keep 1"}]', 'searchParams={"where":null}',
    'searchParams={"where":[{"type":"equals","attribute":"name","value":"Keep 1"}]}'
])
def test_a_list_whose_where_is_used_has_no_warning(api, query):
    _world(api)
    response = api.get(f"/api/v1/Account?{query}")
    assert response.status_code == 200 and WARNING not in response.headers


def test_a_list_still_refuses_a_malformed_where_item(api):
    """Only a where that is not a list is ignored (EspoCRM's rule); a bad item in a list is a 400."""
    for query in ("where[0][type]=nope&where[0][attribute]=name", "where[0]=garbage",
                  "where[0][type]=equals&where[0][attribute]=nope&where[0][value]=x", "where=[1"):
        assert api.get(f"/api/v1/Account?{query}").status_code == 400, query
