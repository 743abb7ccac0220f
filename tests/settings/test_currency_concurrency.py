"""Rates changed while amounts are written (both backends): every converted amount ends right for the rate
in force once all is done, whichever order the writes took, and none fails (no deadlock, no server error)."""

from __future__ import annotations

import pytest

from tests.acl.test_concurrency import at_once

ROUNDS = 3


def test_converted_amounts_follow_rates_changed_during_writes(harness, api):
    existing = [api.post("/api/v1/Opportunity", json={"name": f"E{n}", "amount": 100 + n, "amountCurrency": "EUR",
                                                      "closeDate": "2030-01-01"}).json() for n in range(4)]
    lead = api.post("/api/v1/Lead", json={"lastName": "Convert", "opportunityAmount": 7,
                                          "opportunityAmountCurrency": "EUR"}).json()
    base_rates = api.get("/api/v1/Settings").json()["currencyRates"]
    for round_number in range(ROUNDS):
        requests = [lambda c, n=n: c.post("/api/v1/Opportunity", json={
                        "name": f"N{round_number}-{n}", "amount": 10 + n, "amountCurrency": "EUR",
                        "closeDate": "2030-01-01"}) for n in range(4)]
        requests += [lambda c, r=r: c.put(f"/api/v1/Opportunity/{r['id']}", json={"amount": 200 + round_number})
                     for r in existing]
        requests += [lambda c, rate=rate: c.put("/api/v1/Settings", json={"currencyRates": dict(base_rates, EUR=rate)})
                     for rate in (1.1 + round_number, 1.3 + round_number)]
        if round_number == 0:
            requests.append(lambda c: c.post(f"/api/v1/Lead/{lead['id']}/convert", json={"records": {
                "Opportunity": {"name": "From lead", "amount": 7, "amountCurrency": "EUR",
                                "closeDate": "2030-01-01"}}}))
        for response in at_once(harness, harness.admin_key, requests):
            assert response.status_code == 200, response.headers.get("x-status-reason")
        rate = api.get("/api/v1/Settings").json()["currencyRates"]["EUR"]
        for record in api.get("/api/v1/Opportunity", params={"maxSize": 200}).json()["list"]:
            assert record["amountConverted"] == pytest.approx(round(record["amount"] * rate, 4)), record["name"]
