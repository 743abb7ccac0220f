"""Privilege escalation: only administrators change a user's type, activity, API access (the App CRM API's
`access-api` permission), teams and default team; nobody deletes or deactivates themselves; the last active
administrator cannot be removed, demoted or deactivated, by any path (EspoCRM record and mass actions,
InflowCRM)."""

from __future__ import annotations

import pytest

from tests.api.conftest import api, harness  # noqa: F401 - shared per-test application
from tests.acl.conftest import ok

USER_EDITOR = {"User": {"create": "yes", "read": "all", "edit": "all", "delete": "all"}}


@pytest.mark.parametrize("change", [{"type": "admin"}, {"type": "api"}, {"type": "super-admin"},
                                    {"isActive": False}, {"apiAccess": False}, {"teamsIds": ["TEAM"]},
                                    {"defaultTeamId": "TEAM"}])
def test_only_administrators_change_a_users_type_activity_and_teams(harness, api, change):
    team = ok(api.post("/api/v1/Team", json={"name": "Board"}), 200).json()["id"]
    change = {k: ([team] if v == ["TEAM"] else team if v == "TEAM" else v) for k, v in change.items()}
    user_id, client = harness.user(USER_EDITOR, teams=None)
    other_id, _ = harness.user(None)
    for target in (user_id, other_id, harness.admin_id):
        before = ok(api.get(f"/api/v1/User/{target}"), 200).json()
        if all(before.get(key) == value for key, value in change.items()):
            continue  # already so: no change to refuse
        response = ok(client.patch(f"/api/v1/User/{target}", json=change), 403)
        assert response.headers["x-status-reason"].startswith("Only administrators may change")
        mass = client.post("/api/v1/MassAction", json={"entityType": "User", "action": "update",
                                                        "params": {"ids": [str(target)]}, "data": change})
        ok(mass, 403)
        after = ok(api.get(f"/api/v1/User/{target}"), 200).json()
        assert after["versionNumber"] == before["versionNumber"] and after["type"] == before["type"]
    # The same values sent back unchanged (a whole record round-tripped) are no change.
    mine = ok(client.get(f"/api/v1/User/{user_id}"), 200).json()
    ok(client.put(f"/api/v1/User/{user_id}", json={"type": mine["type"], "isActive": True, "teamsIds": [],
                                                   "title": "Clerk"}), 200)
    # An administrator may.
    ok(api.patch(f"/api/v1/User/{other_id}", json=change), 200)


def test_only_administrators_create_and_delete_users_and_change_teams(harness, api):
    """Roles grant read and edit of users and read of teams, nothing more (EspoCRM's aclActionList)."""
    team = ok(api.post("/api/v1/Team", json={"name": "Board"}), 200).json()["id"]
    everything = {"create": "yes", "read": "all", "edit": "all", "delete": "all"}
    user_id, client = harness.user({"User": everything, "Team": everything})
    other_id, _ = harness.user(None)
    ok(client.post("/api/v1/User", json={"userName": "sneaky", "lastName": "S"}), 403)
    ok(client.delete(f"/api/v1/User/{other_id}"), 403)
    ok(client.post("/api/v1/Team", json={"name": "Mine"}), 403)
    ok(client.patch(f"/api/v1/Team/{team}", json={"name": "Renamed"}), 403)
    ok(client.post(f"/api/v1/Team/{team}/users", json={"id": str(user_id)}), 403)
    ok(client.post(f"/api/v1/User/{user_id}/teams", json={"id": team}), 403)
    ok(client.post("/api/v1/MassAction", json={"entityType": "User", "action": "delete",
                                                "params": {"ids": [str(other_id)]}}), 403)
    assert ok(api.get(f"/api/v1/User/{user_id}"), 200).json()["teamsIds"] == []
    assert ok(api.get(f"/api/v1/Team/{team}"), 200).json()["name"] == "Board"


def test_nobody_deletes_or_deactivates_themselves(harness, api):
    user_id, client = harness.user(USER_EDITOR)
    ok(client.patch(f"/api/v1/User/{user_id}", json={"isActive": False}), 403)
    second_id, _ = harness.user(None, user_type="admin")  # the admin below is not the last one
    reason = ok(api.delete(f"/api/v1/User/{harness.admin_id}"), 403).headers["x-status-reason"]
    assert reason == "You cannot delete yourself."
    ok(api.patch(f"/api/v1/User/{harness.admin_id}", json={"isActive": False}), 403)
    ok(api.post("/api/v1/MassAction", json={"entityType": "User", "action": "delete",
                                             "params": {"ids": [str(harness.admin_id), str(user_id)]}}), 403)
    ok(api.post("/api/v1/MassAction", json={"entityType": "User", "action": "update",
                                             "params": {"ids": [str(harness.admin_id)]}, "data": {"isActive": False}}), 403)
    assert ok(api.get(f"/api/v1/User/{harness.admin_id}"), 200).json()["isActive"] is True
    assert ok(api.get(f"/api/v1/User/{user_id}"), 200).json()["isActive"] is True


def test_the_last_active_administrator_stays(harness, api):
    second_id, second = harness.user(None, user_type="admin")
    # Two administrators: one may demote the other...
    ok(second.patch(f"/api/v1/User/{harness.admin_id}", json={"type": "regular"}), 200)
    # ...and now the second is the last one: it can neither demote itself nor be deactivated or deleted.
    refused = ok(second.patch(f"/api/v1/User/{second_id}", json={"type": "regular"}), 403)
    assert "last active administrator" in refused.headers["x-status-reason"]
    ok(api.patch(f"/api/v1/User/{harness.admin_id}", json={"type": "admin"}), 403)  # the demoted one is no admin
    ok(second.patch(f"/api/v1/User/{harness.admin_id}", json={"type": "admin"}), 200)
    # With two again, one administrator may deactivate or delete the other, never the last.
    ok(api.patch(f"/api/v1/User/{second_id}", json={"isActive": False}), 200)
    ok(second.get("/api/v1/App/user"), 401)  # inactive
    ok(api.patch(f"/api/v1/User/{second_id}", json={"isActive": True, "type": "regular"}), 200)
    third_id, _ = harness.user(None, user_type="admin")
    ok(api.delete(f"/api/v1/User/{third_id}"), 200)
    ok(api.post("/api/v1/MassAction", json={"entityType": "User", "action": "update", "params": {"ids": [
        str(harness.admin_id)]}, "data": {"type": "regular"}}), 403)


def test_inflow_update_user_cannot_escalate(harness, api):
    from tests.inflow.conftest import InflowValidator, Inflow
    inflow = Inflow(harness, InflowValidator())
    user_id, client = inflow.user(USER_EDITOR)
    me = client.post("/api/validateApiKey").json()["data"]["userId"]
    for body in ({"type": "admin"}, {"isActive": False}, {"userType": "admin"}):
        assert client.patch(f"/api/updateUser/{me}", json=body).status_code == 400
    assert ok(api.get(f"/api/v1/User/{user_id}"), 200).json()["type"] == "regular"
