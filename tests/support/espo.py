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
