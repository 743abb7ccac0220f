"""Reading one record in one statement gives exactly what the two-statement read (row, then side data) gives,
junction column values included."""

from __future__ import annotations

from polycrm.auth.acl import Actor
from polycrm.core.service import Core
from tests.conftest import Store

ADMIN = Actor(user_id=1, user_name="admin", is_admin=True)


def test_one_statement_read_matches_row_plus_side_data(store: Store) -> None:
    core = Core(store.database)
    team_ids = core.records("Team").create_many(ADMIN, [{"name": "North"}, {"name": "South"}])
    account_ids = core.records("Account").create_many(ADMIN, [{"name": "Acme"}, {"name": "Globex"}])
    contacts = core.records("Contact")
    full = contacts.create(ADMIN, {
        "firstName": "Ada", "lastName": "Lovelace", "accountsIds": account_ids[::-1], "teamsIds": team_ids,
        "accountsColumns": {account_ids[1]: {"role": "CEO", "isInactive": True}},
        "emailAddressData": [{"emailAddress": "b@example.com", "primary": False},
                             {"emailAddress": "a@example.com", "primary": True, "optOut": True}],
        "phoneNumberData": [{"phoneNumber": "+15550002", "type": "Home", "primary": True},
                            {"phoneNumber": "+15550001", "type": "Mobile", "invalid": True}]})
    bare = contacts.create(ADMIN, {"lastName": "Nobody"})
    repository = contacts.repository
    links = [contacts.entity.links[name] for name in ("accounts", "teams")]
    kinds = [("email", "emailAddress"), ("phone", "phoneNumber")]
    for record_id in (int(full["id"]), int(bare["id"])):
        with store.database.connect() as conn:
            row, side = repository.fetch_with_side_data(conn, record_id, name_links=(), links=links,
                                                        contact_fields=kinds)
            assert row == repository.fetch(conn, record_id)
            assert side == repository.side_data(conn, [record_id], links, kinds)
    assert [p.value for p in side.contact_points["emailAddress"][int(bare["id"])]] == []
    read = contacts.read(ADMIN, full["id"])
    assert read["accountsIds"] == sorted(account_ids) and read["teamsNames"] == {team_ids[0]: "North",
                                                                                  team_ids[1]: "South"}
    assert read["accountsColumns"] == {account_ids[0]: {"role": None, "isInactive": False},
                                       account_ids[1]: {"role": "CEO", "isInactive": True}}
    assert [e["emailAddress"] for e in read["emailAddressData"]] == ["a@example.com", "b@example.com"]
    assert [(p["phoneNumber"], p["invalid"]) for p in read["phoneNumberData"]] == [("+15550002", False),
                                                                                  ("+15550001", True)]
    with store.database.connect() as conn:
        assert repository.fetch_with_side_data(conn, 10**9, name_links=(), links=links, contact_fields=kinds)[0] is None


def test_a_page_reads_its_rows_side_data_in_their_statement(store: Store) -> None:
    from polycrm.query.tree import Compare, Op, Sort

    core = Core(store.database)
    account_ids = core.records("Account").create_many(ADMIN, [{"name": "Initech"}, {"name": "Umbrella"}])
    contacts = core.records("Contact")
    ids = [int(contacts.create(ADMIN, {"lastName": f"Page{n}", "accountsIds": account_ids[:n],
                                       "accountsColumns": {account_ids[0]: {"role": f"R{n}"}} if n else {},
                                       "emailAddressData": [{"emailAddress": f"p{n}{i}@example.com"}
                                                            for i in range(n)]})["id"]) for n in range(3)]
    repository = contacts.repository
    links = [contacts.entity.links["accounts"]]
    kinds = [("email", "emailAddress"), ("phone", "phoneNumber")]
    where = Compare("id", Op.IN, tuple(ids))
    with store.database.connect() as conn:
        rows, side = repository.fetch_rows_with_side_data(conn, where, sorts=[Sort("id", True)], limit=2,
                                                          links=links, contact_fields=kinds)
        assert rows == repository.fetch_rows(conn, where, sorts=[Sort("id", True)], limit=2)
        assert side == repository.side_data(conn, [r["id"] for r in rows], links, kinds)  # the page's rows only
        assert set(side.related["accounts"]) == {ids[1], ids[2]}
        # A link back to the entity's own table is not correlated (the outer row would be ambiguous).
        accounts = core.records("Account").repository
        children = [core.records("Account").entity.links["children"]]
        _, none = accounts.fetch_rows_with_side_data(conn, Compare("id", Op.IN, tuple(account_ids)), links=children)
        assert none is None
