"""PHP value semantics and json_encode bytes (specs/itflow.md §3, §5), without a store."""

from __future__ import annotations

import pytest

from polycrm.dialects.itflow.context import parse_body, parse_query
from polycrm.dialects.php_json import json_encode
from polycrm.dialects.itflow.php import (digits_only, floatval, intval, is_empty, sanitize_input,
                                         strip_tags, to_text, var_dump_string)


@pytest.mark.parametrize("value, expected", [
    ("10abc", 10), ("abc", 0), ("", 0), (True, 1), (False, 0), (None, 0), ("  12", 12), ("-7", -7), ("+3", 3),
    ("1e3", 1000), ("12.9", 12), (12.9, 12), (-12.9, -12), ([], 0), ([1], 1), ({}, 0), ("0x1A", 0),
    ("99999999999999999999", 2**63 - 1), ("-99999999999999999999", -(2**63)), (float("nan"), 0), (float("inf"), 0),
])
def test_intval(value, expected):
    assert intval(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("250", 250.0), ("250.5abc", 250.5), ("abc", 0.0), ("", 0.0), (".5", 0.5), ("1e2", 100.0), (True, 1.0), (3, 3.0),
])
def test_floatval(value, expected):
    assert floatval(value) == expected


@pytest.mark.parametrize("value", ["", "0", 0, 0.0, None, False, [], {}])
def test_empty_values(value):
    assert is_empty(value)


@pytest.mark.parametrize("value", ["a", "00", " ", "0.0", 1, -1, 0.1, True, [0], {"a": 1}])
def test_non_empty_values(value):
    assert not is_empty(value)


@pytest.mark.parametrize("text, expected", [
    ("<b>bold</b> text", "bold text"),
    ("a < b and c > d", "a < b and c > d"),
    ("<script>alert(1)</script>x", "alert(1)x"),
    ('<a href="x>y">link</a>', "link"),
    ("before<!-- comment -->after", "beforeafter"),
    ("x<?php echo 1; ?>y", "xy"),
    ("unclosed <b tag rest", "unclosed "),
    ("tail<", "tail"),
    ("nested <<b>>text", "nested text"),
    ("plain", "plain"),
])
def test_strip_tags(text, expected):
    assert strip_tags(text) == expected


def test_sanitize_input_strips_tags_and_trims():
    assert sanitize_input("  <i>Acme</i> Corp \n") == "Acme Corp"
    assert sanitize_input(12) == "12"
    assert sanitize_input(True) == "1"
    assert sanitize_input(2.0) == "2"


def test_digits_only_drops_everything_else():
    assert digits_only("+1 (555) 123-4567 <b>x</b>") == "15551234567"
    assert digits_only(5551234) == "5551234"


def test_to_text_of_scalars():
    assert [to_text(v) for v in (None, False, True, 1.5, 3)] == ["", "", "1", "1.5", "3"]


def test_json_encode_matches_php_bytes():
    value = {"success": "True", "count": 1, "data": [{"url": "https://x/y", "name": "Müller ☃ 😀", "n": None}]}
    assert json_encode(value) == (b'{"success":"True","count":1,"data":[{"url":"https:\\/\\/x\\/y",'
                                  b'"name":"M\\u00fcller \\u2603 \\ud83d\\ude00","n":null}]}')


def test_var_dump_of_a_method_name():
    assert var_dump_string("PUT") == b'string(3) "PUT"\n'
    assert var_dump_string("DELETE") == b'string(6) "DELETE"\n'


@pytest.mark.parametrize("raw, expected", [
    (b'{"api_key" : "k", "client_id" : "10"}', {"api_key": "k", "client_id": "10"}),
    (b"api_key=k&client_id=10", {}),  # form-encoded bodies are not understood
    (b"", {}), (b"[1,2]", {}), (b'"text"', {}), (b"\xff\xfe{}", {}), (b'{"a": NaN}', {}),
    (b"[" * 100000 + b"]" * 100000, {}),
])
def test_body_is_json_whatever_the_content_type(raw, expected):
    assert parse_body(raw) == expected


def test_query_keeps_php_rules():
    assert parse_query(b"api_key=k&asset_name=My+VM&limit=&x=1&x=2") == {
        "api_key": "k", "asset_name": "My VM", "limit": "", "x": "2"}
