"""App CRM (Concord) personal access tokens through the directory: Sanctum's format, only a keyed hash
stored, found with or without their `id|`, refused when revoked (by their owner or an administrator) or
when their user is inactive or deleted, their use recorded at most once a minute; good on no other API."""

from __future__ import annotations

import re
import zlib
from datetime import timedelta

import pytest
from sqlalchemy import select, update

import polycrm.auth.concord_tokens
from polycrm.auth.concord_tokens import split_token
from polycrm.auth.directory import DirectoryError, UnknownName, UserDirectory
from polycrm.auth.secrets import KeyRing
from polycrm.core.users import set_user_active
from polycrm.store.database import utcnow
from tests.conftest import SECRET

TOKEN = re.compile(r"^(\d+)\|([A-Za-z0-9]{40})([0-9a-f]{8})$")


def test_a_token_has_sanctums_format_and_its_row_concords_fields(directory):
    user_id = directory.create_user("ana", None)
    issued = directory.create_concord_token(user_id, "n8n")
    match = TOKEN.match(issued.plain_text)
    assert match, issued.plain_text
    assert int(match[1]) == issued.info.id and match[3] == format(zlib.crc32(match[2].encode()), "08x")
    info = issued.info
    assert (info.user_id, info.name, info.abilities, info.expires_at, info.last_used_at) == (
        user_id, "n8n", ["*"], None, None)
    assert info.updated_at == info.created_at and abs(info.created_at - utcnow()) < timedelta(seconds=5)
    assert directory.list_concord_tokens(user_id) == [info]
    others = {directory.create_concord_token(user_id, "n8n").plain_text for _ in range(3)}
    assert len(others | {issued.plain_text}) == 4


def test_only_a_keyed_hash_of_the_secret_is_stored(directory, store):
    user_id = directory.create_user("ana", None)
    issued = directory.create_concord_token(user_id, "n8n")
    secret = issued.plain_text.partition("|")[2]
    keys = store.database.table("api_key")
    with store.database.connect() as conn:
        row = conn.execute(select(keys).where(keys.c.id == issued.info.id)).one()._mapping
    assert row["protocol"] == "concord" and row["key_hash"] == KeyRing(SECRET).lookup_hash(secret)
    stored = " ".join(str(value) for value in row.values())
    for plain in (issued.plain_text, secret, secret[:40], secret[8:]):
        assert plain not in stored


def test_found_with_or_without_its_id_and_only_so(directory):
    user_id = directory.create_user("ana", None, api_access=False)
    issued = directory.create_concord_token(user_id, "n8n")
    other = directory.create_concord_token(user_id, "other")
    secret = issued.plain_text.partition("|")[2]
    for sent in (issued.plain_text, secret):
        found = directory.find_concord_token(sent)
        assert found is not None and (found.id, found.user_id, found.info.name) == (issued.info.id, user_id, "n8n")
        # A user without API access keeps their token: the dialect answers 403, the directory finds it.
        assert found.api_access is False
    assert directory.find_concord_token(f"0{issued.info.id}|{secret}").id == issued.info.id  # "01" finds row 1
    for sent in (f"{other.info.id}|{secret}", f"999|{secret}", "999|x", "", "|", f"|{secret}", f"{issued.info.id}|",
                 f"x{issued.info.id}|{secret}", f"-{issued.info.id}|{secret}", f"{issued.info.id} |{secret}",
                 f"{issued.info.id}|{secret}|", f"{issued.info.id}|{secret} ", secret.upper(), secret[:-1],
                 "garbage", "٣|" + secret, "9" * 40 + "|" + secret, "a" * 10_000, "\x00", f"Bearer {secret}"):
        assert directory.find_concord_token(sent) is None, sent


def test_split_token_reads_tokens_as_sanctum_does():
    assert split_token("5|abc") == (5, "abc")
    assert split_token("abc") == (None, "abc")
    assert split_token("5|a|b") == (5, "a|b")  # the first pipe ends the id; the rest is the secret
    assert split_token("|abc") is None and split_token("5|") is None and split_token("") is None


def test_tokens_work_on_the_app_crm_api_only(directory):
    user_id = directory.create_user("ana", None)
    token = directory.create_concord_token(user_id, "n8n").plain_text
    secret = token.partition("|")[2]
    native, itflow = directory.create_api_key(user_id), directory.create_itflow_key(user_id)
    assert directory.find_api_key(secret) is None and directory.find_api_key(token) is None
    assert directory.find_itflow_key(secret) is None
    assert directory.find_concord_token(native.key) is None and directory.find_concord_token(itflow.key) is None
    assert [k.protocol for k in directory.list_api_keys()] == ["concord", None, "itflow"]
    assert [t.name for t in directory.list_concord_tokens(None)] == ["n8n"]


def test_revoked_by_the_owner_or_an_administrator_only(directory):
    ana, bob = directory.create_user("ana", None), directory.create_user("bob", None)
    mine, theirs = directory.create_concord_token(ana, "mine"), directory.create_concord_token(bob, "theirs")
    assert directory.find_concord_token(mine.plain_text) is not None  # cached from now on
    assert not directory.revoke_concord_token(theirs.info.id, owner_id=ana)  # another user's: "not found"
    assert directory.find_concord_token(theirs.plain_text) is not None
    assert directory.revoke_concord_token(mine.info.id, owner_id=ana)
    assert directory.find_concord_token(mine.plain_text) is None  # at once in this process
    assert not directory.revoke_concord_token(mine.info.id, owner_id=ana)  # already revoked
    assert directory.revoke_concord_token(theirs.info.id, owner_id=None)  # an administrator, the CLI
    assert directory.find_concord_token(theirs.plain_text) is None
    assert directory.list_concord_tokens(ana) == [] and directory.list_concord_tokens(None) == []
    assert not directory.revoke_concord_token(999, owner_id=None)
    # `polycrm apikey revoke` covers them too (one table), and PolyCRM's own keys are no tokens.
    again = directory.create_concord_token(ana, "again")
    assert directory.find_concord_token(again.plain_text) is not None
    assert directory.revoke_api_key(again.info.id) and directory.find_concord_token(again.plain_text) is None
    key = directory.create_api_key(ana)
    assert not directory.revoke_concord_token(key.info.id, owner_id=None)
    assert directory.find_api_key(key.key) is not None


def test_another_process_refuses_a_revoked_token_within_the_ttl(directory, store, pass_key_trust):
    user_id = directory.create_user("ana", None)
    issued = directory.create_concord_token(user_id, "n8n")
    server = UserDirectory(store.database, KeyRing(SECRET))
    assert server.find_concord_token(issued.plain_text) is not None
    assert directory.revoke_concord_token(issued.info.id, owner_id=user_id)
    assert server.find_concord_token(issued.plain_text) is not None  # trusted a little longer
    assert polycrm.auth.concord_tokens.CONCORD_TOKEN_TTL <= polycrm.auth.directory.API_KEY_TTL
    pass_key_trust()
    assert server.find_concord_token(issued.plain_text) is None


def test_inactive_and_deleted_users_tokens_are_refused(harness, api):
    directory = harness.directory
    ana = directory.create_user("ana", None)
    issued = directory.create_concord_token(ana, "n8n")
    set_user_active(directory.database, "ana", False)
    directory.concord_tokens.forget()  # as another process sees it after the TTL
    assert directory.find_concord_token(issued.plain_text) is None
    issued_inactive = directory.create_concord_token(ana, "while inactive")  # issued, refused until active
    assert directory.find_concord_token(issued_inactive.plain_text) is None
    set_user_active(directory.database, "ana", True)
    assert directory.find_concord_token(issued.plain_text) is not None
    assert directory.find_concord_token(issued_inactive.plain_text) is not None
    assert api.delete(f"/api/v1/User/{ana}").status_code == 200
    directory.concord_tokens.forget()
    assert directory.find_concord_token(issued.plain_text) is None
    with pytest.raises(UnknownName, match="No user with id"):
        directory.create_concord_token(ana, "n8n")


def test_use_is_recorded_at_most_once_a_minute(directory, store, monkeypatch):
    user_id = directory.create_user("ana", None)
    issued = directory.create_concord_token(user_id, "n8n")
    keys = store.database.table("api_key")

    def last_used():
        with store.database.connect() as conn:
            return conn.execute(select(keys.c.last_used_at).where(keys.c.id == issued.info.id)).scalar()

    now = utcnow()
    monkeypatch.setattr(polycrm.auth.concord_tokens, "utcnow", lambda: now)
    assert directory.find_concord_token(issued.plain_text) is not None and last_used() == now
    listed = directory.list_concord_tokens(user_id)[0]
    assert listed.last_used_at == listed.updated_at == now
    with store.database.transaction() as conn:  # a marker: is it written again?
        conn.execute(update(keys).where(keys.c.id == issued.info.id).values(last_used_at=None))
    later = now + timedelta(seconds=59)
    monkeypatch.setattr(polycrm.auth.concord_tokens, "utcnow", lambda: later)
    directory.concord_tokens.forget()  # even when the row is read again, this process wrote a minute ago
    assert directory.find_concord_token(issued.plain_text) is not None and last_used() is None
    later = now + timedelta(seconds=60)
    monkeypatch.setattr(polycrm.auth.concord_tokens, "utcnow", lambda: later)
    assert directory.find_concord_token(issued.plain_text) is not None and last_used() == later


@pytest.mark.parametrize("name, message", [("", "required"), ("  ", "required"), (None, "required"), (5, "required"),
                                           ("x" * 101, "at most 100"), ("a\x00b", "no NUL")])
def test_bad_requests_for_tokens(directory, name, message):
    user_id = directory.create_user("ana", None)
    with pytest.raises(DirectoryError, match=message):
        directory.create_concord_token(user_id, name)
    with pytest.raises(UnknownName, match="No user with id 999"):
        directory.create_concord_token(999, "n8n")
    assert directory.list_concord_tokens(None) == []

