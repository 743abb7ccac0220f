"""Follows: which users follow which records (EspoCRM's stream subscriptions), in the table of
`meta.FOLLOWERS_LINK`. Reads go through the record repository like a link's; these are the writes. They
touch no record row: following a record does not change it."""

from __future__ import annotations

from typing import Iterable, Sequence, TypeVar

from sqlalchemy import delete
from sqlalchemy.engine import Connection

from polycrm.meta import FOLLOWERS_LINK
from polycrm.store.database import Database

CHUNK = 1000  # rows or records per statement: well under every database's parameter limit
T = TypeVar("T")


def _chunks(items: Sequence[T]) -> Iterable[Sequence[T]]:
    return (items[start:start + CHUNK] for start in range(0, len(items), CHUNK))


class FollowRepository:
    """Adds and removes follows of one entity type's records, as (record id, user id) pairs."""

    def __init__(self, database: Database, entity_type: str):
        assert FOLLOWERS_LINK.table and FOLLOWERS_LINK.near_column and FOLLOWERS_LINK.far_column
        self.database = database
        self.entity_type = entity_type
        self.table = database.table(FOLLOWERS_LINK.table)
        self._record = self.table.c[FOLLOWERS_LINK.near_column]
        self._user = self.table.c[FOLLOWERS_LINK.far_column]
        self._columns = ("entity_type", self._record.name, self._user.name)
        # Two requests may follow the same record at once: the second finds the row there and leaves it.
        self._insert = database.upsert(self.table).on_conflict_do_nothing()

    def add(self, conn: Connection, pairs: Iterable[tuple[int, int]]) -> None:
        """Follow; a pair that is already there stays as it is (following twice is following)."""
        rows = [dict(zip(self._columns, (self.entity_type, record, user))) for record, user in dict.fromkeys(pairs)]
        for chunk in _chunks(rows):
            conn.execute(self._insert, chunk)

    def add_new(self, conn: Connection, pairs: Sequence[tuple[int, int]]) -> None:
        """Follows of records inserted in this transaction: none can be there yet, so they go in as one bulk
        insert (a mass create's thousands of records pay for one statement)."""
        rows = [(self.entity_type, record, user) for record, user in pairs]
        self.database.bulk_insert(self.table, self._columns).execute(conn, rows)

    def remove(self, conn: Connection, record_ids: Sequence[int], user_ids: Sequence[int]) -> None:
        """Unfollow: the users stop following the records (pairs that are not there are no error)."""
        if not user_ids:
            return
        for chunk in _chunks(list(record_ids)):
            conn.execute(delete(self.table).where(self.table.c.entity_type == self.entity_type,
                                                  self._record.in_(chunk), self._user.in_(list(user_ids))))
