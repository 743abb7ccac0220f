"""Helpers for tests of EspoCRM's `/api/v1`: a status check that says why it failed, and a create."""

from __future__ import annotations

from typing import Any


def ok(response, status=200):
    """The response, after checking its status (the failure shows EspoCRM's reason header and the body)."""
    assert response.status_code == status, (response.status_code, response.headers.get("x-status-reason"),
                                             response.text[:300])
    return response


def post(api, entity: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create a record (skipping EspoCRM's duplicate check) and return it."""
    return ok(api.post(f"/api/v1/{entity}", json=body, headers={"X-Skip-Duplicate-Check": "true"})).json()


def subscribe_and_last_event(harness, event: str, write) -> tuple[tuple[str, int], Any]:  # noqa: ANN001
    """Subscribe an EspoCRM webhook to `event`, run `write()` (another protocol's write, returning its id)
    and answer the last queued webhook event's (entity type, record id) with that id."""
    from sqlalchemy import select

    espo = harness.key_client(harness.admin_key)
    hook = espo.post("/api/v1/Webhook", json={"event": event, "url": "https://hooks.example.com/in"})
    assert hook.status_code == 201, hook.headers.get("x-status-reason")
    written = write()
    core = harness.app.state.core
    table = core.database.table("webhook_event")
    with core.database.connect() as conn:
        events = conn.execute(select(table)).mappings().all()
    return (events[-1]["entity_type"], events[-1]["record_id"]), written
