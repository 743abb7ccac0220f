"""InflowCRM ids: 24 lowercase hex characters (MongoDB ObjectId form), reversibly mapped to canonical ids.

An id is `<8 hex: kind code><16 hex: canonical integer id>`. The kind code is the first four bytes of
SHA-256 over the kind's name (an entity type, or a pseudo-kind such as `File`), so every process derives the
same code without shared state, and an id of one entity type is simply not found in another module.
The encoding is not a secret: record access is decided by the ACL, never by the id being hard to guess.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

OBJECT_ID_PATTERN = re.compile(r"^[0-9a-fA-F]{24}$")
MAX_CANONICAL_ID = 2 ** 63 - 1
FILE_KIND = "File"
TENANT_KIND = "Tenant"


class InvalidObjectId(ValueError):
    """The value is not 24 hexadecimal characters."""


@lru_cache(maxsize=256)
def kind_code(kind: str) -> str:
    return hashlib.sha256(f"polycrm:{kind}".encode()).hexdigest()[:8]


def encode_id(kind: str, canonical_id: int) -> str:
    """The wire id of canonical id `canonical_id` of `kind`."""
    return f"{kind_code(kind)}{canonical_id:016x}"


def is_object_id(value: object) -> bool:
    return isinstance(value, str) and OBJECT_ID_PATTERN.match(value) is not None


def split_id(value: object) -> tuple[str, int]:
    """(kind code, canonical id) of a wire id; InvalidObjectId if it is not 24 hex characters."""
    if not is_object_id(value):
        raise InvalidObjectId("Invalid ObjectId format")
    text = str(value).lower()
    return text[:8], int(text[8:], 16)


def decode_id(kind: str, value: object) -> int | None:
    """The canonical id behind a wire id of `kind`; None when it names another kind or no possible record.
    Raises InvalidObjectId for a malformed value."""
    code, canonical = split_id(value)
    if code != kind_code(kind) or not 0 < canonical <= MAX_CANONICAL_ID:
        return None
    return canonical


def decode_any(kinds: list[str] | tuple[str, ...], value: object) -> tuple[str, int] | None:
    """(kind, canonical id) for a wire id of any of `kinds` (polymorphic relations); None if none matches."""
    code, canonical = split_id(value)
    if not 0 < canonical <= MAX_CANONICAL_ID:
        return None
    for kind in kinds:
        if kind_code(kind) == code:
            return kind, canonical
    return None
