"""ITFlow API keys: rows of the `api_key` table with protocol `itflow`, good on the ITFlow API only.

ITFlow keeps its keys in plain text and compares them case-insensitively, ignoring trailing spaces (its
column's collation, specs/itflow.md §2 step 7). PolyCRM stores a keyed hash instead, so it issues keys of 32
characters from [a-z0-9] (165 bits) and hashes the lowercased, right-trimmed key: any spelling of a key that
ITFlow would accept matches, and none is lost to entropy.

A key acts as its user, limited to one client (an Account id) or, with client 0, to all. It stops working
at 00:00 of its expiry date in the server's local time zone, as ITFlow's DATE column does.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, false, insert, select

from polycrm.auth.errors import DirectoryError, UnknownName, require_live_user
from polycrm.auth.secrets import KeyRing
from polycrm.auth.trusted import TrustedCredentials
from polycrm.auth.vault_keys import MasterKeys, new_decrypt_password, wrap_for_password
from polycrm.store.database import Database, utcnow

ITFLOW = "itflow"
KEY_ALPHABET = string.ascii_lowercase + string.digits
KEY_LENGTH = 32
# As for PolyCRM's own keys (auth.directory.API_KEY_TTL): a revoked key stops within this time elsewhere.
ITFLOW_KEY_TTL = 2.0


def new_itflow_key() -> str:
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


def normalise_itflow_key(key: str) -> str:
    """The spelling a key is hashed in: what ITFlow's case-insensitive, trailing-space-blind compare sees."""
    return key.rstrip(" ").lower()


@dataclass(frozen=True, slots=True)
class ItflowKey:
    """A live ITFlow key: whose it is, its client (0 = all clients), its name for log texts, and the vault's
    master key wrapped under its decrypt password (core.vault.unlock opens it)."""

    id: int
    user_id: int
    client_id: int
    name: str | None
    vault_key: str


@dataclass(frozen=True, slots=True)
class _Found:
    key: ItflowKey
    expires_on: date | None


class ItflowKeys:
    """Issues and finds ITFlow keys; `UserDirectory` lists and revokes them."""

    def __init__(self, database: Database, keyring: KeyRing, master_keys: MasterKeys):
        self.database = database
        self.keyring = keyring
        self.master_keys = master_keys
        self._live: TrustedCredentials[_Found] = TrustedCredentials(ITFLOW_KEY_TTL)
        keys = database.table("api_key")
        self._statement = select(keys.c.id, keys.c.user_id, keys.c.client_id, keys.c.name, keys.c.vault_key,
                                 keys.c.expires_on).where(
            keys.c.key_hash == bindparam("key_hash"), keys.c.protocol == ITFLOW, keys.c.revoked_at.is_(None))

    def create(self, user_id: int, *, client_id: int, expires_on: date | None,
               name: str | None) -> tuple[int, str, str]:
        """(id, key, decrypt password) of a new key of a live user, for one client (an Account id) or all (0)."""
        if isinstance(client_id, bool) or not isinstance(client_id, int) or client_id < 0:
            raise DirectoryError("The client id must be 0 (all clients) or an account's id.")
        if expires_on is not None and expires_on <= date.today():
            raise DirectoryError("The expiry date must be after today.")
        if name is not None and (len(name) > 100 or "\x00" in name):
            raise DirectoryError("A key's name has at most 100 characters and no NUL.")
        key, password = new_itflow_key(), new_decrypt_password()
        table, accounts = self.database.table("api_key"), self.database.table("account")
        with self.database.transaction() as conn:
            require_live_user(conn, self.database, user_id)
            if client_id and conn.execute(select(accounts.c.id).where(
                    accounts.c.id == client_id, accounts.c.deleted == false())).first() is None:
                raise UnknownName(f"No account (client) with id {client_id}.")
            key_id = conn.execute(insert(table).values(
                user_id=user_id, name=name, key_hash=self.keyring.lookup_hash(key), key_prefix=key[:8],
                created_at=utcnow(), protocol=ITFLOW, client_id=client_id, expires_on=expires_on,
                vault_key=wrap_for_password(self.master_keys.get(conn), password)).returning(table.c.id)).scalar_one()
        return int(key_id), key, password

    def find(self, key: str) -> ItflowKey | None:
        """The live key, matched as ITFlow matches; None if unknown, revoked or expired (from 00:00 local time
        of its expiry date). Found keys are trusted for ITFLOW_KEY_TTL seconds, unknown ones looked up each
        time."""
        found = self._live.get(self.keyring.lookup_hash(normalise_itflow_key(key)), self._load)
        if found is None or (found.expires_on is not None and found.expires_on <= date.today()):
            return None
        return found.key

    def _load(self, key_hash: str) -> _Found | None:
        with self.database.connect() as conn:
            row = conn.execute(self._statement, {"key_hash": key_hash}).first()
        if row is None:
            return None
        return _Found(ItflowKey(int(row.id), int(row.user_id), int(row.client_id or 0), row.name, row.vault_key),
                      row.expires_on)

    def forget(self) -> None:
        """Drop cached keys after a revocation made in this process."""
        self._live.forget()
