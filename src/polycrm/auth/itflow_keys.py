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

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection

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
    """Issues and finds ITFlow keys; `UserDirectory` checks the request and lists and revokes them."""

    def __init__(self, database: Database, keyring: KeyRing, master_keys: MasterKeys):
        self.database = database
        self.keyring = keyring
        self.master_keys = master_keys
        self._live: TrustedCredentials[_Found] = TrustedCredentials(ITFLOW_KEY_TTL)
        keys = database.table("api_key")
        self._statement = select(keys.c.id, keys.c.user_id, keys.c.client_id, keys.c.name, keys.c.vault_key,
                                 keys.c.expires_on).where(
            keys.c.key_hash == bindparam("key_hash"), keys.c.protocol == ITFLOW, keys.c.revoked_at.is_(None))

    def insert(self, conn: Connection, user_id: int, *, client_id: int, expires_on: date | None,
               name: str | None) -> tuple[int, str, str]:
        """(id, key, decrypt password) of a new key, written in `conn`'s transaction."""
        key, password = new_itflow_key(), new_decrypt_password()
        table = self.database.table("api_key")
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
