"""Lookups a create makes in one statement each: the duplicate check's ids per condition, and which linked
ids name live records, across several entities at once."""

from __future__ import annotations

from polycrm.auth.acl import Actor
from polycrm.core.service import Core
from polycrm.query.tree import Compare, Node, Op, conjunction
from polycrm.store.records import existing_ids_among
from tests.conftest import Store

ADMIN = Actor(user_id=1, user_name="admin", is_admin=True)


def test_ids_matching_each_condition_up_to_the_limit_each(store: Store) -> None:
    contacts = Core(store.database).records("Contact")
    ids = contacts.create_many(ADMIN, [{"firstName": "Ada", "lastName": "King"} for _ in range(4)]
                               + [{"lastName": f"Other{i}", "emailAddress": "shared@example.com"} for i in range(3)])
    contacts.delete(ADMIN, ids[0])
    same_name = conjunction_of_name("Ada", "King")
    by_email = Compare("emailAddress", Op.IN, ("SHARED@example.com",))
    with store.database.connect() as conn:
        repository = contacts.repository
        assert repository.ids_matching_each(conn, [same_name, by_email], 5) == set(ids[1:])
        assert len(repository.ids_matching_each(conn, [same_name, by_email], 2)) == 4  # two per condition
        assert repository.ids_matching_each(conn, [by_email], 5) == set(ids[4:])
        assert repository.ids_matching_each(conn, [conjunction_of_name("No", "One")], 5) == set()
        assert repository.ids_matching_each(conn, [], 5) == set()


def test_existing_ids_among_several_entities_in_one_statement(store: Store) -> None:
    core = Core(store.database)
    accounts = core.records("Account")
    account_ids = accounts.create_many(ADMIN, [{"name": "Acme"}, {"name": "Globex"}])
    accounts.delete(ADMIN, account_ids[1])
    teams = core.records("Team")
    (team_id,) = teams.create_many(ADMIN, [{"name": "North"}])
    with store.database.connect() as conn:
        found = existing_ids_among(conn, [(accounts.repository, [account_ids[0], account_ids[1], 999_999]),
                                          (teams.repository, [team_id, 999_999]), (accounts.repository, [])])
        assert found == [{account_ids[0]}, {team_id}, set()]
        assert existing_ids_among(conn, [(teams.repository, [])]) == [set()]
        assert accounts.repository.existing_ids(conn, account_ids) == {account_ids[0]}


def conjunction_of_name(first: str, last: str) -> Node:
    return conjunction([Compare("firstName", Op.EQ, first), Compare("lastName", Op.EQ, last)])
