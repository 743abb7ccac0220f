"""Which list indexes an entity gets: every filterable column paired with the default sort, and none that
another index covers (each costs every insert)."""

from __future__ import annotations

from polycrm.meta import load_builtin_registry
from polycrm.store.schema import entity_index_columns

SORT_TAIL = ["deleted", "created_at", "id"]


def leads(entity_name: str) -> list[list[str]]:
    """The filter columns of each index, without the sort tail every one ends in."""
    entity = load_builtin_registry().entity(entity_name)
    return [[c for c in cols if c not in SORT_TAIL] for cols in entity_index_columns(entity)]


def test_an_index_that_begins_another_is_left_out_unless_it_is_a_link() -> None:
    contact = leads("Contact")
    assert ["first_name", "last_name"] in contact and ["first_name"] not in contact
    lead = leads("Lead")  # the owner's list reads assigned_user_id in created-at order
    assert ["assigned_user_id"] in lead and ["assigned_user_id", "status"] in lead


def test_the_creator_is_indexed_only_where_nobody_is_assigned() -> None:
    assert ["created_by_id"] not in leads("Contact")
    assert ["created_by_id"] in leads("User")  # no assigned user: the creator owns the record


def test_every_index_ends_in_the_default_sort_and_none_repeats() -> None:
    for name in ("Contact", "Account", "Meeting", "Task"):
        entity = load_builtin_registry().entity(name)
        indexes = entity_index_columns(entity)
        assert len({frozenset(cols) for cols in indexes}) == len(indexes)
        assert all(set(SORT_TAIL) <= set(cols) for cols in indexes)
