"""What EspoCRM clients call when they start, against a live `polycrm serve`: the `espo` package, and the
requests `espocrm-client`'s `get_server_info()` and `test_connection()` send (GET App/about, GET App/user
with X-Api-Key; that package itself pins structlog<25, which PolyCRM's own logging outgrew)."""

from __future__ import annotations

import pytest
import requests
from espo import Espo, EspoMethods
from espo.exceptions import EspoError

from tests.live.conftest import live_server  # noqa: F401 - the module's server


def test_espocrm_client_server_info(live_server):  # noqa: F811
    headers = {"X-Api-Key": live_server.api_key, "Content-Type": "application/json"}
    about = requests.get(f"{live_server.url}/api/v1/App/about", headers=headers, timeout=10)
    assert about.status_code == 200 and about.json()["version"] == "9.3.9"
    assert requests.get(f"{live_server.url}/api/v1/App/user", headers=headers, timeout=10).status_code == 200


def test_espo_package_reads_and_changes_settings(live_server):  # noqa: F811
    client = Espo(live_server.url, live_server.api_key)
    settings = client.request(EspoMethods.GET, "Settings")
    assert settings["defaultCurrency"] == "USD" and "PLN" not in settings["currencyList"]
    changed = client.request(EspoMethods.PUT, "Settings", {
        "currencyList": settings["currencyList"] + ["PLN"], "currencyRates": dict(settings["currencyRates"], PLN=0.25)})
    assert changed["currencyRates"]["PLN"] == 0.25
    deal = client.request(EspoMethods.POST, "Opportunity", {"name": "Zloty deal", "amount": 400,
                                                            "amountCurrency": "PLN", "closeDate": "2030-01-01"})
    assert deal["amountConverted"] == 100
    found = client.request(EspoMethods.GET, "GlobalSearch", {"q": "Zloty"})
    assert [(r["_scope"], r["id"]) for r in found["list"]] == [("Opportunity", deal["id"])]
    assert client.request(EspoMethods.GET, "I18n")["Opportunity"]["fields"]["amount"] == "Amount"
    with pytest.raises(EspoError) as refused:
        client.request(EspoMethods.PUT, "Settings", {"defaultCurrency": "ZZZ"})
    assert refused.value.code == 400
    assert requests.get(f"{live_server.url}/api/v1/Settings", timeout=10).json().get("currencyList") is None
