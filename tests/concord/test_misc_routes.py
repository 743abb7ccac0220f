"""Concord's fixed lists (specs/concord.md §2 "Lookup lists"): `GET /api/timezones` and `GET /api/currencies`,
for any user with a token, as Concord CRM 1.4.1 answers them."""

from __future__ import annotations

import pytest

from polycrm.core.currency import iso_currencies
from tests.concord.conftest import Concord


def test_timezones_are_phps_list_for_any_user(concord: Concord) -> None:
    response = concord.get("timezones")
    assert response.status_code == 200
    zones = response.json()
    assert len(zones) == 419 and zones[0] == "Africa/Abidjan" and zones[-1] == "UTC"  # as Concord 1.4.1 lists them
    assert zones == sorted(zones) and "Europe/Berlin" in zones and "US/Eastern" not in zones  # no legacy links
    assert b'"Africa\\/Abidjan"' in response.content  # PHP's json_encode escapes slashes
    limited = concord.as_user("nobody", {"Contact": True})
    assert limited.get("timezones").json() == zones


def test_currencies_are_every_accepted_code_in_concords_shape(concord: Concord) -> None:
    response = concord.get("currencies")
    assert response.status_code == 200
    shown = response.json()
    assert list(shown) == sorted(iso_currencies())  # the codes PolyCRM takes in amounts
    # as Concord CRM 1.4.1 shows them, key order included
    assert shown["USD"] == {"name": "US Dollar", "code": 840, "precision": 2, "subunit": 100, "symbol": "$",
                            "symbol_first": True, "decimal_mark": ".", "thousands_separator": ","}
    assert shown["EUR"] == {"name": "Euro", "code": 978, "precision": 2, "subunit": 100, "symbol": "€",
                            "symbol_first": True, "decimal_mark": ",", "thousands_separator": "."}
    assert (shown["JPY"]["precision"], shown["JPY"]["subunit"]) == (0, 1)
    assert (shown["BHD"]["precision"], shown["BHD"]["subunit"]) == (3, 1000)
    assert shown["XAU"]["precision"] == 0 and shown["XAU"]["symbol"] == "oz t"  # no minor unit: 0, as Concord
    assert shown["XTS"]["symbol"] == "XTS"  # a code Concord does not list: its code as its symbol
    assert b'"\\u20ac"' in response.content  # PHP's json_encode escapes non-ASCII
    assert concord.as_user("nobody", {"Contact": True}).get("currencies").json() == shown


@pytest.mark.parametrize("path", ["timezones", "currencies"])
def test_lists_need_a_token_and_are_read_only(concord: Concord, path: str) -> None:
    anonymous = concord.harness.client(validate=False)
    assert anonymous.get(f"/api/{path}", headers={"Accept": "application/json"}).status_code == 401
    assert concord.post(path, {"name": "x"}).json() == {"message": ""}  # Concord: POST /api/{resource}, none
    refused = concord.put(path, {"name": "x"})
    assert refused.status_code == 405 and refused.headers["Allow"] == "GET, HEAD, POST"  # as Concord 1.4.1
    assert concord.get(f"{path}/1").status_code == 404
