"""File uploads (specs/inflowcrm.md §8) and the 2026 file endpoints: limits, all-or-nothing writes, download
headers and access, persistence across restarts, soft delete keeping files and purge removing them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from polycrm.app import build_app
from polycrm.dialects.inflow import api as inflow_api_module
from polycrm.store.database import open_database
from polycrm.store.files import FileRepository
from tests.inflow.conftest import create, error

PDF = b"%PDF-1.4 contract"


@pytest.fixture
def files_dir(config) -> Path:
    return config.data_dir / "files"


def stored(files_dir: Path) -> list[Path]:
    """Every file under the files directory (staging included: failed uploads must leave nothing)."""
    return sorted(p for p in files_dir.rglob("*") if p.is_file()) if files_dir.exists() else []


@pytest.fixture
def contract_field(harness):
    harness.app.state.core.add_field("Account", "cContract", "file", {}, {"inflow": "contract"})


def upload(client: TestClient, files: list, path: str = "/api/createRecord", method: str = "POST", **fields):
    return client.request(method, path, data={"module": "customer", **fields}, files=files)


def test_named_file_field_upload_download_and_replace(inflow, contract_field, files_dir):
    created = upload(inflow, [("contract", ("contract.pdf", PDF, "application/pdf"))], name="Signed")
    assert created.status_code == 201, created.text
    record = created.json()["data"]
    item = record["contract"]
    assert (item["fileName"], item["fileSize"], item["mimeType"], item["fieldName"], item["isStandaloneFile"]) == (
        "contract.pdf", len(PDF), "application/pdf", "contract", False)
    download = inflow.get(f"/api/files/{item['id']}/download")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''contract.pdf"
    assert download.headers["content-length"] == str(len(PDF))
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["cache-control"] == "no-cache, no-store, must-revalidate"
    assert len(stored(files_dir)) == 1
    replaced = upload(inflow, [("contract", ("v2.pdf", b"%PDF v2", "application/pdf")),
                               ("standaloneAttachments", ("note.txt", b"note", "text/plain"))],
                      path=f"/api/updateRecord/{record['id']}", method="PATCH")
    assert replaced.status_code == 200, replaced.text
    after = replaced.json()["data"]
    assert after["contract"]["fileName"] == "v2.pdf" and after["modifiedAt"] >= record["modifiedAt"]
    assert [f["fileName"] for f in after["files"]] == ["v2.pdf", "note.txt"]
    assert len(stored(files_dir)) == 2  # the replaced content is gone from disk
    error(inflow.get(f"/api/files/{item['id']}/download"), 404, "NOT_FOUND")
    appended = upload(inflow, [("standaloneAttachments", ("more.txt", b"more", "text/plain"))],
                      path=f"/api/updateRecord/{record['id']}", method="PATCH")
    assert [f["fileName"] for f in appended.json()["data"]["files"]] == ["v2.pdf", "note.txt", "more.txt"]


def test_multipart_fields_are_coerced_by_type(inflow, harness):
    harness.app.state.core.add_field("Account", "cTags", "multiEnum", {"options": ["a", "b"]}, {"inflow": "tags"})
    harness.app.state.core.add_field("Account", "cScore", "int", {}, {"inflow": "score"})
    harness.app.state.core.add_field("Account", "cVip", "bool", {}, {"inflow": "vip"})
    response = inflow.post("/api/createRecord", data={"module": "customer", "name": "Form", "tags": ["a", "b"],
                                                      "score": "42", "vip": "true", "website": ""})
    assert response.status_code == 201, response.text
    record = response.json()["data"]
    assert (record["tags"], record["score"], record["vip"], record["website"]) == (["a", "b"], 42, True, "")
    as_json = inflow.post("/api/createRecord", data={"module": "customer", "name": "Json tags", "tags": '["b"]'})
    assert as_json.json()["data"]["tags"] == ["b"]
    error(inflow.post("/api/createRecord", data={"module": "customer", "name": ["a", "b"]}), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("files,fields,bad", [
    ([("standaloneAttachments", (f"f{i}.txt", b"x", "text/plain")) for i in range(11)], {}, "files"),
    ([("unknown", ("a.txt", b"x", "text/plain"))], {}, "unknown"),
    ([("name", ("a.txt", b"x", "text/plain"))], {}, "name"),
    ([("contract", ("a.pdf", b"x", "application/pdf")), ("contract", ("b.pdf", b"y", "application/pdf"))], {},
     "contract"),
    ([("contract", ("a.pdf", b"x", "application/pdf"))], {"data": '{"name": "nested"}'}, "data"),
    ([("contract", ("a.pdf", b"x", "application/pdf"))], {"email": "not an email"}, "email"),
])
def test_bad_uploads_store_nothing(inflow, contract_field, files_dir, files, fields, bad):
    response = upload(inflow, files, **({"name": "Refused"} | fields))
    assert error(response, 400, "VALIDATION_ERROR")["details"][0]["field"] == bad
    assert inflow.post("/api/records/count", json={"module": "customer"}).json()["data"]["count"] == 0
    assert stored(files_dir) == []


def test_file_size_limit(inflow, contract_field, files_dir):
    limit = inflow_api_module.MAX_FILE_BYTES
    assert limit == 15 * 1024 * 1024
    too_big = upload(inflow, [("contract", ("big.bin", b"\0" * (limit + 1), "application/octet-stream"))], name="Big")
    assert error(too_big, 400, "VALIDATION_ERROR")["details"] == [
        {"field": "contract", "errors": ["File 'contract' exceeds the maximum size of 15 MB"]}]
    assert stored(files_dir) == []
    at_limit = upload(inflow, [("contract", ("max.bin", b"\1" * limit, "application/octet-stream"))], name="Max")
    assert at_limit.status_code == 201 and at_limit.json()["data"]["contract"]["fileSize"] == limit


def test_ten_files_are_accepted(inflow, files_dir):
    response = upload(inflow, [("standaloneAttachments", (f"f{i}.txt", b"x", "text/plain")) for i in range(10)],
                      name="Ten")
    assert response.status_code == 201 and len(response.json()["data"]["files"]) == 10
    assert len(stored(files_dir)) == 10


def test_failure_after_files_are_placed_rolls_everything_back(inflow, files_dir, monkeypatch):
    calls = []
    original = FileRepository.insert

    def failing_insert(self, conn, **values):
        calls.append(values["name"])
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(self, conn, **values)

    monkeypatch.setattr(FileRepository, "insert", failing_insert)
    response = upload(inflow, [("standaloneAttachments", ("a.txt", b"a", "text/plain")),
                               ("standaloneAttachments", ("b.txt", b"b", "text/plain"))], name="Half")
    error(response, 500, "INTERNAL_SERVER_ERROR")
    assert calls == ["a.txt", "b.txt"]
    assert inflow.post("/api/records/count", json={"module": "customer"}).json()["data"]["count"] == 0
    assert stored(files_dir) == []


def test_malformed_multipart(inflow):
    headers = {"content-type": "multipart/form-data; boundary=xyz"}
    error(inflow.post("/api/createRecord", content=b"--xyz\r\nContent-Disposition: form-data\r\n\r\nx\r\n--xyz--",
                      headers=headers), 400, "VALIDATION_ERROR")
    error(inflow.post("/api/createRecord", content=b"garbage", headers={"content-type": "multipart/form-data"}),
          400, "VALIDATION_ERROR")
    error(inflow.post("/api/createRecord", data={"name": "no module"}, files=[("x", ("a", b"a"))]), 400,
          "VALIDATION_ERROR")


def test_file_names_are_cleaned_and_encoded(inflow):
    response = upload(inflow, [("standaloneAttachments", ("../../etc/zażółć gęślą.PDF", b"x", "bogus type"))],
                      name="Names")
    item = response.json()["data"]["files"][0]
    assert (item["fileName"], item["fileExtension"], item["mimeType"]) == (
        "zażółć gęślą.PDF", "pdf", "application/octet-stream")
    download = inflow.get(f"/api/files/{item['id']}/download")
    assert download.headers["content-disposition"] == \
        "attachment; filename*=UTF-8''za%C5%BC%C3%B3%C5%82%C4%87%20g%C4%99%C5%9Bl%C4%85.PDF"


def test_download_needs_read_access_and_hides_existence(inflow, inflow_api):
    _, owner = inflow_api.user({"Account": {"create": "yes", "read": "own", "edit": "own", "delete": "own"}})
    record = upload(owner, [("standaloneAttachments", ("private.txt", b"secret", "text/plain"))],
                    name="Private").json()["data"]
    file_id = record["files"][0]["id"]
    _, other = inflow_api.user({"Account": {"create": "yes", "read": "own", "edit": "own", "delete": "own"}})
    assert error(other.get(f"/api/files/{file_id}/download"), 404, "NOT_FOUND")
    assert other.get(f"/api/files/{file_id[:8]}{'f' * 16}/download").json() == \
        other.get(f"/api/files/{file_id}/download").json()
    error(other.get(f"/api/customer/{record['id']}/files"), 403, "FORBIDDEN")
    assert inflow.get(f"/api/files/{file_id}/download").content == b"secret"
    error(inflow.get(f"/api/files/{record['id']}/download"), 404, "NOT_FOUND")  # a record id, not a file id


def test_files_survive_a_restart(inflow, config, store, harness):
    record = upload(inflow, [("standaloneAttachments", ("kept.txt", b"kept", "text/plain"))], name="Kept")
    file_id = record.json()["data"]["files"][0]["id"]
    database = open_database(store.url, schema=store.schema)
    try:
        restarted = TestClient(build_app(config, database), headers={"x-api-key": harness.admin_key})
        assert restarted.get(f"/api/files/{file_id}/download").content == b"kept"
        restarted.close()
    finally:
        database.dispose()


def test_soft_delete_keeps_files_and_purge_removes_them(inflow, harness, files_dir):
    kept = upload(inflow, [("standaloneAttachments", ("a.txt", b"a", "text/plain"))], name="Deleted").json()["data"]
    other = upload(inflow, [("standaloneAttachments", ("b.txt", b"b", "text/plain"))], name="Alive").json()["data"]
    contact = create(inflow, "contact", {"lastName": "Linked", "company": kept["id"]})
    assert inflow.delete(f"/api/customer/{kept['id']}").status_code == 204
    assert len(stored(files_dir)) == 2
    error(inflow.get(f"/api/files/{kept['files'][0]['id']}/download"), 404, "NOT_FOUND")
    core = harness.app.state.core
    assert core.purge(datetime.utcnow() - timedelta(days=1)) == {}  # deleted too recently
    assert core.purge(datetime.utcnow() + timedelta(days=1), ["Account"]) == {"Account": 1}
    assert len(stored(files_dir)) == 1
    assert inflow.get(f"/api/files/{other['files'][0]['id']}/download").content == b"b"
    assert inflow.get(f"/api/contact/{contact['id']}").json()["data"]["company"] is None
    espo = harness.key_client(harness.admin_key)
    assert espo.get(f"/api/v1/Account/{int(kept['id'][8:], 16)}").status_code == 404
