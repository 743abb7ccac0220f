"""Read-modify-writes under concurrency (both backends; PostgreSQL is where they used to fail): optimistic
locking lets exactly one of the writers holding a version win, concurrent replacements of a link set end
as one of the sets asked for, concurrent relates and counters lose nothing, and two administrators
demoting each other at once leave one administrator. No request may fail with a server error."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import httpx
from starlette.testclient import TestClient

from tests.acl.conftest import ok
from tests.api.conftest import ApiHarness, api, harness  # noqa: F401 - shared per-test application

WRITERS = 8


def at_once(harness: ApiHarness, key: str, requests: list[Callable[[TestClient], httpx.Response]]
            ) -> list[httpx.Response]:
    """Send the requests from as many threads, released together."""
    barrier = threading.Barrier(len(requests))

    def send(request: Callable[[TestClient], httpx.Response]) -> httpx.Response:
        client = harness.key_client(key, validate=False)
        barrier.wait()
        return request(client)

    with ThreadPoolExecutor(len(requests)) as pool:
        responses = list(pool.map(send, requests))
    for response in responses:
        assert response.status_code < 500, response.text
    return responses


def test_of_writers_sending_one_version_exactly_one_wins(harness, api):
    account = ok(api.post("/api/v1/Account", json={"name": "Locked"}), 200).json()
    for round_number in range(5):
        version = ok(api.get(f"/api/v1/Account/{account['id']}"), 200).json()["versionNumber"]
        # Each writer changes something (an update changing nothing keeps the version).
        bodies = [{"description": f"round {round_number} writer {n}"} for n in range(WRITERS)]
        responses = at_once(harness, harness.admin_key, [
            (lambda client, body=body: client.put(f"/api/v1/Account/{account['id']}", json=body,
                                                  headers={"X-Version-Number": str(version)})) for body in bodies])
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [409] * (WRITERS - 1), (round_number, statuses)
        after = ok(api.get(f"/api/v1/Account/{account['id']}"), 200).json()
        winner = next(r for r in responses if r.status_code == 200).json()
        assert after["versionNumber"] == version + 1 and after["description"] == winner["description"]


def test_concurrent_replacements_of_a_link_set_end_as_one_of_them(harness, api):
    teams = [ok(api.post("/api/v1/Team", json={"name": f"T{n}"}), 200).json()["id"] for n in range(6)]
    contact = ok(api.post("/api/v1/Contact", json={"lastName": "Teams"}), 200).json()
    sets = [sorted({teams[n % 6], teams[(n + 1) % 6], teams[(n + 3) % 6]}) for n in range(WRITERS)]
    for _ in range(3):
        at_once(harness, harness.admin_key, [
            (lambda client, wanted=wanted: client.put(f"/api/v1/Contact/{contact['id']}", json={"teamsIds": wanted}))
            for wanted in sets])
        final = sorted(ok(api.get(f"/api/v1/Contact/{contact['id']}"), 200).json()["teamsIds"])
        assert final in sets


def test_concurrent_relates_lose_no_relation(harness, api):
    account = ok(api.post("/api/v1/Account", json={"name": "Hub"}), 200).json()
    contacts = [ok(api.post("/api/v1/Contact", json={"lastName": f"C{n}"}), 200).json()["id"] for n in range(WRITERS)]
    at_once(harness, harness.admin_key, [
        (lambda client, ids=ids: client.post(f"/api/v1/Account/{account['id']}/contacts", json={"ids": ids}))
        for ids in ([contacts[n], contacts[(n + 1) % WRITERS]] for n in range(WRITERS))])
    listed = ok(api.get(f"/api/v1/Account/{account['id']}/contacts", params={"maxSize": 200}), 200).json()
    assert sorted(r["id"] for r in listed["list"]) == sorted(contacts) and listed["total"] == WRITERS


def test_concurrent_creates_take_distinct_numbers(harness, api):
    responses = at_once(harness, harness.admin_key, [
        (lambda client, n=n: client.post("/api/v1/Case", json={"name": f"Case {n}"})) for n in range(WRITERS)])
    numbers = [r.json()["number"] for r in responses]
    assert all(r.status_code == 200 for r in responses) and len(set(numbers)) == WRITERS


def test_two_administrators_demoting_each_other_at_once_leave_one(harness, api):
    for _ in range(3):
        first_id, first = harness.user(None, user_type="admin")
        second_id, second = harness.user(None, user_type="admin")
        # Only these two are active administrators.
        ok(first.patch(f"/api/v1/User/{harness.admin_id}", json={"type": "regular"}), 200)
        keys = {first_id: first.headers["x-api-key"], second_id: second.headers["x-api-key"]}
        barrier = threading.Barrier(2)

        def demote(me: int, other: int) -> httpx.Response:
            client = harness.key_client(keys[me], validate=False)
            barrier.wait()
            return client.patch(f"/api/v1/User/{other}", json={"type": "regular"})

        with ThreadPoolExecutor(2) as pool:
            results: list[Any] = list(pool.map(demote, (first_id, second_id), (second_id, first_id)))
        assert all(r.status_code < 500 for r in results), [r.text for r in results]
        harness.directory.forget_actors()
        remaining = [harness.directory.actor(user_id) for user_id in (first_id, second_id)]
        assert sum(1 for actor in remaining if actor is not None and actor.is_admin) == 1, [
            (r.status_code, r.headers.get("x-status-reason")) for r in results]
        # The original administrator alone again, for the next round.
        survivor, survivor_id = (first, first_id) if remaining[0] is not None and remaining[0].is_admin else (
            second, second_id)
        ok(survivor.patch(f"/api/v1/User/{harness.admin_id}", json={"type": "admin"}), 200)
        ok(api.patch(f"/api/v1/User/{survivor_id}", json={"type": "regular"}), 200)
