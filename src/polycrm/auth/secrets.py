"""The instance's secret key: keyed hashes for API keys and tokens, authenticated encryption for secrets
the server must read back (HMAC secrets, webhook secrets).

`POLYCRM_SECRET_KEY` may hold several comma-separated keys: the first encrypts, all decrypt (rotation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def generate_secret_key() -> str:
    return secrets.token_urlsafe(48)


def _derive(key: str, purpose: bytes) -> bytes:
    return hmac.new(key.encode(), purpose, hashlib.sha256).digest()


class KeyRing:
    """Hashing and encryption bound to the instance's secret key(s)."""

    def __init__(self, secret_keys: str):
        keys = [k.strip() for k in secret_keys.split(",") if k.strip()]
        if not keys:
            raise ValueError("POLYCRM_SECRET_KEY is empty")
        self._hash_key = _derive(keys[0], b"polycrm:lookup-hash")
        self._fernet = MultiFernet([Fernet(base64.urlsafe_b64encode(_derive(k, b"polycrm:encryption")))
                                    for k in keys])

    def lookup_hash(self, value: str) -> str:
        """A keyed hash to find a credential by; a database dump alone cannot be used to log in."""
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("secret cannot be decrypted with the configured keys") from exc


def new_api_key() -> str:
    """32 lowercase hex characters, as EspoCRM generates them."""
    return secrets.token_hex(16)
