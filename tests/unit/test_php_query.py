"""PHP `parse_str` semantics of the EspoCRM query string (specs/espocrm.md §2.4)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polycrm.core.errors import BadRequest
from polycrm.dialects.php_query import MAX_DEPTH, MAX_PARAMS, parse_php_query, php_intval


@pytest.mark.parametrize("query, expected", [
    # 1. PHP http_build_query / docs' Python client: indexed, brackets percent-encoded or not
    ("where[0][type]=equals&where[0][attribute]=status&where[0][value]=New",
     {"where": [{"type": "equals", "attribute": "status", "value": "New"}]}),
    ("where%5B0%5D%5Btype%5D=equals&where%5B0%5D%5Battribute%5D=status&where%5B0%5D%5Bvalue%5D=New",
     {"where": [{"type": "equals", "attribute": "status", "value": "New"}]}),
    ("where[0][type]=in&where[0][attribute]=status&where[0][value][0]=New&where[0][value][1]=Assigned",
     {"where": [{"type": "in", "attribute": "status", "value": ["New", "Assigned"]}]}),
    # jQuery $.param: empty brackets append
    ("whereGroup[0][type]=in&whereGroup[0][value][]=New&whereGroup[0][value][]=Assigned",
     {"whereGroup": [{"type": "in", "value": ["New", "Assigned"]}]}),
    ("whereGroup%5B0%5D%5Bvalue%5D%5B%5D=a&whereGroup%5B0%5D%5Bvalue%5D%5B%5D=b",
     {"whereGroup": [{"value": ["a", "b"]}]}),
    # 3. espocrm-client 0.2.1: requests iterates the dict keys; the last one wins
    ("where=type&where=attribute&where=value", {"where": "value"}),
    # nested groups
    ("where[0][type]=or&where[0][value][0][type]=equals&where[0][value][0][attribute]=name"
     "&where[0][value][0][value]=A&where[0][value][1][type]=isNull&where[0][value][1][attribute]=name",
     {"where": [{"type": "or", "value": [{"type": "equals", "attribute": "name", "value": "A"},
                                          {"type": "isNull", "attribute": "name"}]}]}),
])
def test_the_three_wire_encodings(query, expected):
    assert parse_php_query(query) == expected


@pytest.mark.parametrize("query, expected", [
    ("a=1&a=2", {"a": "2"}),  # last wins
    ("a=1&a[b]=2", {"a": {"b": "2"}}),  # an array replaces a scalar
    ("a[b]=2&a=1", {"a": "1"}),  # and a scalar replaces an array
    ("a[b]=1&a[b]=2", {"a": {"b": "2"}}),
    ("a[0]=x&a[1]=y", {"a": ["x", "y"]}),  # keys exactly 0..n-1 in order: a list
    ("a[1]=x&a[0]=y", {"a": {"1": "x", "0": "y"}}),  # out of order: a map
    ("a[0]=x&a[2]=y", {"a": {"0": "x", "2": "y"}}),  # a gap: a map
    ("a[5]=x&a[]=y", {"a": {"5": "x", "6": "y"}}),  # [] appends after the highest integer key
    ("a[x]=1&a[]=2", {"a": {"x": "1", "0": "2"}}),
    ("a[05]=x", {"a": {"05": "x"}}),  # not canonical: a string key, so not a list
    ("a[-0]=x", {"a": {"-0": "x"}}),
    ("a[0][0]=x&a[0][1]=y&a[1][k]=z", {"a": [["x", "y"], {"k": "z"}]}),  # list detection is recursive
    ("a[ ]=1&a[ ]=2", {"a": ["1", "2"]}),  # PHP reads `[ ]` as `[]`
    ("a[ x]=1", {"a": {" x": "1"}}),
])
def test_nesting_last_wins_and_list_detection(query, expected):
    assert parse_php_query(query) == expected


@pytest.mark.parametrize("query, expected", [
    ("a.b c=1", {"a_b_c": "1"}),  # `.` and space in the top-level name become `_`
    ("a.b[c.d]=1", {"a_b": {"c.d": "1"}}),  # but not inside brackets
    ("a[b=1", {"a_b": "1"}),  # unterminated first bracket: part of the name
    ("a[b.c[d=1", {"a_b_c_d": "1"}),
    ("a[b][c=1", {"a": {"b": "1"}}),  # unterminated later bracket: dropped
    ("a[x]tail=1", {"a": {"x": "1"}}),  # text after `]` that is not `[` is ignored
    ("[a]=1&=2&&a", {"a": ""}),  # empty names skipped; a key without `=` has an empty value
    (" x=1", {"x": "1"}),  # leading spaces dropped
    ("a%00b=1", {"a": "1"}),  # a NUL ends the name
    ("", {}),
    ("&&&", {}),
    ("0=zero", {"0": "zero"}),  # the top level always stays a map
])
def test_key_name_quirks_and_malformed_input(query, expected):
    assert parse_php_query(query) == expected


@pytest.mark.parametrize("query, expected", [
    ("q=a+b%20c", {"q": "a b c"}),
    ("q=50%25", {"q": "50%"}),
    ("q=%", {"q": "%"}),  # a broken escape stays as it is
    ("q=%zz", {"q": "%zz"}),
    ("q=%C5%BD", {"q": "Ž"}),
    ("q=%FF", {"q": "\ufffd"}),  # invalid UTF-8 is replaced, never an exception
    ("a=b=c", {"a": "b=c"}),
    ("where[0][value]=x%27+OR+1%3D1+--", {"where": [{"value": "x' OR 1=1 --"}]}),
])
def test_percent_decoding(query, expected):
    assert parse_php_query(query) == expected


def test_round_trips_urlencode_of_flat_params():
    params = {"maxSize": "5", "orderBy": "name", "q": "Acme & Co = best?"}
    assert parse_php_query(urlencode(params)) == params


def test_depth_limit():
    allowed = "a" + "[x]" * MAX_DEPTH + "=1"
    value = parse_php_query(allowed)["a"]
    for _ in range(MAX_DEPTH):
        value = value["x"]
    assert value == "1"
    with pytest.raises(BadRequest, match="nested too deeply"):
        parse_php_query("a" + "[x]" * (MAX_DEPTH + 1) + "=1")
    with pytest.raises(BadRequest):
        parse_php_query("a" + "[]" * 100_000 + "=1")


def test_parameter_limit():
    assert len(parse_php_query("&".join(f"p{i}=1" for i in range(MAX_PARAMS)))) == MAX_PARAMS
    with pytest.raises(BadRequest, match="Too many"):
        parse_php_query("&".join(f"p{i}=1" for i in range(MAX_PARAMS + 1)))


@pytest.mark.parametrize("value, expected", [
    ("12", 12), (" 12abc", 12), ("-3", -3), ("+4", 4), ("abc", 0), ("", 0), (None, 0), ([], 0), (["x"], 1), ({}, 0),
    (7, 7), (10 ** 30, 2 ** 63 - 1), (True, 1), (2.9, 2), (float("nan"), 0), ("9" * 5000, 2 ** 63 - 1), ("-" + "9" * 30, -(2 ** 63 - 1)),
])
def test_php_intval(value, expected):
    assert php_intval(value) == expected


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(list("ab.= []&%+05\x00ŽZ")) | st.characters(), max_size=200))
def test_never_raises_anything_but_bad_request(query):
    try:
        result = parse_php_query(query)
    except BadRequest:
        return
    assert isinstance(result, dict)
    assert all(isinstance(key, str) and key for key in result)
