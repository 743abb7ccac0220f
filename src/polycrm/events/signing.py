"""Webhook signatures: each protocol's own (unchanged, so existing receivers verify as before) and
PolyCRM's, which also covers the delivery id and timestamp so receivers can refuse replays.

All sign the exact bytes sent; receivers must hash the raw body, never a re-serialisation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def _hmac(secret: str, message: bytes) -> hmac.HMAC:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256)


def espo_signature(webhook_id: str, secret: str, body: bytes) -> str:
    """EspoCRM 9 `Signature`: base64(webhookId + ":" + lower-hex HMAC-SHA256(secretKey, body))."""
    return base64.b64encode(f"{webhook_id}:{_hmac(secret, body).hexdigest()}".encode()).decode()


def espo_legacy_signature(webhook_id: str, secret: str, body: bytes) -> str:
    """EspoCRM's legacy `X-Signature`: base64(webhookId + ":" + the raw 32-byte HMAC-SHA256 digest)."""
    return base64.b64encode(webhook_id.encode() + b":" + _hmac(secret, body).digest()).decode()


def inflow_signature(secret: str, body: bytes) -> str:
    """InflowCRM `X-Webhook-Signature`: lower-hex HMAC-SHA256 of the raw body, keyed by the UTF-8 secret."""
    return _hmac(secret, body).hexdigest()


def polycrm_signature(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """`X-PolyCRM-Signature`: "v1=" + hex HMAC-SHA256(secret, timestamp + "." + delivery id + "." + body)."""
    return "v1=" + _hmac(secret, f"{timestamp}.{delivery_id}.".encode() + body).hexdigest()
