"""Bad input on every write and read: an ITFlow envelope every time, never a 500, nothing half-written."""

from __future__ import annotations

import pytest

from polycrm.dialects.itflow.mapping import ItflowMapping
from tests.itflow.conftest import Itflow

MAPPING = ItflowMapping.load()
WRITES = sorted((module, function) for module, endpoint in MAPPING.endpoints.items()
                for function in endpoint.functions if function != "read")
BAD_VALUES = [[1, 2], {"a": 1}, "x" * 70_000, "<script>alert(1)</script>", 1e308, -1, True, "", "0", "\u00e9\U0001F600",
              "9" * 40, "2024-13-45"]


@pytest.mark.parametrize("module, function", WRITES, ids=[f"{m}/{f}" for m, f in WRITES])
def test_every_field_of_every_write_survives_bad_values(itflow: Itflow, client_id: int, module: str, function: str):
    endpoint = MAPPING.endpoints[module]
    base = {"client_id": client_id, "api_key_decrypt_password": itflow.key.decrypt_password}
    base |= {field.key: "1" for field in endpoint.fields} | {f"{module[:-1]}_id": "1", "asset_id": "1",
                                                             "ticket_id": "1", "contact_id": "1"}
    for field in [f.key for f in endpoint.fields] + ["client_id", "api_key_decrypt_password"]:
        for value in BAD_VALUES:
            response = itflow.post(f"{module}/{function}", base | {field: value})
            assert response.status_code == 200, (field, value, response.content[:200])
            body = response.json()
            assert body["success"] in ("True", "False") and set(body) <= {"success", "count", "data", "message"}


def test_reads_survive_bad_parameters(itflow: Itflow, client_id: int):
    for module, endpoint in MAPPING.endpoints.items():
        params = [f.param for f in endpoint.filters] + ["client_id", "limit", "offset"]
        for param in params:
            for value in ("", "-1", "abc", "9" * 40, "%", "1e400", "\u00e9"):
                response = itflow.get(f"{module}/read", **{param: value})
                assert response.status_code in (200, 400), (module, param, value)
                assert response.json()["success"] in ("True", "False")


def test_refused_writes_leave_nothing_behind(itflow: Itflow, client_id: int):
    before = itflow.read("assets")
    assert itflow.post("assets/create", {"asset_name": "x", "client_id": client_id,
                                         "asset_purchase_date": "not a date"}).json()["success"] == "False"
    assert itflow.read("assets") == before
