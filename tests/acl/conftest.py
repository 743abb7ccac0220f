"""A world for access-control tests, built once per module and backend: a team, a user per access level
(each in the team, with one role giving that level on every entity type), another user outside the team,
and of every entity type a record of each user, one of the other user's in the team, one outside it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import httpx
import pytest
from anyio.from_thread import BlockingPortal
from starlette.testclient import TestClient

from polycrm.app import build_app
from polycrm.auth.directory import UserDirectory
from polycrm.auth.secrets import KeyRing
from polycrm.config import Config
from polycrm.dialects.inflow.ids import encode_id
from tests.conftest import BACKENDS, SECRET, open_store

LEVELS = ("all", "team", "own", "no")
# Record labels each level reaches: its user's own record, the team's, and at "all" everyone's.
VISIBLE = {"all": {"mine-all", "mine-team", "mine-own", "mine-no", "team", "other"},
           "team": {"mine-team", "team"}, "own": {"mine-own"}, "no": set()}
LABELS = ("mine-all", "mine-team", "mine-own", "mine-no", "team", "other")
ENTITIES = ("Account", "Contact", "Lead", "Opportunity", "Case", "Task", "Meeting", "Call", "Document", "Email")
INFLOW_MODULES = {"Account": "customer", "Contact": "contact", "Opportunity": "potential", "Task": "task",
                  "Meeting": "event"}
STREAM_ENTITIES = ("Account", "Contact", "Lead", "Opportunity", "Case", "Meeting", "Task")
DUPLICATE_CHECKED = ("Account", "Contact", "Lead")


def record_body(entity: str, name: str) -> dict[str, Any]:
    """A valid new record of `entity` whose name (last name for persons) is `name`."""
    if entity in ("Contact", "Lead"):
        return {"lastName": name}
    body: dict[str, Any] = {"name": name}
    if entity == "Opportunity":
        body.update(amount=1, closeDate="2030-01-01")
    elif entity in ("Meeting", "Call"):
        body.update(dateStart="2030-01-01 10:00:00", dateEnd="2030-01-01 11:00:00")
    elif entity == "Document":
        body.update(publishDate="2030-01-01")
    return body


def ok(response: httpx.Response, *statuses: int) -> httpx.Response:
    """The response, which must have one of `statuses` (never a server error)."""
    assert response.status_code in statuses, (response.request.method, str(response.request.url),
                                              response.status_code, response.text[:300])
    return response


@dataclass
class World:
    app: Any
    directory: UserDirectory
    admin: TestClient
    team: str
    users: dict[str, str]  # level (or "other") -> user id
    keys: dict[str, str]  # level -> API key
    portal: BlockingPortal
    records: dict[str, dict[str, str]] = field(default_factory=dict)  # entity -> label -> id
    clients: dict[str, TestClient] = field(default_factory=dict)  # by API key

    def client(self, key: str) -> TestClient:
        """A client sending this API key (one per key; the headers of both protocols' schemes)."""
        client = self.clients.get(key)
        if client is None:
            client = self.clients[key] = TestClient(self.app, base_url="http://testserver",
                                                    headers={"X-Api-Key": key})
            client.portal = self.portal
        return client

    def espo(self, level: str) -> TestClient:
        return self.client(self.keys[level])

    def inflow(self, level: str) -> TestClient:
        return self.client(self.keys[level])

    def user(self, scopes: dict[str, Any], **kwargs: Any) -> tuple[int, TestClient]:
        """A new user in the team with a role of `scopes`, and an EspoCRM client acting as them."""
        name = f"u{uuid.uuid4().hex[:12]}"
        user_id = self.directory.create_user(name, None, team_ids=[int(self.team)], **kwargs)
        self.directory.create_role(name, scopes)
        self.directory.assign_role(user_id, name)
        return user_id, self.client(self.directory.create_api_key(user_id).key)

    def labels(self, entity: str, ids: Iterable[str]) -> set[str]:
        """The labels of the world's records among `ids` (records other tests made are ignored)."""
        by_id = {record_id: label for label, record_id in self.records[entity].items()}
        return {by_id[str(i)] for i in ids if str(i) in by_id}

    def wire_id(self, entity: str, label: str) -> str:
        return encode_id(entity, int(self.records[entity][label]))

    def create(self, entity: str, label: str, owner: str | int, *, in_team: bool = False) -> str:
        """A record made by the admin, assigned to `owner` (a level, "other", or a user id), in the team if
        asked."""
        body = record_body(entity, f"Acl {label} {uuid.uuid4().hex[:6]}")
        body["assignedUserId"] = str(owner) if isinstance(owner, int) else self.users[owner]
        if in_team:
            body["teamsIds"] = [self.team]
        response = ok(self.admin.post(f"/api/v1/{entity}", json=body, headers={"X-Skip-Duplicate-Check": "true"}),
                      200)
        return response.json()["id"]

    def throwaway(self, entity: str) -> dict[str, str]:
        """Fresh records labelled as the world's, for a destructive path: label -> id."""
        records = {f"mine-{level}": self.create(entity, f"mine-{level}", level) for level in LEVELS}
        records["team"] = self.create(entity, "team", "other", in_team=True)
        records["other"] = self.create(entity, "other", "other")
        return records


def role_scopes(level: str) -> dict[str, dict[str, str]]:
    return {entity: {"create": "yes", "read": level, "edit": level, "delete": level} for entity in ENTITIES}


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          portal: BlockingPortal) -> Iterator[World]:
    directory_path: Path = tmp_path_factory.mktemp("acl")
    with open_store(request.param, directory_path) as store:
        config = Config(data_dir=directory_path, database_url=store.url, secret_key=SECRET,
                        inflow_rate_limit="1000000/minute")
        app = build_app(config, store.database)
        directory = UserDirectory(store.database, KeyRing(SECRET))
        admin_id = directory.create_user("admin", "admin-password-1", user_type="admin")
        admin = TestClient(app, headers={"X-Api-Key": directory.create_api_key(admin_id).key})
        admin.portal = portal
        team = admin.post("/api/v1/Team", json={"name": "Acl team"}).json()["id"]
        users, keys = {}, {}
        for level in LEVELS:
            user_id = directory.create_user(f"level-{level}", f"password-{level}-1", team_ids=[int(team)])
            directory.create_role(f"level-{level}", role_scopes(level))
            directory.assign_role(user_id, f"level-{level}")
            users[level], keys[level] = str(user_id), directory.create_api_key(user_id).key
        users["other"] = str(directory.create_user("other", "password-other-1"))
        world = World(app, directory, admin, team, users, keys, portal)
        for entity in ENTITIES:
            world.records[entity] = world.throwaway(entity)
        yield world
        for client in [world.admin, *world.clients.values()]:
            client.close()
