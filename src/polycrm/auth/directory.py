"""Users, roles (their administration: auth/roles.py), API keys and auth tokens in the store, and the `Actor` each
credential resolves to."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from time import monotonic
from typing import Any

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, bindparam, delete, false, insert, or_, select, update
from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor, everyone_reads, merge_roles
from polycrm.auth.concord_tokens import ConcordToken, ConcordTokenInfo, ConcordTokens, IssuedConcordToken
from polycrm.auth.errors import DirectoryError, NameTaken, UnknownName
from polycrm.auth.itflow_keys import ItflowKey, ItflowKeys
from polycrm.auth.roles import RoleAdministration
from polycrm.auth.secrets import KeyRing, new_api_key
from polycrm.auth.trusted import TrustedCredentials
from polycrm.auth.user_emails import UserEmails, check_email
from polycrm.auth.vault_keys import MasterKeys
from polycrm.meta.fieldtypes import MAX_EMAIL_LENGTH
from polycrm.store.database import Database, utcnow
from polycrm.store.records import RecordRepository

USER_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@\-]{1,50}$")
USER_TYPES = ("regular", "admin", "api")
ACTOR_TTL = 5.0
# How long a process trusts an API key it found live (auth.trusted); a key revoked by another process stops
# working within this time (at once in the process that revoked it). Expiry is checked on every request.
API_KEY_TTL = 2.0
# A token's last use is written at most this often: a write per request would cost more than the read, and
# the idle limit is hours long.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
_PASSWORDS = PasswordHasher()
# A fixed hash to verify against when the user does not exist, so timing does not reveal user names; made at
# the first login rather than at import, which every command of the CLI paid for.
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _PASSWORDS.hash("polycrm-timing-equaliser")
    return _DUMMY_HASH


def load_actor(database: Database, user_id: int, users: RecordRepository | None = None) -> Actor | None:
    """The actor of an active user, read from the store (uncached: `UserDirectory.actor` caches); None if the
    user is inactive or gone."""
    users = users or RecordRepository(database, database.registry.entity("User"))
    table = users.table
    with database.connect() as conn:
        row = conn.execute(select(table.c.id, table.c.user_name, table.c.type, table.c.is_active)
                           .where(table.c.id == user_id, table.c.deleted == false())).first()
        if row is None or not row.is_active:
            return None
        teams = users.related_ids(conn, database.registry.entity("User").links["teams"], [user_id])
        role, role_user = database.table("role"), database.table("role_user")
        roles = conn.execute(select(role.c.scopes, role.c.mass_update).join(
            role_user, role_user.c.role_id == role.c.id).where(role_user.c.user_id == user_id)).all()
    return Actor(user_id=int(row.id), user_name=row.user_name, is_admin=row.type == "admin",
                 user_type=row.type, team_ids=frozenset(teams.get(user_id, [])),
                 scopes=merge_roles([everyone_reads(database.registry.entities.values()),
                                     *(orjson.loads(r.scopes) for r in roles)]),
                 mass_update=any(r.mass_update for r in roles))


MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 150  # EspoCRM's password field's maxLength


def check_password(password: Any) -> str:
    """A password PolyCRM accepts: text of 8..150 characters, no NUL."""
    if not isinstance(password, str):
        raise DirectoryError("Password must be a string.")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise DirectoryError(f"Password must have {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.")
    if "\x00" in password:
        raise DirectoryError("Password must not contain NUL characters.")
    return password


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    user_name: str
    type: str
    is_active: bool
    has_password: bool
    roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TokenLifetime:
    """How long an auth token (EspoCRM's Espo-Authorization flow) stays valid.

    `max_idle` is EspoCRM's authTokenMaxIdleTime (48 hours there too): a token unused that long is dead.
    `lifetime` bounds a token however much it is used. A user keeps at most `per_user` tokens: a client that
    logs in with its password on every request makes a token each time, and the least recently used go."""

    max_idle: timedelta = timedelta(hours=48)
    lifetime: timedelta = timedelta(days=30)
    per_user: int = 20


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    id: int
    user_id: int
    user_name: str
    name: str | None
    prefix: str
    hmac: bool
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    protocol: str | None = None  # None: PolyCRM's own APIs; "itflow": the ITFlow API only
    client_id: int | None = None  # an ITFlow key's client (Account id), 0 for all
    expires_on: date | None = None  # an ITFlow key's expiry date


@dataclass(frozen=True, slots=True)
class _LiveKey:
    user_id: int
    hmac_secret: str | None
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """Returned exactly once at creation: the plain key (and HMAC secret); only hashes are stored."""

    info: ApiKeyInfo
    key: str
    hmac_secret: str | None


@dataclass(frozen=True, slots=True)
class IssuedItflowKey:
    """Returned exactly once at creation: the plain key and its credential decrypt password, neither stored."""

    info: ApiKeyInfo
    key: str
    decrypt_password: str


class UserDirectory(RoleAdministration):
    """Reads and writes identities. Knows the store, not HTTP."""

    def __init__(self, database: Database, keyring: KeyRing, tokens: TokenLifetime = TokenLifetime()):
        self.database = database
        self.keyring = keyring
        self.tokens = tokens
        self.users = RecordRepository(database, database.registry.entity("User"))
        self._actors: dict[int, tuple[float, Actor | None]] = {}
        self._live_keys: TrustedCredentials[_LiveKey] = TrustedCredentials(API_KEY_TTL)
        self.master_keys = MasterKeys(database, keyring)
        self.itflow_keys = ItflowKeys(database, keyring, self.master_keys)
        self.concord_tokens = ConcordTokens(database, keyring)
        self.emails = UserEmails(database, self.users)
        # Checked on every request: built once (see polycrm.store.statements for why).
        keys = database.table("api_key")
        self._live_key_statement = select(keys.c.user_id, keys.c.hmac_secret, keys.c.expires_at).where(
            keys.c.key_hash == bindparam("key_hash"), keys.c.revoked_at.is_(None), keys.c.protocol.is_(None),
            or_(keys.c.expires_at.is_(None), keys.c.expires_at > bindparam("now")))

    # --- users ------------------------------------------------------------------------------------

    def create_user(self, user_name: str, password: str | None, *, user_type: str = "regular",
                    first_name: str | None = None, last_name: str | None = None,
                    team_ids: list[int] | None = None, email: str | None = None, api_access: bool = True) -> int:
        """A new active user; `email` (unique among users, ignoring case) is their login on the App CRM API,
        which refuses them (403) without `api_access`."""
        if not USER_NAME_PATTERN.match(user_name or ""):
            raise DirectoryError("User name must be 1-50 letters, digits or _ . @ -.")
        if user_type not in USER_TYPES:
            raise DirectoryError(f"User type must be one of {', '.join(USER_TYPES)}.")
        if password is not None:
            check_password(password)
        email = None if email is None else check_email(email)
        table = self.users.table
        now = utcnow()
        last = last_name or user_name
        with self.database.transaction() as conn:
            taken = conn.execute(select(table.c.id).where(table.c.user_name == user_name,
                                                          table.c.deleted == false())).first()
            if taken:
                raise NameTaken(f"User '{user_name}' already exists.")
            if email is not None and self.emails.taken(conn, email):
                raise NameTaken(f"Email {email} is already used by another user.")
            user_id = self.users.insert(conn, {
                "userName": user_name, "type": user_type, "isActive": True, "apiAccess": api_access,
                "emailAddress": email, "firstName": first_name, "lastName": last,
                "name": " ".join(p for p in (first_name, last) if p), "createdAt": now, "modifiedAt": now,
                "versionNumber": 1})
            if email is not None:
                self.emails.add(conn, user_id, email)
            if password is not None:
                conn.execute(update(table).where(table.c.id == user_id)
                             .values(password_hash=_PASSWORDS.hash(password)))
            if team_ids:
                self.users.add_links(conn, self.database.registry.entity("User").links["teams"], user_id, team_ids)
        return user_id

    def has_users(self) -> bool:
        with self.database.connect() as conn:
            return conn.execute(select(self.users.table.c.id).limit(1)).first() is not None

    def user_id(self, user_name: str) -> int:
        table = self.users.table
        with self.database.connect() as conn:
            found = conn.execute(select(table.c.id).where(table.c.user_name == user_name,
                                                          table.c.deleted == false())).scalar()
        if found is None:
            raise UnknownName(f"No user '{user_name}'.")
        return int(found)

    def list_users(self) -> list[UserInfo]:
        table, role, role_user = self.users.table, self.database.table("role"), self.database.table("role_user")
        with self.database.connect() as conn:
            rows = conn.execute(select(table.c.id, table.c.user_name, table.c.type, table.c.is_active,
                                       table.c.password_hash.is_not(None).label("has_password"))
                                .where(table.c.deleted == false()).order_by(table.c.user_name)).all()
            roles: dict[int, list[str]] = {}
            for user_id, name in conn.execute(select(role_user.c.user_id, role.c.name).join(
                    role, role.c.id == role_user.c.role_id).order_by(role.c.name)):
                roles.setdefault(int(user_id), []).append(name)
        return [UserInfo(int(r.id), r.user_name, r.type, bool(r.is_active), bool(r.has_password),
                         tuple(roles.get(int(r.id), ()))) for r in rows]

    def roles_of(self, user_id: int) -> dict[int, str]:
        """A user's roles, id -> name, by name."""
        role, role_user = self.database.table("role"), self.database.table("role_user")
        with self.database.connect() as conn:
            rows = conn.execute(select(role.c.id, role.c.name).join(role_user, role_user.c.role_id == role.c.id)
                                .where(role_user.c.user_id == user_id).order_by(role.c.name)).all()
        return {int(row.id): row.name for row in rows}

    def actor(self, user_id: int) -> Actor | None:
        """The actor for an active user, with teams and merged role levels; None if inactive or gone.

        Cached for `ACTOR_TTL` seconds: a change of roles, teams or activity made by another process applies
        within that time (API keys are trusted for `API_KEY_TTL`, passwords and tokens checked every time)."""
        now = monotonic()
        cached = self._actors.get(user_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        actor = load_actor(self.database, user_id, self.users)
        self._actors[user_id] = (now + ACTOR_TTL, actor)
        return actor

    def forget_actors(self) -> None:
        """Drop cached actors after a change of roles or teams made through this directory."""
        self._actors.clear()

    def verify_password(self, user_name: str, password: str) -> int | None:
        """The user id when the password matches an active, non-API user; constant work otherwise."""
        table = self.users.table
        row = None
        if "\x00" not in user_name:  # PostgreSQL refuses NUL in text, so no user name has one
            with self.database.connect() as conn:
                row = conn.execute(select(table.c.id, table.c.password_hash, table.c.type, table.c.is_active)
                                   .where(table.c.user_name == user_name, table.c.deleted == false())).first()
        return self._password_matches(row, password)

    def verify_email_password(self, email: str, password: str) -> int | None:
        """`verify_password` for the active user whose email it is (auth.user_emails), as the App CRM API
        logs in."""
        found = self.emails.active_users(email)
        return self._password_matches(found[0] if len(found) == 1 else None, password)

    @staticmethod
    def _password_matches(row: Any, password: str) -> int | None:
        """The user id of `row` (id, password_hash, type, is_active) when the password is theirs and they may
        log in with one; a hash is verified even without a row, so timing does not reveal who exists."""
        stored = row.password_hash if row is not None and row.password_hash else _dummy_hash()
        try:
            _PASSWORDS.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or not row.password_hash or not row.is_active or row.type == "api":
            return None
        return int(row.id)

    def user_id_by_email(self, email: str) -> int | None:
        """The active user whose email it is, ignoring case; None if nobody's, or several users' (see
        auth.user_emails)."""
        found = self.emails.active_users(email)
        return int(found[0].id) if len(found) == 1 else None

    def email_in_use(self, email: str, *, excluding: int | None = None) -> bool:
        """Whether a user other than `excluding` has the address (auth.user_emails: in any position, whatever
        its case): a user's email names one user."""
        if len(email) > MAX_EMAIL_LENGTH or "\x00" in email:
            return False
        with self.database.connect() as conn:
            return self.emails.taken(conn, email.strip(), excluding=excluding)

    def set_password(self, user_id: int, password: str) -> None:
        with self.database.transaction() as conn:
            self.store_password(conn, user_id, password)

    def store_password(self, conn: Connection, user_id: int, password: str) -> None:
        """Set a user's password in the caller's transaction. API users have none: they use API keys."""
        check_password(password)
        table = self.users.table
        user_type = conn.execute(select(table.c.type).where(table.c.id == user_id, table.c.deleted == false())
                                 ).scalar()
        if user_type is None:
            raise UnknownName(f"No user with id {user_id}.")
        if user_type == "api":
            raise DirectoryError("API users have no password: they authenticate with API keys.")
        conn.execute(update(table).where(table.c.id == user_id).values(password_hash=_PASSWORDS.hash(password)))

    # --- API keys ---------------------------------------------------------------------------------

    def create_api_key(self, user_id: int, *, name: str | None = None, expires_at: datetime | None = None,
                       with_hmac: bool = False) -> IssuedApiKey:
        key = new_api_key()
        secret = secrets.token_hex(16) if with_hmac else None
        table = self.database.table("api_key")
        with self.database.transaction() as conn:
            key_id = conn.execute(insert(table).values(
                user_id=user_id, name=name, key_hash=self.keyring.lookup_hash(key), key_prefix=key[:8],
                hmac_secret=self.keyring.encrypt(secret) if secret else None, created_at=utcnow(),
                expires_at=expires_at).returning(table.c.id)).scalar_one()
        info = next(k for k in self.list_api_keys() if k.id == key_id)
        return IssuedApiKey(info, key, secret)

    def list_api_keys(self) -> list[ApiKeyInfo]:
        table, users = self.database.table("api_key"), self.users.table
        with self.database.connect() as conn:
            rows = conn.execute(select(table, users.c.user_name).join(users, users.c.id == table.c.user_id)
                                .order_by(table.c.id)).all()
        return [ApiKeyInfo(r.id, r.user_id, r.user_name, r.name, r.key_prefix, r.hmac_secret is not None,
                           r.created_at, r.expires_at, r.revoked_at, r.last_used_at, r.protocol, r.client_id,
                           r.expires_on) for r in rows]

    def revoke_api_key(self, key_id: int) -> bool:
        table = self.database.table("api_key")
        with self.database.transaction() as conn:
            result = conn.execute(update(table).where(table.c.id == key_id, table.c.revoked_at.is_(None))
                                  .values(revoked_at=utcnow()))
        self._live_keys.forget()
        self.itflow_keys.forget()
        self.concord_tokens.forget()
        return bool(result.rowcount)

    def create_itflow_key(self, user_id: int, *, client_id: int = 0, expires_on: date | None = None,
                          name: str | None = None) -> IssuedItflowKey:
        """A key for the ITFlow API acting as the user, limited to one client (an Account id; 0 = all),
        refused from 00:00 local time of `expires_on`; with its credential decrypt password."""
        key_id, key, password = self.itflow_keys.create(user_id, client_id=client_id, expires_on=expires_on,
                                                        name=name)
        info = next(k for k in self.list_api_keys() if k.id == key_id)
        return IssuedItflowKey(info, key, password)

    def find_itflow_key(self, key: str) -> ItflowKey | None:
        """The live ITFlow key a client sent (auth.itflow_keys.ItflowKeys.find); None if it is not one."""
        return self.itflow_keys.find(key)

    def create_concord_token(self, user_id: int, name: str) -> IssuedConcordToken:
        """A personal access token for the App CRM API acting as the user (auth.concord_tokens)."""
        return self.concord_tokens.create(user_id, name)

    def find_concord_token(self, plain: str) -> ConcordToken | None:
        """The live App CRM token a client sent; None if none, revoked, or its user inactive or deleted."""
        return self.concord_tokens.find(plain)

    def list_concord_tokens(self, user_id: int | None) -> list[ConcordTokenInfo]:
        """A user's live App CRM tokens (every user's with None), oldest first."""
        return self.concord_tokens.live(user_id)

    def revoke_concord_token(self, token_id: int, *, owner_id: int | None) -> bool:
        """Revoke an App CRM token; with `owner_id` only that user's (None: anyone's, for administrators)."""
        return self.concord_tokens.revoke(token_id, owner_id=owner_id)

    def find_api_key(self, key: str) -> tuple[int, str | None] | None:
        """(user id, HMAC secret or None) for a live key of PolyCRM's own APIs (never an ITFlow key); None if
        unknown, revoked or expired.

        A key found live is trusted for `API_KEY_TTL` seconds (auth.trusted says why); its expiry is checked
        every time."""
        now = utcnow()
        live = self._live_keys.get(self.keyring.lookup_hash(key), lambda key_hash: self._load_key(key_hash, now))
        if live is None or (live.expires_at is not None and live.expires_at <= now):
            return None
        return live.user_id, live.hmac_secret

    def _load_key(self, key_hash: str, now: datetime) -> _LiveKey | None:
        with self.database.connect() as conn:
            row = conn.execute(self._live_key_statement, {"key_hash": key_hash, "now": now}).first()
        if row is None:
            return None
        return _LiveKey(int(row.user_id), self.keyring.decrypt(row.hmac_secret) if row.hmac_secret else None,
                        row.expires_at)

    # --- auth tokens (EspoCRM's Espo-Authorization flow) ------------------------------------------

    def _token_expired(self, created_at: datetime, last_access: datetime, now: datetime) -> bool:
        return created_at <= now - self.tokens.lifetime or last_access <= now - self.tokens.max_idle

    def create_token(self, user_id: int) -> str:
        """A new token for the user. Their expired and logged-out tokens are removed, and the least recently
        used beyond `TokenLifetime.per_user`; other users' dead tokens go at their next login, or when used."""
        token = secrets.token_hex(16)
        table = self.database.table("auth_token")
        now = utcnow()
        with self.database.transaction() as conn:
            rows = conn.execute(select(table.c.id, table.c.created_at, table.c.last_access, table.c.is_active)
                                .where(table.c.user_id == user_id)).all()
            expired = self._token_expired
            live = sorted((r for r in rows if r.is_active and not expired(r.created_at, r.last_access, now)),
                          key=lambda r: (r.last_access, r.id), reverse=True)
            keep = {r.id for r in live[:self.tokens.per_user - 1]}  # room for the new one
            # Sorted, so that concurrent logins of one user lock rows in the same order.
            doomed = sorted(r.id for r in rows if r.id not in keep)
            if doomed:
                conn.execute(delete(table).where(table.c.id.in_(doomed)))
            conn.execute(insert(table).values(user_id=user_id, token_hash=self.keyring.lookup_hash(token),
                                              created_at=now, last_access=now, is_active=True))
        return token

    def find_token(self, token: str) -> int | None:
        """The user of a live token; an expired one is removed and refused. Use refreshes the idle limit."""
        table = self.database.table("auth_token")
        now = utcnow()
        with self.database.connect() as conn:
            row = conn.execute(select(table.c.id, table.c.user_id, table.c.created_at, table.c.last_access).where(
                table.c.token_hash == self.keyring.lookup_hash(token), table.c.is_active)).first()
        if row is None:
            return None
        if self._token_expired(row.created_at, row.last_access, now):
            with self.database.transaction() as conn:
                conn.execute(delete(table).where(table.c.id == row.id))
            return None
        if now - row.last_access >= TOKEN_TOUCH_INTERVAL:
            with self.database.transaction() as conn:
                conn.execute(update(table).where(table.c.id == row.id).values(last_access=now))
        return int(row.user_id)

    def destroy_user_tokens(self, user_id: int) -> int:
        """End every login (auth token) of a user, as after a password reset; returns how many."""
        table = self.database.table("auth_token")
        with self.database.transaction() as conn:
            return int(conn.execute(delete(table).where(table.c.user_id == user_id)).rowcount)

    def destroy_token(self, token: str, *, owner_id: int | None) -> bool:
        """Log a token out; with `owner_id`, only a token of that user (another user's is left alone and
        reported as not found, so nobody learns whether it exists)."""
        table = self.database.table("auth_token")
        condition = and_(table.c.token_hash == self.keyring.lookup_hash(token), table.c.is_active)
        if owner_id is not None:
            condition = and_(condition, table.c.user_id == owner_id)
        with self.database.transaction() as conn:
            result = conn.execute(delete(table).where(condition))
        return bool(result.rowcount)
