"""Relationship columns in the registry: typed junction columns shared by both sides of a relation, the
attributes that show them, and definitions naming columns that do not exist."""

from __future__ import annotations

import copy

import pytest

from polycrm.meta import JunctionColumn, ValueKind, load_builtin_registry
from polycrm.meta.registry import Registry, _builtin_definitions


def test_both_sides_of_a_relation_share_its_columns():
    registry = load_builtin_registry()
    contact, account = registry.entity("Contact"), registry.entity("Account")
    mine, theirs = contact.links["accounts"].columns, account.links["contacts"].columns
    assert mine.keys() == theirs.keys() == {"role", "isInactive"}
    assert (mine["role"].kind, mine["role"].max_length, mine["role"].column) == (ValueKind.STRING, 100, "role")
    assert (mine["isInactive"].column, mine["isInactive"].default) == ("is_inactive", False)
    status = registry.entity("User").links["meetings"].columns["status"]
    assert isinstance(status, JunctionColumn) and status.default == "None"
    assert status.options == ("None", "Accepted", "Tentative", "Declined")
    assert account.relation_column_attributes() == {"contactRole": theirs["role"],
                                                    "contactIsInactive": theirs["isInactive"]}
    assert contact.attributes["accountsColumns"].kind is ValueKind.COLUMN_MAP
    assert "teamsColumns" not in contact.attributes and "repliesColumns" not in registry.entity("Email").attributes
    assert contact.attributes["accountIsInactive"].column is None
    assert not contact.attributes["accountIsInactive"].writable


@pytest.mark.parametrize("entity,key,spec", [
    ("Contact", "columnFilterFields", {"acceptanceStatusMeetings": {"link": "meetings", "column": "nope"}}),
    ("Contact", "columnFilterFields", {"x": {"link": "nope", "column": "status"}}),
])
def test_definitions_naming_missing_columns_are_refused(entity, key, spec):
    raw = copy.deepcopy(_builtin_definitions())
    raw[entity][key] = spec
    with pytest.raises(ValueError, match="has no junction column"):
        Registry(raw)


def test_a_primary_row_column_needs_a_belongs_to_link():
    raw = copy.deepcopy(_builtin_definitions())
    raw["Contact"]["fields"]["accountIsInactive"]["primaryRowColumn"]["through"] = "accounts"
    with pytest.raises(ValueError, match="through the belongsTo link accounts"):
        Registry(raw)
