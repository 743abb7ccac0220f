"""EspoCRM API lists: paging, select, order, where in all three encodings, text filter, totals (§2)."""

from __future__ import annotations

import json

import pytest

from tests.api.test_espo_records import create


@pytest.fixture
def accounts(api):
    made = []
    for i, (name, kind, city) in enumerate([("Alpha", "Customer", "Prague"), ("Beta", "Partner", "Brno"),
                                            ("Gamma", "Customer", "Berlin"), ("Delta", "", None),
                                            ("Epsilon", "Reseller", "Prague")]):
        made.append(create(api, "Account", {"name": name, "type": kind, "billingAddressCity": city,
                                            "sicCode": str(100 + i)}))
    return made


def names(response) -> list[str]:
    assert response.status_code == 200, (response.status_code, response.headers.get("x-status-reason"))
    return [r["name"] for r in response.json()["list"]]


def test_default_order_is_created_at_desc_and_total_counts(api, accounts):
    body = api.get("/api/v1/Account").json()
    assert body["total"] == 5
    assert list(body) == ["total", "list"]
    assert [r["name"] for r in body["list"]] == ["Epsilon", "Delta", "Gamma", "Beta", "Alpha"]


def test_paging_and_order(api, accounts):
    response = api.get("/api/v1/Account", params={"orderBy": "name", "order": "asc", "offset": 1, "maxSize": 2})
    assert names(response) == ["Beta", "Delta"]
    assert response.json()["total"] == 5
    assert names(api.get("/api/v1/Account", params={"orderBy": "name", "order": "DESC", "maxSize": 1})) == ["Gamma"]
    assert names(api.get("/api/v1/Account", params={"sortBy": "name", "asc": "true", "maxSize": 1})) == ["Alpha"]


def test_select_returns_selected_plus_id_and_acl_attributes(api, accounts):
    item = api.get("/api/v1/Account", params={"select": "name,bogus", "maxSize": 1}).json()["list"][0]
    assert set(item) == {"id", "name", "assignedUserId", "createdById", "createdAt"}


def test_list_excludes_link_multiple_and_contact_data(api, accounts):
    item = api.get("/api/v1/Account", params={"maxSize": 1}).json()["list"][0]
    assert "teamsIds" not in item and "emailAddressData" not in item
    assert "assignedUserName" in item and "emailAddress" in item


def test_php_style_where(api, accounts):
    params = {"where[0][type]": "equals", "where[0][attribute]": "type", "where[0][value]": "Customer",
              "orderBy": "name"}
    assert names(api.get("/api/v1/Account", params=params)) == ["Alpha", "Gamma"]


def test_nested_or_and_jquery_arrays(api, accounts):
    query = ("whereGroup[0][type]=or&whereGroup[0][value][0][type]=in&whereGroup[0][value][0][attribute]=type"
             "&whereGroup[0][value][0][value][]=Partner&whereGroup[0][value][0][value][]=Reseller"
             "&whereGroup[0][value][1][type]=equals&whereGroup[0][value][1][field]=billingAddressCity"
             "&whereGroup[0][value][1][value]=Berlin&orderBy=name")
    assert names(api.get(f"/api/v1/Account?{query}")) == ["Beta", "Epsilon", "Gamma"]


def test_search_params_json(api, accounts):
    search = {"maxSize": 2, "orderBy": "name", "order": "asc", "select": ["name"],
              "where": [{"type": "startsWith", "attribute": "billingAddressCity", "value": "Pr"}]}
    response = api.get("/api/v1/Account", params={"searchParams": json.dumps(search)})
    assert names(response) == ["Alpha", "Epsilon"]
    assert response.json()["total"] == 2


def test_where_as_json_string(api, accounts):
    where = [{"type": "and", "value": [{"type": "equals", "field": "type", "value": "Customer"},
                                       {"type": "equals", "field": "billingAddressCity", "value": "Prague"}]}]
    assert names(api.get("/api/v1/Account", params={"where": json.dumps(where)})) == ["Alpha"]


def test_broken_espocrm_client_encoding_is_ignored(api, accounts):
    response = api.get("/api/v1/Account?where=type&where=attribute&where=value")
    assert response.json()["total"] == 5


def test_injection_attempts_are_plain_values(api, accounts):
    params = {"where[0][type]": "equals", "where[0][attribute]": "name", "where[0][value]": "x' OR '1'='1"}
    assert names(api.get("/api/v1/Account", params=params)) == []
    like = {"where[0][type]": "contains", "where[0][attribute]": "name", "where[0][value]": "%"}
    assert names(api.get("/api/v1/Account", params=like)) == []
    bad_attr = {"where[0][type]": "equals", "where[0][attribute]": "name; DROP TABLE account",
                "where[0][value]": "x"}
    assert api.get("/api/v1/Account", params=bad_attr).status_code == 400
    assert api.get("/api/v1/Account", params={"orderBy": "name desc; DROP TABLE account"}).status_code == 400
    assert api.get("/api/v1/Account").json()["total"] == 5


@pytest.mark.parametrize("params,status,reason", [
    ({"maxSize": "201"}, 403, "Max size should not exceed 200. Use offset and limit."),
    ({"orderBy": "nope"}, 400, "Order by non-existing field 'nope'."),
    ({"orderBy": "account.name"}, 403, None),
    ({"order": "sideways", "orderBy": "name"}, 400, "order value is bad."),
    ({"primaryFilter": "nope"}, 400, "No primary filter 'nope' for 'Account'."),
    ({"boolFilterList[]": "nope"}, 400, "No bool filter 'nope' for 'Account'."),
    ({"where[0][type]": "bogus", "where[0][attribute]": "name"}, 400, "Unknown where item type 'bogus'."),
    ({"where[0][type]": "equals", "where[0][attribute]": "nope", "where[0][value]": "x"}, 400,
     "Not existing attribute 'nope' in where."),
    ({"where[0][type]": "in", "where[0][attribute]": "type", "where[0][value]": "x"}, 400, None),
    ({"where[0][type]": "equals", "where[0][attribute]": "name", "where[0][bogus]": "x"}, 400, None),
    ({"searchParams": "{broken"}, 400, None),
    ({"searchParams": json.dumps({"maxSize": "5"})}, 400, "maxSize must be integer."),
    ({"searchParams": json.dumps({"select": "name"})}, 400, "select should be array."),
    ({"offset": "-5"}, 400, None),
    ({"q": "\x00"}, 400, "Filter values must not contain NUL characters."),
    ({"where[0][type]": "equals", "where[0][attribute]": "name", "where[0][value]": "a\x00b"}, 400, None),
])
def test_bad_list_parameters(api, accounts, params, status, reason):
    response = api.get("/api/v1/Account", params=params)
    assert response.status_code == status
    if reason:
        assert response.headers["x-status-reason"] == reason


def test_primary_and_bool_filters(api, accounts, harness):
    assert names(api.get("/api/v1/Account", params={"primaryFilter": "customers", "orderBy": "name"})) == \
        ["Alpha", "Gamma"]
    mine = api.get("/api/v1/Account", params={"boolFilterList[]": "onlyMy"}).json()
    assert mine["total"] == 0  # admin created them without assigning anyone


def test_only_my_on_an_entity_without_owners_matches_nothing(api):
    # Teams have neither an assigned user nor a creator: nobody owns one (this was a 500).
    create(api, "Team", {"name": "Sales"})
    listed = api.get("/api/v1/Team", params={"boolFilterList[]": "onlyMy"})
    assert listed.status_code == 200 and listed.json() == {"total": 0, "list": []}


def test_text_filter_and_q(api, accounts):
    assert names(api.get("/api/v1/Account", params={"textFilter": "gam"})) == ["Gamma"]
    response = api.get("/api/v1/Account", params={"q": "e*"})
    assert names(response) == ["Epsilon"]
    assert response.json()["total"] in (-1, -2)


def test_no_total_header(api, accounts):
    more = api.get("/api/v1/Account", params={"maxSize": 2}, headers={"X-No-Total": "true"}).json()
    assert more["total"] == -1 and len(more["list"]) == 2
    last = api.get("/api/v1/Account", params={"maxSize": 10}, headers={"X-No-Total": "true"}).json()
    assert last["total"] == -2 and len(last["list"]) == 5


def test_comparisons_convert_string_values_to_the_field_type(api):
    for probability, amount in ((10, 100), (50, 2000), (90, 30000)):
        create(api, "Opportunity", {"name": f"O{probability}", "amount": amount, "probability": probability,
                                    "closeDate": f"2030-0{probability // 30 + 1}-15"})
    params = {"where[0][type]": "greaterThan", "where[0][attribute]": "amount", "where[0][value]": "1000",
              "orderBy": "amount"}
    assert names(api.get("/api/v1/Opportunity", params=params)) == ["O50", "O90"]
    between = {"where[0][type]": "between", "where[0][attribute]": "closeDate", "where[0][value][0]": "2030-01-01",
               "where[0][value][1]": "2030-02-28", "orderBy": "name"}
    assert names(api.get("/api/v1/Opportunity", params=between)) == ["O10", "O50"]
    bad = {"where[0][type]": "greaterThan", "where[0][attribute]": "probability", "where[0][value]": "lots"}
    assert api.get("/api/v1/Opportunity", params=bad).status_code == 400


def test_is_user_from_teams_lists_records_of_the_teams_members(api, harness):
    sales = create(api, "Team", {"name": "Sales"})["id"]
    support = create(api, "Team", {"name": "Support"})["id"]
    seller, _ = harness.user({"Account": True}, teams=[int(sales)])
    helper, _ = harness.user({"Account": True}, teams=[int(support)])
    create(api, "Account", {"name": "Sold", "assignedUserId": str(seller)})
    create(api, "Account", {"name": "Helped", "assignedUserId": str(helper)})
    create(api, "Account", {"name": "Nobody's"})
    where = {"where[0][type]": "isUserFromTeams", "where[0][attribute]": "assignedUser",
             "where[0][value][]": [sales]}
    assert names(api.get("/api/v1/Account", params=where)) == ["Sold"]
    where["where[0][value][]"] = [sales, support]
    assert sorted(names(api.get("/api/v1/Account", params=where))) == ["Helped", "Sold"]
    bad = api.get("/api/v1/Account", params={"where[0][type]": "isUserFromTeams", "where[0][attribute]": "name",
                                             "where[0][value]": sales})
    assert bad.status_code == 400 and "not a user link" in bad.headers["x-status-reason"]
