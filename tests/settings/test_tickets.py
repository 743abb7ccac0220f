"""Ticket numbering (both backends): new tickets take the next number of one counter and the current prefix;
administrators set both through `PUT /api/v1/Settings` and `polycrm tickets`, never to a number already
used; 50 tickets created at once get 50 numbers without a gap."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from polycrm.core.service import Core
from tests.support.cli import Cli

TICKET = {"name": "Printer on fire"}


def ticket(api, **extra):
    response = api.post("/api/v1/Case", json=dict(TICKET, **extra))
    assert response.status_code == 200, response.headers.get("x-status-reason")
    return response.json()


def settings(api):
    body = api.get("/api/v1/Settings").json()
    return body["ticketPrefix"], body["ticketNextNumber"]


def put(api, body, status=200):
    response = api.put("/api/v1/Settings", json=body)
    assert response.status_code == status, response.headers.get("x-status-reason")
    return response


def test_new_tickets_take_the_prefix_and_the_next_number(api):
    assert settings(api) == ("TCK-", 1)
    first = ticket(api)
    assert (first["numberPrefix"], first["number"]) == ("TCK-", 1)
    assert ticket(api, numberPrefix="OWN-")["numberPrefix"] == "OWN-"  # a given prefix is kept
    assert settings(api) == ("TCK-", 3)
    put(api, {"ticketPrefix": "HD-", "ticketNextNumber": 100})
    assert settings(api) == ("HD-", 100)
    assert [(t["numberPrefix"], t["number"]) for t in [ticket(api)]] == [("HD-", 100)]
    created = api.post("/api/v1/Case/action/massCreate", json={"list": [TICKET, TICKET]}).json()
    numbers = [api.get(f"/api/v1/Case/{i}").json() for i in created["ids"]]
    assert [(t["numberPrefix"], t["number"]) for t in numbers] == [("HD-", 101), ("HD-", 102)]
    assert settings(api) == ("HD-", 103)


def test_the_next_number_never_goes_back_to_a_used_one(api):
    for _ in range(3):
        ticket(api)
    deleted = ticket(api)
    assert api.delete(f"/api/v1/Case/{deleted['id']}").status_code == 200
    response = put(api, {"ticketNextNumber": 4}, 409)
    assert "Ticket number 4 is already used" in response.headers["x-status-reason"]
    assert settings(api) == ("TCK-", 5)
    put(api, {"ticketNextNumber": 5})  # the number after the last one used: kept
    assert ticket(api)["number"] == 5


@pytest.mark.parametrize("body", [{"ticketPrefix": 5}, {"ticketPrefix": None}, {"ticketPrefix": "x" * 201},
                                  {"ticketPrefix": "a\nb"}, {"ticketNextNumber": 0}, {"ticketNextNumber": "7"},
                                  {"ticketNextNumber": True}, {"ticketNextNumber": 2**31}])
def test_bad_ticket_settings_are_refused_whole(api, body):
    put(api, dict(body, defaultCurrency="EUR"), 400)
    assert settings(api) == ("TCK-", 1)
    assert api.get("/api/v1/Settings").json()["defaultCurrency"] == "USD"


def test_only_administrators_change_ticket_settings(harness):
    _, user = harness.user({"Case": {"create": "yes", "read": "all"}})
    assert settings(user) == ("TCK-", 1)
    put(user, {"ticketPrefix": "X-"}, 403)


def test_the_command_line_shows_and_changes_the_ticket_settings(store, tmp_path, api):
    cli = Cli(store, tmp_path)
    assert json.loads(cli("tickets").stdout) == {"ticketPrefix": "TCK-", "ticketNextNumber": 1}
    result = cli("tickets", "--prefix", "SUP-", "--next-number", "42")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"ticketPrefix": "SUP-", "ticketNextNumber": 42}
    assert (ticket(api)["numberPrefix"], Core(store.database).tickets.current().next_number) == ("SUP-", 43)
    cli.fails("tickets", "--next-number", "42", message="Ticket number 42 is already used")
    cli.fails("tickets", "--next-number", "0", message="ticketNextNumber must be a whole number")


def test_concurrent_creates_get_distinct_numbers_without_a_gap(harness):
    count = 50
    barrier = threading.Barrier(10)

    def create(n):
        client = harness.key_client(harness.admin_key, validate=False)
        if n < 10:
            barrier.wait()
        response = client.post("/api/v1/Case", json={"name": f"Ticket {n}"})
        assert response.status_code == 200, response.text
        return response.json()["number"]

    with ThreadPoolExecutor(10) as pool:
        numbers = list(pool.map(create, range(count)))
    assert sorted(numbers) == list(range(1, count + 1))
