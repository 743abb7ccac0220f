"""Concord filter rules over built-in entities, and builders of `filters` input, shared by the parser's unit
tests and the tests that run parsed filters as SQL. Deal rules use fields Opportunity has today (stage,
amount, closeDate), not the pipeline fields the Concord dialect's data names."""

from __future__ import annotations

from typing import Any

from polycrm.dialects.concord.filters import FilterRule

NO_NULLS = frozenset({"is_null", "is_not_null"})

CONTACT_RULES = {
    "first_name": FilterRule("first_name", "firstName", "text", without_operators=NO_NULLS),
    "last_name": FilterRule("last_name", "lastName", "text"),
    "email": FilterRule("email", "emailAddress", "text"),
    "phones": FilterRule("phones", "phoneNumber", "text", operand="number"),
    "user_id": FilterRule("user_id", "assignedUser", "select", me=True),
    "job_title": FilterRule("job_title", "title", "text"),
    "address.street": FilterRule("address", "addressStreet", "text", operand="street"),
    "address.city": FilterRule("address", "addressCity", "text", operand="city"),
    "do_not_call": FilterRule("do_not_call", "doNotCall", "boolean"),
    "created_at": FilterRule("created_at", "createdAt", "date", without_operators=NO_NULLS,
                             without_presets=frozenset({"future", "next_week"})),
    "updated_at": FilterRule("updated_at", "modifiedAt", "date"),
    # Concord's "has" rule: the company filters as operands, on the contact's companies (a many-to-many link).
    "companies.name": FilterRule("companies", "name", "text", operand="companies.name", link="accounts"),
    "companies.user_id": FilterRule("companies", "assignedUser", "select", me=True, operand="user_id",
                                    link="accounts"),
}
STAGES = {"prospecting": "Prospecting", "proposal": "Proposal", "won": "Closed Won"}
DEAL_RULES = {
    "name": FilterRule("name", "name", "text", without_operators=NO_NULLS),
    "amount": FilterRule("amount", "amount", "numeric"),
    "probability": FilterRule("probability", "probability", "number"),
    "stage": FilterRule("stage", "stage", "select", values=STAGES),
    "stages": FilterRule("stages", "stage", "multi-select", values=STAGES),
    "account_id": FilterRule("account_id", "account", "multi-select"),
    "contact_id": FilterRule("contact_id", "contact", "checkbox"),
    "expected_close_date": FilterRule("expected_close_date", "closeDate", "date"),
    "created_at": FilterRule("created_at", "createdAt", "date"),
    "user_id": FilterRule("user_id", "assignedUser", "select", me=True),
    "favourite": FilterRule("favourite", "stage", "radio", values={"yes": "Closed Won"}),
    "account.name": FilterRule("account", "name", "text", operand="name", link="account"),  # a belongsTo link
}


def rule(rule_id: Any, operator: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    """A rule child; no `value` key when `value` is None."""
    query = {"rule": rule_id, "operator": operator, **extra}
    if value is not None:
        query["value"] = value
    return {"type": "rule", "query": query}


def group(*children: Any, condition: str | None = "and") -> dict[str, Any]:
    """A group of children; no `condition` key when `condition` is None."""
    raw: dict[str, Any] = {"children": list(children)}
    if condition is not None:
        raw["condition"] = condition
    return raw
