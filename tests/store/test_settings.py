"""Stored settings (store/settings.py), both backends: a first value is stored once, and the caller that
stored it is told so; what the currency settings and the default pipeline's one-time seeding rely on."""

from __future__ import annotations

from polycrm.store.settings import SettingStore


def test_insert_if_missing_stores_a_first_value_once_and_says_whether_it_did(store):
    settings = SettingStore(store.database)
    with store.database.transaction() as conn:
        assert settings.insert_if_missing(conn, "example", {"n": 1}) is True
        assert settings.insert_if_missing(conn, "example", {"n": 2}) is False
    with store.database.connect() as conn:
        assert settings.read(conn, "example") == {"n": 1}
