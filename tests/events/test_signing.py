"""Signatures, checked against independent implementations written here (hashlib/hmac/base64 only), and
against the published InflowCRM example."""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson
from hypothesis import given, strategies as st

from polycrm.events.signing import espo_legacy_signature, espo_signature, inflow_signature, polycrm_signature

SECRET = "0123456789abcdef0123456789abcdef"


def test_espo_signature_is_base64_of_id_colon_hex_digest():
    body = b'[{"id":"42","name":"Acme"}]'
    expected_hex = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert espo_signature("7", SECRET, body) == base64.b64encode(f"7:{expected_hex}".encode()).decode()


def test_espo_legacy_signature_carries_the_raw_digest():
    body = b'[{"id":"42"}]'
    decoded = base64.b64decode(espo_legacy_signature("7", SECRET, body))
    webhook_id, digest = decoded.split(b":", 1)
    assert webhook_id == b"7" and len(digest) == 32
    assert hmac.compare_digest(digest, hmac.new(SECRET.encode(), body, hashlib.sha256).digest())


def test_inflow_signature_matches_the_documented_node_example():
    # crypto.createHmac('sha256', secret).update(payload).digest('hex') from specs/inflowcrm.md §11.4
    payload = '{"event":"created","module":"customer","data":{"name":"Test"}}'
    secret = "a-client-secret-of-at-least-32-chars!!"
    signature = inflow_signature(secret, payload.encode())
    assert signature == hmac.new(secret.encode("utf-8"), payload.encode(), hashlib.sha256).hexdigest()
    assert len(signature) == 64 and signature == signature.lower() and not signature.startswith("sha256=")


def test_inflow_body_bytes_equal_javascript_json_stringify():
    """Receivers that re-serialise with JSON.stringify get the same bytes: compact, unescaped non-ASCII
    and slashes (the encoder the worker uses for bodies)."""
    body = orjson.dumps({"event": "update", "data": {"name": "Zoë / Ünal", "url": "https://x.example/a"}})
    assert body == '{"event":"update","data":{"name":"Zoë / Ünal","url":"https://x.example/a"}}'.encode()


def test_polycrm_signature_binds_timestamp_and_delivery_id():
    body = b"[]"
    expected = hmac.new(SECRET.encode(), b"1700000000.d-1." + body, hashlib.sha256).hexdigest()
    assert polycrm_signature(SECRET, "d-1", "1700000000", body) == "v1=" + expected
    assert polycrm_signature(SECRET, "d-2", "1700000000", body) != polycrm_signature(SECRET, "d-1", "1700000000",
                                                                                      body)


@given(st.binary(max_size=2000), st.text(min_size=1, max_size=64), st.integers(min_value=1, max_value=10 ** 12))
def test_signatures_for_any_body_and_secret(body: bytes, secret: str, webhook_id: int):
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256)
    assert base64.b64decode(espo_signature(str(webhook_id), secret, body)).decode() == \
        f"{webhook_id}:{digest.hexdigest()}"
    assert inflow_signature(secret, body) == digest.hexdigest()
