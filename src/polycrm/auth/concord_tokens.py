"""App CRM (Concord CRM) personal access tokens: rows of the `api_key` table with protocol `concord`, good on
the App CRM API only.

Concord issues Laravel Sanctum tokens (specs/concord.md §9 "§1 Transport and auth"): the plain text is
`{row id}|{40 random [A-Za-z0-9]}{crc32b of those 40, 8 lowercase hex}`, shown once; the row keeps a hash of
the 48 characters after the pipe. PolyCRM issues the same shape and keeps a keyed hash of that part
(auth.secrets.KeyRing), never the token. Sanctum also accepts the part after the pipe alone, and refuses a
token whose id does not name the row its secret matches; so does `ConcordTokens.find`.

A token acts as its user, never expires (Sanctum's default) and carries every ability (`["*"]`). Whether
its user may use the API at all (Concord's `access-api` permission, the User field `apiAccess`) is the
dialect's to answer, with 403: the token is found either way.
"""

from __future__ import annotations

import secrets
import string
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, bindparam, false, insert, select, true, update

from polycrm.auth.errors import DirectoryError, require_live_user
from polycrm.auth.secrets import KeyRing
from polycrm.auth.trusted import TRUSTED_CACHE_SIZE, TrustedCredentials
from polycrm.store.database import Database, utcnow

CONCORD = "concord"
SECRET_ALPHABET = string.ascii_letters + string.digits
RANDOM_LENGTH = 40
# Longer than any token Sanctum issues (48 after the pipe; 40 before Sanctum 3.3): not worth a lookup.
MAX_SECRET_LENGTH = 128
MAX_NAME_LENGTH = 100  # the api_key.name column
# As for PolyCRM's own keys (auth.directory.API_KEY_TTL): a revoked token stops within this time elsewhere.
CONCORD_TOKEN_TTL = 2.0
# Sanctum writes `last_used_at` on every request; PolyCRM at most this often per token and process: a write
# per request would cost more than the request's read, and nobody needs the time to the second.
LAST_USED_INTERVAL = timedelta(minutes=1)


def new_token_secret() -> str:
    """The part of a token after the pipe: 40 random letters and digits, then their CRC32 (which lets secret
    scanners recognise a token; Sanctum does not check it, nor does PolyCRM)."""
    random = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(RANDOM_LENGTH))
    return random + format(zlib.crc32(random.encode()), "08x")


def split_token(plain: str) -> tuple[int | None, str] | None:
    """(row id or None, secret) of a token as a client sent it, read as Sanctum reads it: split at the first
    pipe, or all secret without one; None when it cannot be a token."""
    if "|" not in plain:
        return (None, plain) if 0 < len(plain) <= MAX_SECRET_LENGTH else None
    id_text, _, secret = plain.partition("|")
    if not (id_text.isascii() and id_text.isdigit() and len(id_text) <= 18 and 0 < len(secret) <= MAX_SECRET_LENGTH):
        return None
    return int(id_text), secret


def check_token_name(name: object) -> str:
    """A token's name: what Concord requires (a non-empty string), within the column PolyCRM keeps it in."""
    if not isinstance(name, str) or not name.strip():
        raise DirectoryError("A token's name is required.")
    if len(name) > MAX_NAME_LENGTH or "\x00" in name:
        raise DirectoryError(f"A token's name has at most {MAX_NAME_LENGTH} characters and no NUL.")
    return name


@dataclass(frozen=True, slots=True)
class ConcordTokenInfo:
    """A token's row, as Concord's `/api/personal-access-tokens` shows it (tokenable_type is the dialect's)."""

    id: int
    user_id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None

    @property
    def abilities(self) -> list[str]:
        return ["*"]

    @property
    def expires_at(self) -> datetime | None:
        return None

    @property
    def updated_at(self) -> datetime:
        """Laravel touches `updated_at` whenever Sanctum records a use."""
        return self.last_used_at or self.created_at


@dataclass(frozen=True, slots=True)
class ConcordToken:
    """A live token a client sent: its row and whether its user has API access (the dialect answers 403
    without), both as this process last read them (at most `CONCORD_TOKEN_TTL` seconds ago; `last_used_at`
    may lag a minute behind, see `LAST_USED_INTERVAL`)."""

    info: ConcordTokenInfo
    api_access: bool

    @property
    def id(self) -> int:
        return self.info.id

    @property
    def user_id(self) -> int:
        return self.info.user_id


@dataclass(frozen=True, slots=True)
class IssuedConcordToken:
    """Returned exactly once at creation: the plain token (`plainTextToken`); only a hash of it is stored."""

    info: ConcordTokenInfo
    plain_text: str


def _columns(keys: Table) -> tuple[Any, ...]:
    return keys.c.id, keys.c.user_id, keys.c.name, keys.c.created_at, keys.c.last_used_at


def _live_rows(keys: Table) -> Any:
    """A table's own condition: mixing columns of an older Table object (before a custom field changed the
    schema) into a statement makes SQLAlchemy select FROM the table twice."""
    return and_(keys.c.protocol == CONCORD, keys.c.revoked_at.is_(None))


class ConcordTokens:
    """Issues, finds, lists and revokes App CRM tokens; `UserDirectory` offers them."""

    def __init__(self, database: Database, keyring: KeyRing):
        self.database = database
        self.keyring = keyring
        self._live: TrustedCredentials[ConcordToken] = TrustedCredentials(CONCORD_TOKEN_TTL)
        self._last_written: dict[int, datetime] = {}  # token id -> last use this process wrote
        keys, users = database.table("api_key"), database.table(database.registry.entity("User").table)
        # Checked on every request: built once (see polycrm.store.statements for why).
        self._find_statement = select(*_columns(keys), users.c.api_access).join(users, users.c.id == keys.c.user_id)\
            .where(keys.c.key_hash == bindparam("key_hash"), _live_rows(keys), users.c.is_active == true(),
                   users.c.deleted == false())
        self._touch_statement = update(keys).where(keys.c.id == bindparam("token_id"))\
            .values(last_used_at=bindparam("now"))

    def create(self, user_id: int, name: str) -> IssuedConcordToken:
        """A new token of a live user (active or not), written in a transaction of its own."""
        check_token_name(name)
        keys = self.database.table("api_key")
        secret, now = new_token_secret(), utcnow()
        with self.database.transaction() as conn:
            require_live_user(conn, self.database, user_id)
            token_id = int(conn.execute(insert(keys).values(
                user_id=user_id, name=name, key_hash=self.keyring.lookup_hash(secret), key_prefix=secret[:8],
                created_at=now, protocol=CONCORD).returning(keys.c.id)).scalar_one())
        return IssuedConcordToken(ConcordTokenInfo(token_id, user_id, name, now, None), f"{token_id}|{secret}")

    def find(self, plain: str) -> ConcordToken | None:
        """The live token a client sent (`id|secret`, or the secret alone); None if it is none, revoked, its
        id names another row, or its user is inactive or deleted. Found tokens are trusted for
        `CONCORD_TOKEN_TTL` seconds (auth.trusted), and their use recorded at most once a minute."""
        parts = split_token(plain)
        if parts is None:
            return None
        token_id, secret = parts
        token = self._live.get(self.keyring.lookup_hash(secret), self._load)
        if token is None or (token_id is not None and token_id != token.id):
            return None
        self._record_use(token)
        return token

    def _load(self, key_hash: str) -> ConcordToken | None:
        with self.database.connect() as conn:
            row = conn.execute(self._find_statement, {"key_hash": key_hash}).first()
        if row is None:
            return None
        return ConcordToken(ConcordTokenInfo(int(row.id), int(row.user_id), row.name, row.created_at,
                                             row.last_used_at), bool(row.api_access))

    def _record_use(self, token: ConcordToken) -> None:
        now = utcnow()
        last = max(filter(None, (self._last_written.get(token.id), token.info.last_used_at)), default=None)
        if last is not None and now - last < LAST_USED_INTERVAL:
            return
        with self.database.transaction() as conn:
            conn.execute(self._touch_statement, {"token_id": token.id, "now": now})
        if len(self._last_written) >= TRUSTED_CACHE_SIZE:
            self._last_written.clear()
        self._last_written[token.id] = now

    def live(self, user_id: int | None) -> list[ConcordTokenInfo]:
        """Live (unrevoked) tokens of a user, or of every user with None, oldest first."""
        keys = self.database.table("api_key")  # as the schema is now: a schema change builds new tables
        query = select(*_columns(keys)).where(_live_rows(keys)).order_by(keys.c.id)
        if user_id is not None:
            query = query.where(keys.c.user_id == user_id)
        with self.database.connect() as conn:
            rows = conn.execute(query).all()
        return [ConcordTokenInfo(int(r.id), int(r.user_id), r.name, r.created_at, r.last_used_at) for r in rows]

    def revoke(self, token_id: int, *, owner_id: int | None) -> bool:
        """Revoke a live token; with `owner_id`, only one of that user's (another's is left alone and reported
        as not found, so nobody learns whether it exists). Refused at once in this process, within
        `CONCORD_TOKEN_TTL` in others."""
        keys = self.database.table("api_key")
        condition = and_(keys.c.id == token_id, _live_rows(keys))
        if owner_id is not None:
            condition = and_(condition, keys.c.user_id == owner_id)
        with self.database.transaction() as conn:
            revoked = conn.execute(update(keys).where(condition).values(revoked_at=utcnow())).rowcount
        self.forget()
        return bool(revoked)

    def forget(self) -> None:
        """Drop cached tokens after a revocation made in this process (by any path)."""
        self._live.forget()
