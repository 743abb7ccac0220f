"""The credential vault's master key: one random AES-256 key per store, kept only wrapped.

Two wraps of it exist. The store's own, under the instance's secret key (`KeyRing`, stored as the `vault`
setting), lets the server encrypt credential secrets written through any API and an administrator issue
ITFlow keys. Each ITFlow API key keeps another, under a key derived from that key's decrypt password, which
ITFlow clients send with every credential request (specs/itflow.md §6).

The decrypt password is 32 characters drawn by `secrets` from 64 (192 bits), never chosen by a person, so a
slow password hash would add nothing but a delay to every request: the key-encryption key is HKDF-SHA256 of
the password with a random 16-byte salt, and the wrap AES-256-GCM, whose tag tells a wrong password apart.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import Connection

from polycrm.auth.secrets import KeyRing
from polycrm.store.database import Database
from polycrm.store.settings import SettingStore

VAULT_SETTING = "vault"
WRAP_VERSION = "v1"
_SALT, _NONCE = 16, 12
_WRAP_AAD = b"polycrm:vault:password-wrap"


class WrongDecryptPassword(ValueError):
    """The decrypt password does not open this wrapped master key (or the wrap was altered)."""


@dataclass(frozen=True, slots=True)
class VaultKey:
    """The master key in clear: it encrypts and decrypts credential secrets. Never shown by repr."""

    secret: bytes = field(repr=False)


def new_decrypt_password() -> str:
    """32 URL-safe characters (192 random bits), as ITFlow's randomString(32) is shaped."""
    return secrets.token_urlsafe(24)


def _password_key(password: str, salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_WRAP_AAD).derive(password.encode())


def wrap_for_password(key: VaultKey, password: str) -> str:
    """The master key wrapped under `password`: `v1.` + base64url(salt, nonce, AES-GCM ciphertext)."""
    salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
    sealed = AESGCM(_password_key(password, salt)).encrypt(nonce, key.secret, _WRAP_AAD)
    return f"{WRAP_VERSION}.{base64.urlsafe_b64encode(salt + nonce + sealed).decode()}"


def unwrap_with_password(wrapped: str, password: str) -> VaultKey:
    """The master key from its password wrap; WrongDecryptPassword when the password (or the wrap) is wrong."""
    version, _, body = wrapped.partition(".")
    try:
        raw = base64.urlsafe_b64decode(body.encode())
    except (binascii.Error, ValueError):
        raw = b""
    if version != WRAP_VERSION or len(raw) <= _SALT + _NONCE:
        raise WrongDecryptPassword("The stored key material is not readable.")
    salt, nonce, sealed = raw[:_SALT], raw[_SALT:_SALT + _NONCE], raw[_SALT + _NONCE:]
    try:
        return VaultKey(AESGCM(_password_key(password, salt)).decrypt(nonce, sealed, _WRAP_AAD))
    except InvalidTag:
        raise WrongDecryptPassword("Wrong decrypt password.") from None


class MasterKeys:
    """The store's master key, unwrapped once per process; made at its first use by whichever process comes
    first. It never changes, so a process keeps it."""

    def __init__(self, database: Database, keyring: KeyRing):
        self.settings = SettingStore(database)
        self.keyring = keyring
        self._key: VaultKey | None = None

    def get(self, conn: Connection) -> VaultKey:
        """The master key, read (or made) in `conn`, a write transaction."""
        if self._key is None:
            stored = self.settings.read(conn, VAULT_SETTING)
            if stored is None:
                candidate = base64.b64encode(os.urandom(32)).decode()
                self.settings.insert_if_missing(conn, VAULT_SETTING, {"key": self.keyring.encrypt(candidate)})
                stored = self.settings.read(conn, VAULT_SETTING)
            self._key = VaultKey(base64.b64decode(self.keyring.decrypt(stored["key"])))
        return self._key
