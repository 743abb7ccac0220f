"""A user's `teams` (Concord's UserResource: HasTeams::allTeams) on `GET /api/me`, `/api/users` and
`/api/users/{id}`, as a running Concord CRM 1.4.1 shows them: the teams the user is in or manages, by name, as
TeamResource rows without their users (`description` for super admins only), to every user whatever their
rights on teams; `[]` on the users nested in a team. The teams are EspoCRM's (`/api/v1/Team`, a user's
`teamsIds`)."""

from __future__ import annotations

from typing import Any

from tests.concord.conftest import JSON_HEADERS, Concord

# TeamResource's keys in a user, in the order Concord 1.4.1 shows them (`description` for super admins only).
TEAM_KEYS = ["id", "name", "description", "user_id", "created_at", "updated_at", "was_recently_created"]
USER_KEYS_START = ["id", "name", "email", "timezone", "locale", "avatar", "uploaded_avatar_url", "avatar_url",
                   "mail_signature", "guest_email", "guest_display_name", "teams", "super_admin"]



def team(concord: Concord, name: str, manager: int, *members: int) -> dict[str, Any]:
    return concord.create("teams", {"name": name, "user_id": manager, "members": list(members),
                                    "description": f"{name} team"})


def names(user: dict[str, Any]) -> list[tuple[str, int]]:
    return [(item["name"], item["id"]) for item in user["teams"]]


def test_a_users_teams_are_those_they_are_in_or_manage_by_name(concord: Concord, pat: Concord, sam: Concord):
    zeta = team(concord, "Zeta", concord.user_id, pat.user_id)
    alpha = team(concord, "Alpha", sam.user_id, pat.user_id, concord.user_id)
    both = team(concord, "Alpha", concord.user_id, concord.user_id)  # managed and in: shown once
    team(concord, "Other", sam.user_id, sam.user_id)
    me = concord.get("me").json()
    assert list(me)[:len(USER_KEYS_START)] == USER_KEYS_START  # after guest_display_name, as Concord 1.4.1
    assert names(me) == [("Alpha", alpha["id"]), ("Alpha", both["id"]), ("Zeta", zeta["id"])]
    first = me["teams"][0]
    assert list(first) == TEAM_KEYS
    assert first == {"id": alpha["id"], "name": "Alpha", "description": "Alpha team", "user_id": sam.user_id,
                     "created_at": alpha["created_at"], "updated_at": alpha["updated_at"],
                     "was_recently_created": False}
    # a user who may not read teams sees their own and another user's, without descriptions
    mine = pat.get("me").json()
    assert names(mine) == [("Alpha", alpha["id"]), ("Zeta", zeta["id"])]
    assert list(mine["teams"][0]) == [key for key in TEAM_KEYS if key != "description"]
    assert names(pat.get(f"users/{concord.user_id}").json()) == names(me)
    assert pat.get(f"teams/{zeta['id']}").status_code == 200 and pat.get("teams").status_code == 200
    # list rows show them too (Concord's users table loads teams and managed teams)
    rows = {row["id"]: row for row in pat.get("users", per_page=100).json()["data"]}
    assert names(rows[concord.user_id]) == names(me) and names(rows[pat.user_id]) == names(mine)
    assert names(rows[sam.user_id]) == [("Alpha", alpha["id"]), ("Other", names(rows[sam.user_id])[1][1])]
    as_admin = concord.get(f"users/{sam.user_id}").json()["teams"]
    assert as_admin == [{**item, "description": f"{item['name']} team"} for item in rows[sam.user_id]["teams"]]
    # a team's users are shown without theirs, as Concord 1.4.1 loads none there
    shown = concord.get(f"teams/{zeta['id']}").json()
    assert shown["manager"]["teams"] == [] and [member["teams"] for member in shown["members"]] == [[]]


def test_writes_answer_the_user_with_teams_and_a_deleted_team_goes(concord: Concord, pat: Concord):
    sales = team(concord, "Sales", concord.user_id, pat.user_id)
    changed = concord.put(f"users/{pat.user_id}", {"locale": "es"})
    assert changed.status_code == 200 and names(changed.json()) == [("Sales", sales["id"])]
    profile = pat.put("profile", {"name": "Pat P", "email": "pat@example.com", "time_format": "H:i",
                                  "date_format": "Y-m-d", "locale": "en", "timezone": "UTC"})
    assert profile.status_code == 200, profile.content
    assert names(profile.json()) == [("Sales", sales["id"])]
    made = concord.post("users", {"name": "New One", "email": "new@example.com", "password": "correct-horse-9",
                                  "password_confirmation": "correct-horse-9", "timezone": "UTC",
                                  "time_format": "H:i", "date_format": "Y-m-d"})
    assert made.status_code == 201 and made.json()["teams"] == []
    assert concord.delete(f"teams/{sales['id']}").status_code == 204
    assert pat.get("me").json()["teams"] == [] and concord.get("me").json()["teams"] == []


def test_teams_given_through_espocrm_show_through_concord(concord: Concord, pat: Concord):
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    made = espo.post("/api/v1/Team", json={"name": "From Espo"}).json()
    linked = espo.post(f"/api/v1/Team/{made['id']}/users", json={"id": pat.user_id})
    assert linked.status_code == 200, linked.content
    assert names(pat.get("me").json()) == [("From Espo", int(made["id"]))]
    managed = espo.put(f"/api/v1/Team/{made['id']}", json={"managerId": concord.user_id})
    assert managed.status_code == 200, managed.content
    assert names(concord.get("me").json()) == [("From Espo", int(made["id"]))]
    user = espo.get(f"/api/v1/User/{pat.user_id}").json()
    assert [str(i) for i in user["teamsIds"]] == [str(made["id"])]


def test_reads_need_a_token(concord: Concord):
    anonymous = concord.harness.client(JSON_HEADERS, validate=False)
    for path in ("me", "users", f"users/{concord.user_id}"):
        response = anonymous.get(f"/api/{path}")
        assert response.status_code == 401 and response.json() == {"message": "Unauthenticated."}
    assert concord.get("users/abc").status_code == 404
