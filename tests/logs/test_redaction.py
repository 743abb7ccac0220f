"""What log lines may carry of a request: query strings without credentials, bounded client-supplied text,
URLs without passwords, and only well-formed incoming request ids."""

from __future__ import annotations

import pytest

from polycrm.dialects.http import INCOMING_REQUEST_ID
from polycrm.logs import (MAX_TARGET_CHARS, loggable_target, parse_format, parse_level, printable, redact_query,
                          safe_url)


@pytest.mark.parametrize("query, expected", [
    ("", ""),
    ("maxSize=20&offset=0", "maxSize=20&offset=0"),
    ("where%5B0%5D%5Btype%5D=equals&where%5B0%5D%5Bvalue%5D=Gold",
     "where%5B0%5D%5Btype%5D=equals&where%5B0%5D%5Bvalue%5D=Gold"),
    ("textFilter=keystone&maxSize=5", "textFilter=keystone&maxSize=5"),  # a value with a sensitive word stays
    ("api_key=s3cr3t&maxSize=5", "api_key=***&maxSize=5"),
    ("maxSize=5&apiKey=s3cr3t", "maxSize=5&apiKey=***"),
    ("access_token=abc&TOKEN=def&Password=x&pwd=y&client_secret=z&signature=q&hmac=h&X-Api-Key=k",
     "access_token=***&TOKEN=***&Password=***&pwd=***&client_secret=***&signature=***&hmac=***&X-Api-Key=***"),
    ("api%5Fkey=s3cr3t", "api%5Fkey=***"),  # an encoded underscore
    ("p%61ssword=s3cr3t&a=1", "p%61ssword=***&a=1"),  # an encoded letter hides nothing
    ("pass+word=s3cr3t", "pass+word=***"),
    ("auth[token]=s3cr3t&auth%5Buser%5D=me", "auth[token]=***&auth%5Buser%5D=***"),
    ("token", "token"),  # a bare name has no value to hide
    ("token=", "token=***"),
    ("code=abc&state=1", "code=***&state=1"),  # OAuth-style codes
    ("a=1&&b=2&=x", "a=1&&b=2&=x"),
])
def test_sensitive_query_values_are_replaced(query, expected):
    assert redact_query(query) == expected


def test_the_logged_target_is_the_raw_path_and_bounded():
    assert loggable_target(b"/api/v1/Account/1", b"") == "/api/v1/Account/1"
    # Still percent-encoded: a newline or an escape sequence sent in the path cannot forge a line.
    assert loggable_target(b"/api/v1/Account/1%0A%1B[31m", b"x=%0A") == "/api/v1/Account/1%0A%1B[31m?x=%0A"
    assert loggable_target(b"/a", b"password=hunter2") == "/a?password=***"
    long = loggable_target(b"/" + b"a" * 5000, b"q=1")
    assert len(long) == MAX_TARGET_CHARS + 3 and long.endswith("...")
    assert loggable_target(b"/caf\xc3\xa9", b"") == "/caf\xc3\xa9"  # bytes as sent, never a decoding error


@pytest.mark.parametrize("url, expected", [
    (None, None),
    ("sqlite:////var/lib/polycrm/polycrm.db", "sqlite:////var/lib/polycrm/polycrm.db"),
    ("postgresql://crm:p4ss@db.example:5432/crm", "postgresql://crm:***@db.example:5432/crm"),
    ("postgresql://crm@db/crm", "postgresql://crm@db/crm"),
    ("postgresql://crm:p4ss:w@rd@db/crm", "postgresql://crm:***@db/crm"),
    ("postgresql://crm:p/4?s#s@db/crm", "postgresql://crm:***@db/crm"),  # unencoded, as people write them
    ("postgresql://db/crm?user=crm&password=p4ss&sslmode=require",
     "postgresql://db/crm?user=crm&password=***&sslmode=require"),
    ("redis://:r3dis@cache:6379/0", "redis://:***@cache:6379/0"),
    ("rediss://default:r3dis@cache/0", "rediss://default:***@cache/0"),
    ("not a url with p4ss", "***"),
])
def test_urls_lose_their_passwords(url, expected):
    assert safe_url(url) == expected


def test_printable_bounds_and_escapes_client_text():
    assert printable("alice") == "alice"
    assert printable("eve\nlevel=error fake line\x1b[0m") == "eve\\nlevel=error fake line\\x1b[0m"
    assert printable("x" * 500) == "x" * 100 + "..."
    assert printable("j\u00fcrgen \u4e2d") == "j\u00fcrgen \u4e2d"


@pytest.mark.parametrize("value, accepted", [
    (b"abc-123", True),
    (b"f3b2c1d0-aaaa-4bbb-8ccc-0123456789ab", True),
    (b"Root=1-67891233-abcdef012345678912345678", True),
    (b"a" * 128, True),
    (b"a" * 129, False),
    (b"", False),
    (b"abc 123", False),
    (b"abc\r\nX-Injected: 1", False),
    (b"abc\x00", False),
    (b"\xc3\xa9t\xc3\xa9", False),
    (b"<script>", False),
    (b'"quoted"', False),
])
def test_incoming_request_ids_must_be_short_and_safe(value, accepted):
    assert (INCOMING_REQUEST_ID.fullmatch(value) is not None) is accepted


@pytest.mark.parametrize("raw, expected", [(None, "info"), ("", "info"), ("DEBUG", "debug"), (" warning ", "warning"),
                                           ("error", "error")])
def test_levels(raw, expected):
    assert parse_level(raw) == expected


@pytest.mark.parametrize("raw", ["verbose", "critical", "10", "info;rm"])
def test_unknown_levels_are_refused(raw):
    with pytest.raises(ValueError, match="POLYCRM_LOG_LEVEL"):
        parse_level(raw)


@pytest.mark.parametrize("raw, expected", [(None, "auto"), ("JSON", "json"), ("console", "console"), ("auto", "auto")])
def test_formats(raw, expected):
    assert parse_format(raw) == expected


@pytest.mark.parametrize("raw", ["text", "logfmt", "jsonl"])
def test_unknown_formats_are_refused(raw):
    with pytest.raises(ValueError, match="POLYCRM_LOG_FORMAT"):
        parse_format(raw)
