"""The credential vault: fields of type `secret` (a Credential's username, password and OTP secret) are
encrypted at rest and read back in clear by one path only, `Vault.reveal`, with a master key a client
unlocked (an ITFlow key's decrypt password). Every other path leaves them out: reads, lists, webhook
payloads, the stream (core.assembly drops them), and no filter or sort may name them.

A secret is stored as `v1:` + base64url(nonce, AES-256-GCM ciphertext) under the store's master key
(auth.vault_keys), its associated data binding it to its entity type and attribute, so a ciphertext moved to
another field or entity fails to decrypt instead of showing there.
"""

from __future__ import annotations

import base64
import binascii
import os
from datetime import datetime
from typing import Any, Iterable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Connection

from polycrm.auth.vault_keys import MasterKeys, VaultKey, WrongDecryptPassword as _WrongPassword, unwrap_with_password
from polycrm.core.errors import BadRequest, UnreadableSecret, WrongDecryptPassword
from polycrm.core.values import parse_id
from polycrm.meta import Entity, Registry
from polycrm.meta.fieldtypes import secret_attributes
from polycrm.query.tree import And, Compare, Foreign, Node, Not, Op, Or, Sort
from polycrm.store.database import Database
from polycrm.store.records import RecordRepository

CIPHER_VERSION = "v1:"
_NONCE = 12


def _aad(entity: str, attribute: str) -> bytes:
    return f"polycrm:secret:{entity}.{attribute}".encode()


def encrypt_secret(key: VaultKey, entity: str, attribute: str, plaintext: str) -> str:
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(key.secret).encrypt(nonce, plaintext.encode(), _aad(entity, attribute))
    return CIPHER_VERSION + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_secret(key: VaultKey, entity: str, attribute: str, stored: str) -> str:
    """The clear text of a stored secret; UnreadableSecret if it was altered, moved or is not one."""
    try:
        raw = base64.urlsafe_b64decode(stored.removeprefix(CIPHER_VERSION).encode())
        if not stored.startswith(CIPHER_VERSION) or len(raw) <= _NONCE:
            raise ValueError(stored[:3])
        return AESGCM(key.secret).decrypt(raw[:_NONCE], raw[_NONCE:], _aad(entity, attribute)).decode()
    except (InvalidTag, ValueError, binascii.Error):
        raise UnreadableSecret(f"The stored {entity}.{attribute} cannot be decrypted: it was altered.") from None


def unlock(wrapped: str, decrypt_password: str) -> VaultKey:
    """The master key an ITFlow key holds wrapped (`ItflowKey.vault_key`), opened with the key's decrypt
    password; WrongDecryptPassword if the password is wrong."""
    try:
        return unwrap_with_password(wrapped, decrypt_password)
    except _WrongPassword as exc:
        raise WrongDecryptPassword(str(exc)) from None


def refuse_secret_terms(registry: Registry, entity: Entity, where: Node, sorts: Sequence[Sort] = ()) -> None:
    """BadRequest for a filter or sort naming a secret attribute (its stored value is ciphertext, and a
    condition on it would tell its clear text, one question at a time); conditions on linked records too."""
    names = secret_attributes(entity)
    for sort in sorts:
        if sort.attribute in names:
            raise BadRequest(f"Cannot sort by '{sort.attribute}': it is a secret.")
    _check_node(registry, entity, names, where)


def _check_node(registry: Registry, entity: Entity, names: frozenset[str], node: Node) -> None:
    if isinstance(node, (And, Or)):
        for item in node.items:
            _check_node(registry, entity, names, item)
    elif isinstance(node, Not):
        _check_node(registry, entity, names, node.item)
    elif isinstance(node, Foreign):
        link = entity.links.get(node.link)
        if link is not None and link.entity in registry:
            target = registry.entity(link.entity)
            _check_node(registry, target, secret_attributes(target), node.condition)
    elif isinstance(node, Compare) and node.attribute in names:
        raise BadRequest(f"Cannot filter by '{node.attribute}': it is a secret.")


class SecretFields:
    """Encrypts the secret fields of one entity type's records as they are written."""

    def __init__(self, entity: Entity, master_keys: MasterKeys | None):
        self.entity = entity
        self.master_keys = master_keys
        self.names = secret_attributes(entity)
        # A field stamped whenever the secret changes (Credential `passwordChangedAt`): the secret's `changedAt`.
        self.stamps = {name: entity.fields[name].params["changedAt"] for name in self.names
                       if entity.fields[name].params.get("changedAt")}

    def _key(self, conn: Connection) -> VaultKey:
        if self.master_keys is None:
            raise RuntimeError("no instance secret key: the core was built without a KeyRing")
        return self.master_keys.get(conn)

    def seal_new(self, conn: Connection, values: dict[str, Any], now: datetime) -> None:
        """Encrypt a new record's secrets in place (in `conn`'s write transaction) and stamp them."""
        for name in self.names:
            if values.get(name) is not None:
                values[name] = encrypt_secret(self._key(conn), self.entity.name, name, values[name])
                if name in self.stamps:
                    values[self.stamps[name]] = now

    def seal_changes(self, conn: Connection, current: dict[str, Any], changes: dict[str, Any],
                     now: datetime) -> None:
        """Encrypt the secrets an update sets, in place; one set to its stored clear text is no change."""
        for name in self.names:
            if name not in changes:
                continue
            value, stored = changes[name], current.get(name)
            if value is not None and stored is not None and _opens_to(self._key(conn), self.entity.name, name,
                                                                       stored, value):
                del changes[name]
                continue
            if value is not None:
                changes[name] = encrypt_secret(self._key(conn), self.entity.name, name, value)
            if name in self.stamps and (value, stored) != (None, None):
                changes[self.stamps[name]] = now


def _opens_to(key: VaultKey, entity: str, attribute: str, stored: str, value: str) -> bool:
    try:
        return decrypt_secret(key, entity, attribute, stored) == value
    except UnreadableSecret:
        return False


class Vault:
    """The store's vault: secret fields per entity type, and reading secrets with an unlocked key."""

    def __init__(self, database: Database, master_keys: MasterKeys | None):
        self.database = database
        self.master_keys = master_keys

    def fields(self, entity: Entity) -> SecretFields | None:
        """What encrypts the entity's secrets as they are written; None if it has none."""
        return SecretFields(entity, self.master_keys) if secret_attributes(entity) else None

    def reveal(self, key: VaultKey, entity_name: str, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Copies of `records` (read through a record service, so the caller may read them) with their
        secrets in clear (None where none is stored); UnreadableSecret if one was tampered with. `key` is
        what `unlock` returned."""
        entity = self.database.registry.entity(entity_name)
        records = [dict(record) for record in records]
        names = secret_attributes(entity)
        if not records or not names:
            return records
        ids = [parse_id(record["id"]) for record in records]
        repository = RecordRepository(self.database, entity)
        with self.database.connect() as conn:
            rows = repository.fetch_rows(conn, Compare("id", Op.IN, tuple(i for i in ids if i is not None)),
                                         attributes=["id", *names])
        stored = {row["id"]: row for row in rows}
        for record, record_id in zip(records, ids):
            row = stored.get(record_id, {})
            for name in names:
                value = row.get(name)
                record[name] = None if value is None else decrypt_secret(key, entity.name, name, value)
        return records
