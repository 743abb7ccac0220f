"""Credential verifiers for the EspoCRM auth schemes (specs/espocrm.md §1), free of HTTP types.

Each returns the authenticated user's id, or None; callers answer 401 without saying why. Failed password
and token logins are counted by user name and client address; while either is over its budget, passwords
are refused unchecked (LoginThrottled). Tokens and API keys are 128-bit random, so guessing them is hopeless:
a valid one is accepted however many failures there were.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol

from polycrm.auth.directory import UserDirectory


class MalformedCredentials(ValueError):
    """A credentials header that cannot be decoded at all (EspoCRM answers 400 for some of these)."""


class LoginThrottled(Exception):
    """Too many failed logins for the user name or the client address: refused before the password is checked."""

    def __init__(self, reason: str, retry_after: int):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after  # seconds until a login may be checked again


class FailedLogins(Protocol):
    """Counters of failed logins by user name and by client address (kept by the caller: memory or Redis)."""

    def check(self, user_name: str, client: str) -> None:
        """Raise LoginThrottled while the user name or the client has no failures left in its budget."""

    def failed(self, user_name: str, client: str) -> None:
        """Count one failed login against both."""


@dataclass(frozen=True, slots=True)
class Login:
    user_id: int
    token: str | None = None  # issued when logging in with Espo-Authorization


def decode_user_password(encoded: str) -> tuple[str, str]:
    """`base64(user:password)` -> (user, password), split on the first colon. The user name is trimmed as
    EspoCRM trims it; the password is not (EspoCRM trims it too): `"pw "` must not log in as `"pw"`."""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise MalformedCredentials("Auth: Bad authorization string provided.") from exc
    if ":" not in decoded:
        raise MalformedCredentials("Auth: Bad authorization string provided.")
    user, _, password = decoded.partition(":")
    return user.strip(), password


def _digest_matches(received: bytes, secret: str, message: str) -> bool:
    mac = hmac.new(secret.encode(), message.encode(), hashlib.sha256)
    # Current EspoCRM sends the lowercase hex digest; before 8.4.1 it sent the raw 32 bytes.
    return hmac.compare_digest(received, mac.hexdigest().encode()) or hmac.compare_digest(received, mac.digest())


class CredentialVerifier:
    """Verifies API keys, HMAC signatures, passwords and tokens against the user directory."""

    def __init__(self, directory: UserDirectory, failed_logins: FailedLogins | None = None):
        self.directory = directory
        self.failed_logins = failed_logins

    def api_key(self, key: str) -> Login | None:
        found = self.directory.find_api_key(key)
        # A key created for HMAC must sign its requests: the key alone is not enough.
        if found is None or found[1] is not None:
            return None
        return Login(found[0])

    def hmac(self, header: str, method: str, resource_path: str, full_path: str) -> Login | None:
        """`X-Hmac-Authorization: base64(apiKey:digest)` where digest signs `METHOD /path` (path relative to
        /api/v1, without the query). Also accepts the PyPI espocrm-client variant that signs the full path
        with the query: accepting it cannot break conforming clients."""
        try:
            decoded = base64.b64decode(header.strip(), validate=True)
        except (binascii.Error, ValueError):
            return None
        key_part, sep, digest = decoded.partition(b":")
        if not sep:
            return None
        try:
            key = key_part.decode("ascii")
        except UnicodeDecodeError:
            return None
        found = self.directory.find_api_key(key)
        if found is None or found[1] is None:
            return None
        user_id, secret = found
        for message in (f"{method} {resource_path}", f"{method} {full_path}"):
            if _digest_matches(digest, secret, message):
                return Login(user_id)
        return None

    def password_or_token(self, user_name: str, secret: str, *, client: str = "-", token_only: bool = False,
                          issue_token: bool = False) -> Login | None:
        """EspoCRM tries the secret as an auth token first, then as a password. `client` is the caller's
        address, for counting failures; raises LoginThrottled instead of checking a password while the user
        name or the client is over its budget of failures."""
        token_user = self.directory.find_token(secret) if secret else None
        if token_user is not None:
            actor = self.directory.actor(token_user)
            if actor is not None and actor.user_name == user_name:
                return Login(token_user, secret)
            return self._failed(user_name, client)
        if token_only:
            return self._failed(user_name, client)
        user_id = self.password(user_name, secret, client=client)
        if user_id is None:
            return None
        return Login(user_id, self.directory.create_token(user_id) if issue_token else None)

    def password(self, user_name: str, password: str, *, client: str = "-") -> int | None:
        """The id of the user whose password this is, or None, counted as a failed login: every check of a
        password (a login, a change of one's own password) spends the same budget of failures, so none of them
        lets a guesser go faster. Raises LoginThrottled while the user name or the client is over it."""
        if self.failed_logins is not None:
            self.failed_logins.check(user_name, client)
        # No password is empty (they have 8 characters at least): nothing to hash.
        user_id = self.directory.verify_password(user_name, password) if password else None
        if user_id is None:
            return self._failed(user_name, client)
        return user_id

    def _failed(self, user_name: str, client: str) -> None:
        if self.failed_logins is not None:
            self.failed_logins.failed(user_name, client)
        return None
