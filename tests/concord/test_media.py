"""Record attachments (specs/concord.md §2, Concord's MediaController and MediaResource): `POST
/api/{resource}/{id}/media` and `DELETE /api/{resource}/{id}/media/{media}` on contacts, companies, deals and
activities, the `media` array of their single records, and PolyCRM's Bearer-token content routes the
resource's URLs name. Shapes and messages as a running Concord CRM 1.4.1 answered them; the files are the
core's, listed by InflowCRM as the record's files."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx
import pytest

from polycrm.app import build_app
from polycrm.config import Config
from polycrm.dialects.inflow.ids import encode_id
from tests.api.conftest import ApiHarness
from tests.concord.conftest import JSON_HEADERS, Concord
from tests.support.stores import Store

HELLO = b"hello world\n"
MEDIA_KEYS = ["id", "file_name", "extension", "size", "disk_path", "mime_type", "aggregate_type", "view_url",
              "view_path", "preview_url", "preview_path", "download_url", "download_path", "via_text_attribute",
              "created_at", "updated_at", "was_recently_created"]
MEDIA_MODEL = "Modules\\Core\\App\\Models\\Media"


def multipart(files: Any = None, data: dict[str, str] | None = None) -> tuple[bytes, str]:
    """A multipart body and its Content-Type, as httpx encodes them (the clients send JSON by default)."""
    request = httpx.Request("POST", "http://test/", files=files, data=data)
    return request.read(), request.headers["content-type"]


def upload(concord: Concord, path: str, name: str = "hello.txt", content: bytes = HELLO,
           mime: str = "text/plain", field: str = "file") -> httpx.Response:
    body, content_type = multipart({field: (name, content, mime)})
    return concord.http.post(f"/api/{path}", content=body, headers={"Content-Type": content_type})


def files_on_disk(concord: Concord) -> list[Path]:
    """Every file under the files directory, the staging folder's included."""
    root = concord.harness.app.state.core.settings.files_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def stored_rows(concord: Concord) -> int:
    core = concord.harness.app.state.core
    with core.database.connect() as conn:
        return len(list(conn.execute(core.files.repository.table.select())))


def test_upload_show_download_and_delete(concord: Concord) -> None:
    contact = concord.create("contacts", {"first_name": "Ada"})
    assert contact["media"] == []  # shown on every single record of a Mediable resource, as Concord
    response = upload(concord, f"contacts/{contact['id']}/media")
    assert response.status_code == 201, response.content
    media = response.json()
    assert list(media) == MEDIA_KEYS
    assert (media["file_name"], media["extension"], media["size"], media["mime_type"], media["aggregate_type"]) == (
        "hello.txt", "txt", len(HELLO), "text/plain", "document")
    assert media["disk_path"] == f"media/contact/{contact['id']}/hello.txt"
    assert media["view_path"] == f"/api/media/{media['id']}"
    assert media["preview_path"] == f"/api/media/{media['id']}/preview"
    assert media["download_path"] == f"/api/media/{media['id']}/download"
    assert media["download_url"] == "http://testserver" + media["download_path"]
    assert media["via_text_attribute"] is False and media["was_recently_created"] is True
    assert media["created_at"].endswith(".000000Z") and media["updated_at"] == media["created_at"]
    shown = concord.get(f"contacts/{contact['id']}").json()
    assert shown["media"] == [dict(media, was_recently_created=False)]
    assert "media" not in concord.get("contacts").json()["data"][0]  # index rows carry no media, as Concord
    download = concord.http.get(media["download_path"])
    assert download.status_code == 200 and download.content == HELLO
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''hello.txt"
    assert download.headers["content-type"].startswith("text/plain")
    assert download.headers["x-content-type-options"] == "nosniff" and "x-ratelimit-remaining" in download.headers
    preview = concord.http.get(media["preview_path"])
    assert preview.content == HELLO and preview.headers["content-disposition"].startswith("inline;")
    assert "sandbox" in preview.headers["content-security-policy"]
    assert concord.http.get(media["view_path"]).content == HELLO
    assert concord.delete(f"contacts/{contact['id']}/media/{media['id']}").status_code == 204
    assert concord.get(f"contacts/{contact['id']}").json()["media"] == []
    gone = concord.delete(f"contacts/{contact['id']}/media/{media['id']}")
    assert gone.status_code == 404 and gone.json() == {"message": f"No query results for model [{MEDIA_MODEL}] "
                                                                  f"{media['id']}"}
    assert concord.http.get(media["download_path"]).status_code == 404
    assert files_on_disk(concord) == [] and stored_rows(concord) == 0


def test_every_mediable_resource_and_concord_naming(concord: Concord) -> None:
    company = concord.create("companies", {"name": "Acme"})
    deal = concord.create("deals", {"name": "Big", "stage_id": 1})
    task = concord.create("activities", {"title": "Call", "due_date": "2030-01-15", "user_id": concord.user_id})
    for name, record, folder in (("companies", company, "company"), ("deals", deal, "deal"),
                                 ("activities", task, "activity")):
        created = upload(concord, f"{name}/{record['id']}/media", "Straße Plan (v2).PDF", b"%PDF-1.4",
                         "application/pdf")
        assert created.status_code == 201, created.content
        media = created.json()
        # Concord's name: ASCII, unsafe runs as `-`, the extension in lower case
        assert (media["file_name"], media["extension"], media["aggregate_type"]) == (
            "Strae-Plan-v2.pdf", "pdf", "pdf")
        assert media["disk_path"] == f"media/{folder}/{record['id']}/Strae-Plan-v2.pdf"
        assert [m["id"] for m in concord.get(f"{name}/{record['id']}").json()["media"]] == [media["id"]]
    # the same name again on one record: `-1`, `-2` (Concord's per-record media folder)
    again = [upload(concord, f"companies/{company['id']}/media", "Straße Plan (v2).pdf").json()["file_name"]
             for _ in range(2)]
    assert again == ["Strae-Plan-v2-1.pdf", "Strae-Plan-v2-2.pdf"]
    # no extension: the usual one of the type sent (Concord guesses it from the content)
    readme = upload(concord, f"companies/{company['id']}/media", "README", b"text", "text/plain").json()
    assert (readme["file_name"], readme["extension"]) == ("README.txt", "txt")
    # an empty file is taken, as Concord takes it
    empty = upload(concord, f"companies/{company['id']}/media", "empty.csv", b"", "text/csv")
    assert empty.status_code == 201 and empty.json()["size"] == 0 and empty.json()["aggregate_type"] == "spreadsheet"
    image = upload(concord, f"companies/{company['id']}/media", "logo.png", b"\x89PNG", "image/png").json()
    assert image["aggregate_type"] == "image"
    odd = upload(concord, f"companies/{company['id']}/media", "data.json", b"{}", "application/x-made-up").json()
    assert (odd["mime_type"], odd["aggregate_type"]) == ("application/x-made-up", "document")


def test_notes_and_calls_show_media_on_request_and_take_no_uploads(concord: Concord) -> None:
    contact = concord.create("contacts", {"first_name": "Ann"})
    note = concord.create("notes", {"body": "A note", "via_resource": "contacts", "via_resource_id": contact["id"]})
    assert "media" not in note
    assert concord.get(f"notes/{note['id']}", **{"with": "media"}).json()["media"] == []
    refused = upload(concord, f"notes/{note['id']}/media")
    assert refused.status_code == 404 and refused.json() == {"message": ""}
    for name, record_id in (("documents", 1), ("products", 1), ("nosuch", 1)):
        assert upload(concord, f"{name}/{record_id}/media").status_code == 404
    assert concord.delete(f"notes/{note['id']}/media/1").status_code == 404
    assert files_on_disk(concord) == [] and stored_rows(concord) == 0


def test_the_same_files_through_inflow_and_espo(concord: Concord) -> None:
    harness = concord.harness
    contact = concord.create("contacts", {"first_name": "Jo", "last_name": "Bloggs"})
    media = upload(concord, f"contacts/{contact['id']}/media", "terms.pdf", b"%PDF-1.4 terms", "application/pdf").json()
    inflow = harness.client({"x-api-key": harness.admin_key}, validate=False)
    listed = inflow.get(f"/api/contacts/{encode_id('Contact', contact['id'])}/files")
    assert listed.status_code == 200, listed.content
    [item] = listed.json()["data"]
    assert (item["fileName"], item["fileSize"], item["mimeType"], item["isStandaloneFile"]) == (
        "terms.pdf", 14, "application/pdf", True)
    assert inflow.get(f"/api/files/{item['id']}/download").content == b"%PDF-1.4 terms"
    espo = harness.key_client(harness.admin_key, validate=False)
    assert espo.get(f"/api/v1/Contact/{contact['id']}").json()["lastName"] == "Bloggs"  # the same record
    # a file InflowCRM attached shows in Concord's `media`, and Concord removes it
    inflow_body, content_type = multipart({"standaloneAttachments": ("notes.txt", b"from inflow", "text/plain")},
                                          {"module": "contact"})  # InflowCRM's form: every field top-level
    patched = inflow.patch(f"/api/updateRecord/{encode_id('Contact', contact['id'])}", content=inflow_body,
                           headers={"Content-Type": content_type})
    assert patched.status_code == 200, patched.content
    shown = concord.get(f"contacts/{contact['id']}").json()["media"]
    assert [m["file_name"] for m in shown] == ["terms.pdf", "notes.txt"] and shown[0]["id"] == media["id"]
    assert concord.delete(f"contacts/{contact['id']}/media/{shown[1]['id']}").status_code == 204
    after = inflow.get(f"/api/contacts/{encode_id('Contact', contact['id'])}/files").json()
    assert [f["fileName"] for f in after["data"]] == ["terms.pdf"]


def test_rights(concord: Concord) -> None:
    contact = concord.create("contacts", {"first_name": "Own", "user_id": concord.user_id})
    media = upload(concord, f"contacts/{contact['id']}/media").json()
    reader = concord.as_user("reader", {"Contact": {"create": "yes", "read": "all", "edit": "own", "delete": "no"}})
    refused = upload(reader, f"contacts/{contact['id']}/media")
    assert refused.status_code == 403 and refused.json() == {"message": "This action is unauthorized."}
    assert reader.delete(f"contacts/{contact['id']}/media/{media['id']}").status_code == 403
    assert reader.http.get(media["download_path"]).content == HELLO  # reading the record reads its files
    mine = reader.create("contacts", {"first_name": "Mine", "user_id": reader.user_id})
    assert upload(reader, f"contacts/{mine['id']}/media").status_code == 201
    outsider = concord.as_user("outsider", {"Contact": {"create": "no", "read": "own", "edit": "own",
                                                        "delete": "no"}})
    assert upload(outsider, f"contacts/{contact['id']}/media").status_code == 403
    hidden = outsider.http.get(media["download_path"])
    assert hidden.status_code == 404 and hidden.json() == {"message": f"No query results for model [{MEDIA_MODEL}] "
                                                                      f"{media['id']}"}
    assert [m["id"] for m in concord.get(f"contacts/{contact['id']}").json()["media"]] == [media["id"]]
    assert len(files_on_disk(concord)) == 2 and stored_rows(concord) == 2
    anonymous = concord.harness.client(JSON_HEADERS, validate=False)
    for answer in (anonymous.post(f"/api/contacts/{contact['id']}/media", files={"file": ("a.txt", b"a")}),
                   anonymous.delete(f"/api/contacts/{contact['id']}/media/{media['id']}"),
                   anonymous.get(media["download_path"])):
        assert answer.status_code == 401 and answer.json() == {"message": "Unauthenticated."}
    assert len(files_on_disk(concord)) == 2


def test_bad_input_leaves_nothing(concord: Concord) -> None:
    contact = concord.create("contacts", {"first_name": "Bad"})
    path = f"contacts/{contact['id']}/media"

    def refused(response: httpx.Response, status: int, body: dict[str, Any]) -> None:
        assert (response.status_code, response.json()) == (status, body), response.content
        assert files_on_disk(concord) == [] and stored_rows(concord) == 0

    required = {"message": "The file field is required.", "errors": {"file": ["The file field is required."]}}
    refused(concord.post(path, {"file": "x"}), 422, required)  # JSON: no file
    refused(concord.http.post(f"/api/{path}"), 422, required)
    body, content_type = multipart({"other": (None, b"x")})  # a multipart form without the file
    refused(concord.http.post(f"/api/{path}", content=body, headers={"Content-Type": content_type}), 422, required)
    refused(upload(concord, path, field="attachment"), 422, required)
    body, content_type = multipart({"file": (None, b"not a file")})  # a text part
    refused(concord.http.post(f"/api/{path}", content=body, headers={"Content-Type": content_type}), 422, {
        "message": "The file field must be a file.", "errors": {"file": ["The file field must be a file."]}})
    body, content_type = multipart([("file", ("a.txt", b"a", "text/plain")), ("file", ("b.txt", b"b", "text/plain"))])
    two = concord.http.post(f"/api/{path}", content=body, headers={"Content-Type": content_type})
    refused(two, 422, {"message": "Only one file may be uploaded at a time.",
                       "errors": {"file": ["Only one file may be uploaded at a time."]}})
    exe = upload(concord, path, "setup.exe", b"MZ", "application/octet-stream")
    assert exe.status_code == 415 and exe.content.startswith(b'{"message":"Cannot upload file with extension `exe`. '
                                                             b'Only the `jpg`, `jpeg`, `png`')
    refused(exe, 415, exe.json())
    refused(upload(concord, path, "noext", b"x", "application/x-unknown"), 415, {
        "message": upload(concord, path, "noext", b"x", "application/x-unknown").json()["message"]})
    cut = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhalf a fi'
    refused(concord.http.post(f"/api/{path}", content=cut, headers={"Content-Type": "multipart/form-data; boundary=b"}),
            422, {"message": "The multipart body ended inside a part.",
                  "errors": {"body": ["The multipart body ended inside a part."]}})
    no_boundary = concord.http.post(f"/api/{path}", content=b"x", headers={"Content-Type": "multipart/form-data"})
    refused(no_boundary, 422, {"message": "multipart/form-data needs a boundary.",
                               "errors": {"body": ["multipart/form-data needs a boundary."]}})
    nul = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a\x00b.txt"\r\n\r\nhi\r\n--b--\r\n'
    refused(concord.http.post(f"/api/{path}", content=nul, headers={"Content-Type": "multipart/form-data; boundary=b"}),
            422, {"message": "The request body must not contain NUL characters.",
                  "errors": {"body": ["The request body must not contain NUL characters."]}})
    # the record first: a wrong id is Concord's 404 naming the model, before the file is looked at
    missing = upload(concord, "contacts/999999/media", "setup.exe")
    refused(missing, 404, {"message": "No query results for model [Modules\\Contacts\\App\\Models\\Contact] 999999"})
    refused(upload(concord, "contacts/abc/media"), 404,
            {"message": "No query results for model [Modules\\Contacts\\App\\Models\\Contact] abc"})
    refused(concord.delete(f"contacts/{contact['id']}/media/abc"), 404,
            {"message": f"No query results for model [{MEDIA_MODEL}] abc"})
    refused(concord.delete("contacts/999999/media/1"), 404,
            {"message": "No query results for model [Modules\\Contacts\\App\\Models\\Contact] 999999"})
    refused(concord.http.get("/api/media/999999/download"), 404,
            {"message": f"No query results for model [{MEDIA_MODEL}] 999999"})
    assert concord.http.put(f"/api/{path}").status_code == 405
    # a file of another record is not this record's
    other = concord.create("contacts", {"first_name": "Other"})
    theirs = upload(concord, f"contacts/{other['id']}/media").json()
    assert concord.delete(f"contacts/{contact['id']}/media/{theirs['id']}").status_code == 404
    assert [m["id"] for m in concord.get(f"contacts/{other['id']}").json()["media"]] == [theirs["id"]]


def test_oversized_uploads(concord: Concord, config: Config, store: Store) -> None:
    app = build_app(dataclasses.replace(config, max_upload_bytes=1000, max_body_bytes=4096,
                                        concord_rate_limit="100000/minute"), store.database)
    client = ApiHarness(app, concord.harness.directory, concord.user_id, "", concord.harness.portal).client(
        {"Accept": "application/json", "Authorization": f"Bearer {concord.token}"}, validate=False)
    contact = concord.create("contacts", {"first_name": "Big"})
    path = f"/api/contacts/{contact['id']}/media"
    body, content_type = multipart({"file": ("big.txt", b"x" * 1001, "text/plain")})
    over = client.post(path, content=body, headers={"Content-Type": content_type})
    assert over.status_code == 413 and over.json() == {"message": "File is too big. Maximum upload size is 1000 bytes."}
    body, content_type = multipart({"file": ("fits.txt", b"x" * 1000, "text/plain")})
    assert client.post(path, content=body, headers={"Content-Type": content_type}).status_code == 201
    body, content_type = multipart({"file": ("a.txt", b"a", "text/plain")}, {"pad": "p" * 6000})
    whole = client.post(path, content=body, headers={"Content-Type": content_type})
    assert whole.status_code == 413 and "exceeds" in whole.json()["message"]
    assert [m["size"] for m in concord.get(f"contacts/{contact['id']}").json()["media"]] == [1000]
    assert len(files_on_disk(concord)) == 1 and stored_rows(concord) == 1


@pytest.mark.parametrize("name", ["notes.txt", "../../etc/passwd.txt", "C:\\temp\\a.txt"])
def test_names_never_leave_the_record_folder(concord: Concord, name: str) -> None:
    contact = concord.create("contacts", {"first_name": "Path"})
    media = upload(concord, f"contacts/{contact['id']}/media", name).json()
    assert "/" not in media["file_name"] and "\\" not in media["file_name"]
    assert media["disk_path"] == f"media/contact/{contact['id']}/{media['file_name']}"
