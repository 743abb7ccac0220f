"""The follows table (`stream_subscription`): `polycrm init` adds it to a store made before it existed, with
the primary key and the user-led index its reads need."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import Store


def test_init_adds_the_follows_table_to_an_older_store(store: Store) -> None:
    with store.database.transaction() as conn:
        conn.execute(text("DROP TABLE stream_subscription"))
    store.database.sync_schema()
    store.database.sync_schema()  # and again: nothing left to do
    with store.database.connect() as conn:
        inspector = inspect(conn)
        assert [c["name"] for c in inspector.get_columns("stream_subscription")] == [
            "entity_type", "entity_id", "user_id"]
        indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("stream_subscription")}
        assert indexes["ix_stream_subscription_user_id_entity_type_entity_id"] == ["user_id", "entity_type",
                                                                                  "entity_id"]
        key = inspector.get_pk_constraint("stream_subscription")["constrained_columns"]
        assert key == ["entity_type", "entity_id", "user_id"]


def test_a_follow_is_stored_once(store: Store) -> None:
    insert = text("INSERT INTO stream_subscription (entity_type, entity_id, user_id) VALUES ('Account', 1, 2)")
    with store.database.transaction() as conn:
        conn.execute(insert)
    with pytest.raises(IntegrityError):
        with store.database.transaction() as conn:
            conn.execute(insert)
