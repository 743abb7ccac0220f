"""Bad input on every Concord endpoint: a 4xx in Concord's shape, never a 500, nothing written (the issue's
"Bad input" rule; query parameters as PHP reads them, bodies of every wrong type)."""

from __future__ import annotations

import pytest

from tests.concord.conftest import Concord

HOSTILE_VALUES = [None, True, 1e308, -1, [], {}, [1, [2]], {"a": {"b": {}}}, "", "x" * 70_000, "\u202e\u0000",
                  "<script>alert(1)</script>", "' OR '1'='1", "%", "_"]

LIST_QUERIES = [
    "page[]=1", "page=-5", "page=99999999999999999999", "per_page[]=2", "per_page=1e3", "order[]=x",
    "order[0][field]=first_name&order[0][direction]=sideways", "order[0][field][x]=1", "order=|desc", "order=;;;",
    "select[]=id", "select=;", "q[]=a", "q=" + "a" * 5000, "search_fields[]=email", "search_fields=email:regexp",
    "search_match[]=and", "filters=", "filters[]=", "filters[condition]=and", "filters[children]=x",
    "filters[children][0]=x", "filters[children][0][type]=rule", "filters[children][0][query]=x",
    "filters[children][0][type]=group&filters[children][0][query][children][0][type]=rule",
    "filters=" + "[" * 500 + "]" * 500, "filters=" + '{"condition":"and","children":' + "[" * 200 + "]" * 200 + "}",
    "with[]=companies", "with=nosuch;companies", "take=-1", "take[]=5", "a[" + "[" * 100 + "]=1",
]


@pytest.fixture
def contact(concord: Concord) -> dict:
    return concord.create("contacts", {"first_name": "Target"})


@pytest.mark.parametrize("path", ["contacts", "contacts/search", "trashed/contacts", "search", "deals"])
def test_list_parameters_never_fail_the_server(concord: Concord, path: str) -> None:
    for query in LIST_QUERIES:
        response = concord.http.get(f"/api/{path}?{query}")
        assert response.status_code in (200, 403, 422), (query[:80], response.status_code, response.content[:300])
        body = response.json()
        if response.status_code == 422:
            assert body["message"] and isinstance(body["errors"], dict)


@pytest.mark.parametrize("key", ["first_name", "last_name", "email", "phones", "user_id", "job_title", "companies",
                                 "deals", "associations", "cf_unknown"])
def test_every_contact_key_takes_any_json_value_without_a_500(concord: Concord, contact: dict, key: str) -> None:
    for value in HOSTILE_VALUES:
        for response in (concord.post("contacts", {"first_name": "New", key: value}),
                         concord.put(f"contacts/{contact['id']}", {key: value})):
            assert response.status_code in (200, 201, 422), (key, str(value)[:80], response.status_code,
                                                              response.content[:300])
    assert concord.get(f"contacts/{contact['id']}").json()["first_name"] == "Target" or key == "first_name"


@pytest.mark.parametrize("key", ["name", "stage_id", "pipeline_id", "amount", "expected_close_date", "status",
                                 "lost_reason", "swatch_color", "companies", "contacts"])
def test_every_deal_key_takes_any_json_value_without_a_500(concord: Concord, key: str) -> None:
    stage = concord.get("pipeline-stages").json()["data"][0]["id"]
    for value in HOSTILE_VALUES:
        response = concord.post("deals", {"name": "Deal", "stage_id": stage, key: value})
        assert response.status_code in (201, 409, 422), (key, str(value)[:80], response.status_code,
                                                          response.content[:300])


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_association_bodies(concord: Concord, contact: dict, method: str) -> None:
    for body in ([], "text", 5, None, {"companies": "nope"}, {"companies": [[1]]}, {"companies": list(range(2000))},
                 {"companies": {"a": 1}}, {"deals": [None]}):
        response = concord.http.request(method, f"/api/associations/contacts/{contact['id']}", json=body)
        assert response.status_code in (200, 403, 409, 422), (body, response.status_code, response.content[:300])


def test_token_names(concord: Concord) -> None:
    for body in ({"name": 5}, {"name": ""}, {"name": "x" * 300}, {"name": ["a"]}, [], "x", {"name": "a\u0000b"}):
        response = concord.post("personal-access-tokens", body)
        assert response.status_code == 422, (body, response.content)
    assert len(concord.get("personal-access-tokens").json()) == 1


def test_token_exchange_bodies(concord: Concord) -> None:
    client = concord.harness.client({"Accept": "application/json"}, validate=False)
    for body in ({"email": ["a"], "password": {}, "device_name": 1}, [], "x",
                 {"email": "a" * 300, "password": "p", "device_name": "d"},
                 {"email": "x@y.z", "password": "p" * 5000, "device_name": "d"}):
        assert client.post("/api/token", json=body).status_code == 422, body


def test_odd_paths(concord: Concord) -> None:
    for path in ("contacts/99999999999999999999999", "contacts/%00", "contacts/1%0A", "trashed/contacts/abc",
                 "associations/contacts/-1", "contacts/1/%2e%2e", "personal-access-tokens/abc", "nosuch/1/2/3/4"):
        for method in ("GET", "PUT", "DELETE", "POST"):
            response = concord.http.request(method, f"/api/{path}", json={})
            assert response.status_code in (404, 405, 422), (method, path, response.status_code)
            assert "message" in response.json()


@pytest.mark.parametrize("key", ["clé", "\U0009a8fe", "tab\there", "\u2028line"])
def test_an_unknown_key_of_any_characters_is_named_in_a_header_safe_warning(concord: Concord, key: str) -> None:
    """A response header is latin-1: an ignored key such as Schemathesis's "\\U0009a8fe" was a 500 when named."""
    response = concord.post("contacts", {"first_name": "A", key: 1})
    assert response.status_code == 201
    warning = response.headers["x-polycrm-warning"]
    assert warning.isascii() and warning.isprintable() and "ignored" in warning
