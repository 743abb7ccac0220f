"""ITFlow API tests: an application over a fresh store, an administrator's all-clients key, and a client that
sends requests the way ITFlow's PowerShell scripts do (specs/itflow.md §10)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from tests.api.conftest import ApiHarness, harness  # noqa: F401 - the shared per-test application

POWERSHELL_AGENT = "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.4522"


def powershell_body(fields: dict[str, Any]) -> bytes:
    """A hand-written JSON here-string as the scripts send it: spaces before the colons, indented lines."""
    lines = [f'    "{k}" : {orjson.dumps(v).decode()}' for k, v in fields.items()]
    return ("{\n" + ",\n".join(lines) + "\n}").encode()


@dataclass
class ItflowKey:
    key: str
    decrypt_password: str
    client_id: int


class Itflow:
    """Requests to `/api/v1/{module}/{function}.php` with one key."""

    def __init__(self, harness: ApiHarness, key: ItflowKey):
        self.harness = harness
        self.key = key
        self.http: TestClient = harness.client({"User-Agent": POWERSHELL_AGENT}, validate=False)

    def get(self, path: str, key: str | None = None, **params: Any) -> httpx.Response:
        query = {"api_key": self.key.key if key is None else key, **params}
        return self.http.get(f"/api/v1/{path}.php", params=query)

    def post(self, path: str, body: dict[str, Any] | None = None, key: str | None = None,
             raw: bytes | None = None) -> httpx.Response:
        """POST as Invoke-RestMethod without -ContentType: JSON sent as a form, with Expect: 100-continue."""
        fields = {"api_key": self.key.key if key is None else key, **(body or {})}
        content = raw if raw is not None else powershell_body(fields)
        return self.http.post(f"/api/v1/{path}.php", content=content, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Expect": "100-continue"})

    def read(self, module: str, **params: Any) -> dict[str, Any]:
        response = self.get(f"{module}/read", **params)
        assert response.status_code == 200, response.content
        return response.json()

    def create(self, module: str, body: dict[str, Any]) -> int:
        response = self.post(f"{module}/create", body)
        assert response.json()["success"] == "True", (response.content, response.headers.get("x-polycrm-reason"))
        return response.json()["data"][0]["insert_id"]

    def scoped(self, client_id: int) -> Itflow:
        """Another client of this API with a key limited to one client."""
        issued = self.harness.directory.create_itflow_key(self.harness.admin_id, client_id=client_id)
        return Itflow(self.harness, ItflowKey(issued.key, issued.decrypt_password, client_id))


@pytest.fixture
def itflow(harness: ApiHarness) -> Iterator[Itflow]:
    issued = harness.directory.create_itflow_key(harness.admin_id, name="psa-sync")
    yield Itflow(harness, ItflowKey(issued.key, issued.decrypt_password, 0))


@pytest.fixture
def client_id(itflow: Itflow) -> int:
    """A client created through the API, as the PowerShell clients/create sample does."""
    return itflow.create("clients", {
        "client_name": "Contoso", "client_type": "Managed", "client_website": "contoso.org",
        "client_referral": "Partner", "client_rate": "250", "client_currency_code": "USD", "client_net_terms": "30",
        "client_abbreviation": "CTS", "client_tax_id_number": "12-345", "client_is_lead": "0",
        "client_notes": "Notes"})
