"""InflowCRM filters: the parser's tree and errors (unit), and what the conditions select (black-box)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from polycrm.dialects.inflow.envelope import InflowError
from polycrm.dialects.inflow.filters import COMPATIBLE, FilterParser
from polycrm.dialects.inflow.ids import encode_id
from polycrm.dialects.inflow.mapping import FieldType, InflowMapping
from polycrm.meta import load_builtin_registry
from polycrm.query.tree import TRUE, And, Compare, Const, Not, Op, Or, Sort
from tests.inflow.conftest import create, error

MAPPING = InflowMapping.load()
REGISTRY = load_builtin_registry()


def parser(module: str = "customer") -> FilterParser:
    spec = MAPPING.resolve(module)
    return FilterParser(MAPPING.module(spec, REGISTRY.entity(spec.entity)))


def group(*conditions: dict) -> list[dict]:
    return [{"conditions": list(conditions)}]


def cond(field: str, condition: str, value=None) -> dict:
    return {"field": field, "condition": condition, "value": value}


def test_groups_are_or_of_ands_and_v0_objects_are_ands():
    head = parser().parse(None, [{"conditions": [cond("name", "equal", "a"), cond("website", "equal", "b")]},
                                 {"conditions": [cond("type", "in", ["Partner", "Reseller"])]}])
    assert head == Or((And((Compare("name", Op.EQ, "a"), Compare("website", Op.EQ, "b"))),
                       Compare("type", Op.IN, ("Partner", "Reseller"))))
    v0 = parser().parse(None, {"name": [{"condition": "equal", "value": "a"}, {"condition": "notEqual", "value": "b"}],
                               "type": {"condition": "equal", "value": "Partner", "fieldType": "string"}})
    assert v0 == And((Compare("name", Op.EQ, "a"), Compare("name", Op.NE, "b"), Compare("type", Op.EQ, "Partner")))
    both = parser().parse({"website": "w"}, group(cond("name", "equal", "a")))
    assert both == And((Compare("website", Op.EQ, "w"), Compare("name", Op.EQ, "a")))
    assert parser().parse(None, []) == TRUE and parser().parse({}, {}) == TRUE
    assert parser().parse(None, [{"conditions": []}]) == TRUE


def test_values_are_converted_to_the_field_type():
    deal = parser("potential")
    assert deal.parse(None, group(cond("amount", "greater", "100"))) == Compare("amount", Op.GT, 100)
    assert deal.parse(None, group(cond("closeDate", "lowerOrEqual", "2030-01-01"))) == Compare(
        "closeDate", Op.LE, date(2030, 1, 1))
    customer = parser()
    created = customer.parse(None, group(cond("createdAt", "greater", "2024-01-01")))
    assert created == Compare("createdAt", Op.GT, datetime(2024, 1, 1))
    day = customer.parse(None, group(cond("createdAt", "equal", "2024-01-01")))
    assert day == And((Compare("createdAt", Op.GE, datetime(2024, 1, 1)), Compare("createdAt", Op.LT,
                                                                                   datetime(2024, 1, 2))))
    assert isinstance(customer.parse(None, group(cond("createdAt", "notEqual", "2024-01-01"))), Not)
    exact = customer.parse(None, group(cond("createdAt", "lower", "2024-01-01T10:00:00.000Z")))
    assert exact == Compare("createdAt", Op.LT, datetime(2024, 1, 1, 10))
    user = encode_id("User", 7)
    assert customer.parse({"assignedUser": user}, None) == Compare("assignedUserId", Op.EQ, 7)
    assert customer.parse({"assignedUser": [user, encode_id("User", 9)]}, None) == Compare(
        "assignedUserId", Op.IN, (7, 9))
    assert customer.parse(None, group(cond("id", "equal", encode_id("Account", 3)))) == Compare("id", Op.EQ, 3)
    assert customer.parse({"id": encode_id("Contact", 3)}, None) == Const(False)  # another module's id
    assert customer.parse(None, group(cond("id", "notEqual", encode_id("Contact", 3)))) == TRUE


def test_emptiness_and_polymorphic_relations():
    customer = parser()
    assert customer.parse(None, group(cond("email", "isEmpty", True))) == Compare("emailAddress", Op.IS_NULL)
    assert customer.parse(None, group(cond("email", "isEmpty", False))) == Compare("emailAddress", Op.IS_NOT_NULL)
    assert customer.parse(None, group(cond("assignedUser", "isNotEmpty", True))) == Compare(
        "assignedUserId", Op.IS_NOT_NULL)
    assert customer.parse(None, group({"field": "name", "condition": "isEmpty"})) == Compare("name", Op.IS_NULL)
    task = parser("task")
    deal = encode_id("Opportunity", 5)
    assert task.parse({"relatedTo": deal}, None) == And((Compare("parentType", Op.EQ, "Opportunity"),
                                                         Compare("parentId", Op.EQ, 5)))
    assert task.parse(None, group(cond("relatedTo", "isEmpty", True))) == Compare("parentId", Op.IS_NULL)
    assert task.parse({"relatedTo": encode_id("Task", 5)}, None) == Const(False)


def test_sort():
    customer = parser()
    assert customer.sorts(None) == [Sort("createdAt", True)]
    assert customer.sorts({"name": 1}) == [Sort("name", False)]
    assert customer.sorts({"customerCity": -1}) == [Sort("billingAddressCity", True)]
    assert customer.sorts({"assignedUser": "desc"}) == [Sort("assignedUserId", True)]
    for bad in ({"name": 1, "email": 1}, {"name": 0}, {"name": True}, {"nope": 1}, ["name"], {"name": "up"}):
        with pytest.raises(InflowError) as raised:
            customer.sorts(bad)
        assert raised.value.status == 400 and raised.value.details[0]["field"] == "sort"


@pytest.mark.parametrize("field,condition,value,message", [
    ("name", "contains", "a", "Unsupported filter condition: 'contains'"),
    ("name", "greater", "a", "Condition 'greater' is not supported for string field 'name'"),
    ("website", "equal", True, "Condition 'equal' on 'website' requires a string value."),
    ("nope", "equal", 1, "Unknown field 'nope'"),
    ("assignedUser", "greater", "x", "Condition 'greater' is not supported for relation field 'assignedUser'"),
    ("assignedUser", "equal", 12, "'assignedUser' is compared with record ids (24 hexadecimal characters)."),
    ("assignedUser", "equal", "12", "'assignedUser': Invalid ObjectId format"),
    ("createdAt", "greater", "yesterday", "Condition 'greater' requires a number or date value."),
    ("createdAt", "in", ["2024-01-01"], "Condition 'in' is not supported for date field 'createdAt'"),
    ("type", "in", "Partner", "Condition 'in' requires an array value."),
    ("type", "isEmpty", "yes", "Condition 'isEmpty' takes true or false."),
    ("type", "equal", ["a"], "Condition 'equal' requires a single value."),
])
def test_errors_name_the_field(field, condition, value, message):
    with pytest.raises(InflowError) as raised:
        parser().parse(None, group(cond(field, condition, value)))
    assert (raised.value.status, raised.value.code, raised.value.message) == (400, "VALIDATION_ERROR", message)
    assert raised.value.details == [{"field": field, "errors": [message]}]


def test_every_condition_of_the_matrix_is_accepted():
    deal = parser("potential")
    samples = {FieldType.NUMBER: ("amount", 5), FieldType.DATE: ("closeDate", "2030-01-01"),
               FieldType.STRING: ("name", "x"), FieldType.PICKLIST: ("stage", "Proposal"),
               FieldType.RELATION: ("customer", encode_id("Account", 1))}
    for kind, (field, value) in samples.items():
        for condition in COMPATIBLE[kind]:
            given = [value] if condition in ("in", "notIn") else True if condition.startswith("is") else value
            deal.parse(None, group(cond(field, condition, given)))


def test_condition_count_is_bounded():
    with pytest.raises(InflowError):
        parser().parse(None, group(*[cond("name", "equal", str(i)) for i in range(201)]))


# --- what the conditions select, on the store -----------------------------------------------------------------


@pytest.fixture
def deals(inflow, harness):
    harness.app.state.core.add_field("Opportunity", "cTags", "multiEnum", {"options": ["hot", "cold", "vip"]},
                                     {"inflow": "tags"})
    acme = create(inflow, "customer", {"name": "Acme"})
    rows = [("A", 10, "2030-01-01", ["hot"], acme["id"], "Prospecting"),
            ("B", 20, "2030-02-01", [], None, "Proposal"),
            ("C", 30, "2030-03-01", ["cold", "vip"], acme["id"], "Closed Won")]
    created = {name: create(inflow, "potential", {"name": name, "amount": amount, "closeDate": close, "tags": tags,
                                                  "customer": customer, "stage": stage})
               for name, amount, close, tags, customer, stage in rows}
    return acme, created


def names(inflow, advanced=None, filters=None) -> list[str]:
    response = inflow.post("/api/searchRecords", json={"module": "potential", "advancedFilters": advanced,
                                                        "filters": filters, "sort": {"name": 1}})
    assert response.status_code == 200, response.text
    return [r["name"] for r in response.json()["data"]]


def test_conditions_select_the_right_records(inflow, deals):
    acme, _ = deals
    assert names(inflow, group(cond("amount", "greaterOrEqual", 20))) == ["B", "C"]
    assert names(inflow, group(cond("amount", "lower", 20))) == ["A"]
    assert names(inflow, group(cond("amount", "notIn", [10, 30]))) == ["B"]
    assert names(inflow, group(cond("closeDate", "greater", "2030-01-15"), cond("closeDate", "lowerOrEqual",
                                                                                 "2030-02-01"))) == ["B"]
    assert names(inflow, group(cond("customer", "equal", acme["id"]))) == ["A", "C"]
    assert names(inflow, group(cond("customer", "isEmpty", True))) == ["B"]
    assert names(inflow, group(cond("customer", "notEqual", acme["id"]))) == ["B"]
    assert names(inflow, group(cond("tags", "isEmpty", True))) == ["B"]
    assert names(inflow, group(cond("tags", "isNotEmpty", True))) == ["A", "C"]
    assert names(inflow, group(cond("tags", "in", ["vip", "hot"]))) == ["A", "C"]
    assert names(inflow, group(cond("tags", "notIn", ["vip"]))) == ["A", "B"]
    assert names(inflow, filters={"tags": "cold"}) == ["C"]
    assert names(inflow, group(cond("stage", "in", ["Proposal", "Closed Won"]))) == ["B", "C"]
    assert names(inflow, [{"conditions": [cond("amount", "equal", 10)]},
                          {"conditions": [cond("stage", "equal", "Closed Won")]}]) == ["A", "C"]
    assert names(inflow, {"amount": {"condition": "greater", "value": 10}, "customer": {"condition": "equal",
                                                                                     "value": acme["id"]}}) == ["C"]
    assert names(inflow, group(cond("createdAt", "greater", "2000-01-01"))) == ["A", "B", "C"]
    assert names(inflow, group(cond("createdAt", "lower", "2000-01-01"))) == []


def test_is_empty_matches_null_and_empty_text(inflow):
    create(inflow, "customer", {"name": "No site"})
    create(inflow, "customer", {"name": "Blank site", "website": ""})
    create(inflow, "customer", {"name": "Site", "website": "site.example"})
    response = inflow.post("/api/searchRecords", json={"module": "customer", "sort": {"name": 1},
                                                       "advancedFilters": group(cond("website", "isEmpty", True))})
    assert [r["name"] for r in response.json()["data"]] == ["Blank site", "No site"]


def test_email_filters_match_any_address_case_insensitively(inflow, harness):
    espo = harness.key_client(harness.admin_key)
    espo.post("/api/v1/Account", json={"name": "Two mails", "emailAddressData": [
        {"emailAddress": "first@example.com", "primary": True}, {"emailAddress": "second@example.com"}]})
    found = inflow.post("/api/findRecord", json={"module": "customer", "filters": {"email": "SECOND@example.com"}})
    assert found.json()["data"]["email"] == "first@example.com"


def test_filter_errors_over_http(inflow):
    body = error(inflow.post("/api/records/count", json={"module": "customer", "advancedFilters": group(
        cond("name", "contains", "x"), cond("nope", "equal", 1))}), 400, "VALIDATION_ERROR")
    assert body["message"] == "Unsupported filter condition: 'contains'"
    assert body["details"] == [{"field": "name", "errors": ["Unsupported filter condition: 'contains'"]}]
