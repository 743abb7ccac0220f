"""CSV imports (specs/concord.md §2 misc, Concord's ImportController and ImportResource):
`/api/{resource}/import...` on contacts and companies. Shapes and messages as a running Concord CRM 1.4.1
answered them; the records are the core's, the same rows through `/api/v1`."""

from __future__ import annotations

from typing import Any

import httpx

from tests.concord.conftest import Concord
from tests.concord.test_media import files_on_disk, upload
from tests.support.espo import subscribe_and_last_event

IMPORT_KEYS = ["id", "file_name", "skip_file_filename", "mappings", "resource_name", "status", "imported", "skipped",
               "duplicates", "progress", "fields", "user_id", "user", "next_batch", "completed_at", "revertable",
               "created_at", "updated_at", "authorizations", "was_recently_created"]
MAPPING_KEYS = ["original", "detected_attribute", "attribute", "preview", "skip", "auto_detected"]
MODEL = "Modules\\Core\\App\\Models\\Import"
CSV = (b"First Name,Last Name,E-Mail Address,Foo\n"
       b"ImpA,Test,impa@example.com,x\n"
       b",NoFirst,bademail,y\n")


def send(concord: Concord, resource: str = "contacts", content: bytes = CSV, name: str = "imp.csv") -> httpx.Response:
    return upload(concord, f"{resource}/import/upload", name=name, content=content, mime="text/csv")


def uploaded(concord: Concord, resource: str = "contacts", content: bytes = CSV) -> dict[str, Any]:
    response = send(concord, resource, content)
    assert response.status_code == 200, response.content
    return response.json()


def test_upload_detects_the_columns(concord: Concord) -> None:
    shown = uploaded(concord)
    assert list(shown) == IMPORT_KEYS
    assert [list(m) for m in shown["mappings"]] == [MAPPING_KEYS] * 4
    assert shown["mappings"][0] == {"original": "First Name", "detected_attribute": "first_name",
                                    "attribute": "first_name", "preview": "ImpA", "skip": False, "auto_detected": True}
    assert shown["mappings"][2]["preview"] == "impa@example.com, bademail"
    assert shown["mappings"][3] == {"original": "Foo", "detected_attribute": None, "attribute": None,
                                    "preview": "x, y", "skip": True, "auto_detected": False}
    assert shown["status"] == "mapping" and shown["progress"] == 0 and shown["was_recently_created"] is True
    assert shown["file_name"] == "imp.csv" and shown["resource_name"] == "contacts"
    assert shown["user"]["id"] == shown["user_id"] == concord.user_id
    assert "first_name" in [f["attribute"] for f in shown["fields"]]
    assert files_on_disk(concord) == []  # the staged file is gone: the rows are in the Import


def test_run_imports_skips_and_reverts(concord: Concord) -> None:
    shown = uploaded(concord)
    response = concord.post(f"contacts/import/{shown['id']}", {"mappings": shown["mappings"]})
    assert response.status_code == 200, response.content
    done = response.json()
    assert (done["status"], done["imported"], done["skipped"], done["duplicates"]) == ("finished", 1, 1, 0)
    assert done["revertable"] is True and done["completed_at"] and done["progress"] == 100
    assert "2 rows skipped" not in response.headers.get("X-PolyCRM-Warning", "")
    found = concord.get("contacts", q="impa@example.com").json()["data"]
    assert [c["first_name"] for c in found] == ["ImpA"]
    listed = concord.get("contacts/import").json()
    assert [i["id"] for i in listed] == [shown["id"]]
    reverted = concord.delete(f"contacts/import/{shown['id']}/revert")
    assert reverted.status_code == 200, reverted.content
    assert reverted.json()["imported"] == 0 and reverted.json()["revertable"] is False
    assert concord.get("contacts", q="impa@example.com").json()["data"] == []
    assert concord.delete(f"contacts/import/{shown['id']}/revert").status_code == 404
    assert concord.delete(f"contacts/import/{shown['id']}").status_code == 204
    missing = concord.delete(f"contacts/import/{shown['id']}")
    assert missing.status_code == 404
    assert missing.json() == {"message": f"No query results for model [{MODEL}] {shown['id']}"}


def ran(concord: Concord, resource: str, content: bytes) -> httpx.Response:
    shown = uploaded(concord, resource, content)
    return concord.post(f"{resource}/import/{shown['id']}", {"mappings": shown["mappings"]})


def test_duplicates_update_the_record_of_the_same_email(concord: Concord) -> None:
    old = concord.create("contacts", {"first_name": "Old", "email": "dup@example.com"})
    response = ran(concord, "contacts", b"First Name,Job Name,E-Mail Address\n"
                                        b"New,Boss,DUP@example.com\n"
                                        b"Twin,,twin@example.com\n"
                                        b"Twin2,Second,twin@example.com\n")
    done = response.json()
    assert (done["imported"], done["duplicates"], done["skipped"]) == (1, 2, 0), done
    again = concord.get(f"contacts/{old['id']}").json()
    assert (again["first_name"], again["job_title"]) == ("New", "Boss")
    twins = concord.get("contacts", q="twin@example.com").json()["data"]
    assert [(c["first_name"], c["job_title"]) for c in twins] == [("Twin2", "Second")]


def test_companies_import_and_are_the_same_rows_through_espo(concord: Concord) -> None:
    response = ran(concord, "companies", b"Name,Company Domain,City,Country\nAcme,acme.test,Paris,France\n")
    assert response.status_code == 200 and response.json()["imported"] == 1, response.content
    company = concord.get("companies", q="Acme").json()["data"][0]
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    account = espo.get(f"/api/v1/Account/{company['id']}").json()
    assert (account["name"], account["billingAddressCity"]) == ("Acme", "Paris"), response.json()["mappings"]
    contact = ran(concord, "contacts", b"First Name,Last Name\nEspo,Seen\n")
    assert contact.json()["imported"] == 1
    found = espo.get("/api/v1/Contact", params={"where[0][type]": "equals", "where[0][attribute]": "firstName",
                                                "where[0][value]": "Espo"}).json()
    assert [c["lastName"] for c in found["list"]] == ["Seen"]


def test_a_row_the_core_refuses_leaves_nothing_written(concord: Concord, monkeypatch: Any) -> None:
    from polycrm.core.errors import ValidationFailure
    from polycrm.core.records import RecordService
    original = RecordService.create_within
    calls = []

    def refuse_second(self: Any, conn: Any, actor: Any, data: Any, **kwargs: Any) -> Any:
        calls.append(data)
        if len(calls) == 2:
            raise ValidationFailure("Contact", "firstName", "required")
        return original(self, conn, actor, data, **kwargs)

    monkeypatch.setattr(RecordService, "create_within", refuse_second)
    shown = uploaded(concord, "contacts", b"First Name\nOne\nTwo\nThree\n")
    response = concord.post(f"contacts/import/{shown['id']}", {"mappings": shown["mappings"]})
    assert response.status_code == 422 and list(response.json()["errors"]) == ["rows.3.first_name"], response.content
    monkeypatch.setattr(RecordService, "create_within", original)
    assert concord.get("contacts", q="One").json()["data"] == []
    assert concord.get("contacts/import").json()[0]["status"] == "mapping"
    assert concord.post(f"contacts/import/{shown['id']}", {"mappings": shown["mappings"]}).json()["imported"] == 3


def test_bad_files_are_422_and_keep_nothing(concord: Concord) -> None:
    cases = [
        (b"Name\n\xff\xfe\n", "imp.csv", "The file must be a UTF-8 encoded CSV file."),
        (b"", "imp.csv", "The file has no heading row."),
        (b"First Name,,x\nA,B,C\n", "imp.csv", "The file's heading row must name every column."),
        (b"A,A\n1,2\n", "imp.csv", "The file's heading row must not name a column twice."),
        (b"First Name\n", "imp.csv", "The file has no rows to import."),
        (b'First Name\n"unclosed\n', "imp.csv", "The file is not a valid CSV file."),
        (b"First Name\n" + b"x\n" * 4001, "imp.csv", "The file has more than 4000 rows."),
        (CSV, "imp.xlsx", "The file field must be a file of type: csv, txt."),
        (b"First Name\nA\x00\n", "imp.csv", "The file must be a UTF-8 encoded CSV file."),
        (b"First Name\n" + b"x" * (10240 * 1024), "imp.csv", "The file field must not be greater than 10240 kilobytes."),
    ]
    for content, name, message in cases:
        response = send(concord, content=content, name=name)
        assert response.status_code == 422, (name, content[:20], response.content)
        assert response.json() == {"message": message, "errors": {"file": [message]}}
    missing = concord.post("contacts/import/upload", {})
    assert missing.status_code == 422 and missing.json()["errors"] == {"file": ["The file field is required."]}
    assert concord.get("contacts/import").json() == []
    bom = send(concord, content=b"\xef\xbb\xbfFirst Name\nBommed\n")
    assert bom.json()["mappings"][0]["attribute"] == "first_name"


def test_bad_mappings_are_422_in_concords_words(concord: Concord) -> None:
    shown = uploaded(concord)
    path = f"contacts/import/{shown['id']}"
    assert concord.post(path, {}).json() == {"message": "The mappings field is required.",
                                             "errors": {"mappings": ["The mappings field is required."]}}
    response = concord.post(path, {"mappings": [{"original": "x"}]})
    assert response.json() == {
        "message": "The mappings.0.auto_detected field is required. (and 3 more errors)",
        "errors": {"mappings.0.auto_detected": ["The mappings.0.auto_detected field is required."],
                   "mappings.0.original": ["The selected mappings.0.original is invalid."],
                   "mappings.0.skip": ["The mappings.0.skip field is required."],
                   "mappings.0.detected_attribute": ["The mappings.0.detected_attribute field must be present."]}}
    twice = [dict(m, attribute="first_name", skip=False) for m in shown["mappings"][:2]]
    errors = concord.post(path, {"mappings": twice}).json()["errors"]
    assert errors == {f"mappings.{i}.attribute": [f"The mappings.{i}.attribute field has a duplicate value."]
                      for i in (0, 1)}
    unknown = [dict(shown["mappings"][0], attribute="password")]
    assert concord.post(path, {"mappings": unknown}).json()["errors"] == {
        "mappings.0.attribute": ["The selected mappings.0.attribute is invalid."]}
    for body in ([], "x", {"mappings": "x"}, {"mappings": [1, 2, 3, 4, 5, 6]}):
        assert concord.post(path, body).status_code == 422
    assert concord.get("contacts", q="impa@example.com").json()["data"] == []
    # only some columns sent: the others are skipped
    only_email = concord.post(path, {"mappings": [shown["mappings"][0]]})
    assert only_email.status_code == 200 and only_email.json()["imported"] == 1


def test_missing_imports_and_resources(concord: Concord) -> None:
    for path in ("contacts/import/999", "contacts/import/abc"):
        response = concord.delete(path)
        assert response.status_code == 404
    assert concord.delete("contacts/import/999").json() == {"message": f"No query results for model [{MODEL}] 999"}
    for path in ("notes/import", "deals/import", "pipelines/import/sample"):
        assert concord.get(path).status_code == 404
    shown = uploaded(concord)
    assert concord.delete(f"companies/import/{shown['id']}").status_code == 404  # another resource's import
    assert concord.delete(f"contacts/import/{shown['id']}/revert").status_code == 404  # not run yet
    skip_file = concord.get(f"contacts/import/{shown['id']}/skip-file")  # not served (docs: Not done yet)
    assert skip_file.status_code == 404 and skip_file.json() == {"message": ""}


def test_sample(concord: Concord) -> None:
    response = concord.get("contacts/import/sample", total_rows=2)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == "attachment; filename=sample.csv"
    lines = response.text.splitlines()
    assert lines[0].startswith('"First Name","Last Name","E-Mail Address"') and len(lines) == 3
    assert '"Phone"' not in lines[0] and '"Tags"' not in lines[0]
    assert concord.get("contacts/import/sample", total_rows=1000).status_code == 422


def test_unauthenticated(concord: Concord) -> None:
    client = concord.http
    for method, path in (("GET", "contacts/import"), ("POST", "contacts/import/upload"), ("POST", "contacts/import/1"),
                         ("DELETE", "contacts/import/1"), ("DELETE", "contacts/import/1/revert"),
                         ("GET", "contacts/import/sample")):
        response = client.request(method, f"/api/{path}", headers={"Authorization": "Bearer nope",
                                                                   "Accept": "application/json"})
        assert response.status_code == 401 and response.json() == {"message": "Unauthenticated."}


def test_a_limited_user(concord: Concord) -> None:
    admins = uploaded(concord)
    reader = concord.as_user("reader", {"Contact": {"create": "no", "read": "all", "edit": "no", "delete": "no"}})
    assert send(reader).status_code == 403
    seller = concord.as_user("seller", {"Contact": {"create": "yes", "read": "own", "edit": "own", "delete": "own"}})
    assert seller.get("contacts/import").json() == []  # not the administrator's
    path = f"contacts/import/{admins['id']}"
    for response in (seller.post(path, {"mappings": admins["mappings"]}), seller.delete(path)):
        assert response.status_code == 403 and response.json() == {"message": "This action is unauthorized."}
    concord.create("contacts", {"first_name": "Theirs", "email": "theirs@example.com"})
    mine = uploaded(seller, content=b"First Name,E-Mail Address\nMine,mine@example.com\nHack,theirs@example.com\n")
    done = seller.post(f"contacts/import/{mine['id']}", {"mappings": mine["mappings"]}).json()
    assert (done["imported"], done["skipped"], done["duplicates"]) == (1, 1, 0)  # may not edit the admin's contact
    assert [i["id"] for i in seller.get("contacts/import").json()] == [mine["id"]]
    assert {i["id"] for i in concord.get("contacts/import").json()} == {admins["id"], mine["id"]}
    assert concord.post(f"contacts/import/{mine['id']}", {"mappings": mine["mappings"]}).status_code == 403
    reverted = seller.delete(f"contacts/import/{mine['id']}/revert")
    assert reverted.status_code == 200 and reverted.json()["imported"] == 0


def test_imported_records_send_webhooks(concord: Concord) -> None:
    def write() -> int:
        assert ran(concord, "contacts", b"First Name\nHooked\n").json()["imported"] == 1
        return concord.get("contacts", q="Hooked").json()["data"][0]["id"]

    last, contact_id = subscribe_and_last_event(concord.harness, "Contact.create", write)
    assert last == ("Contact", contact_id)


def test_two_runs_at_once_import_the_rows_once(concord: Concord) -> None:
    from concurrent.futures import ThreadPoolExecutor
    rows = b"".join(b"Par%d,par%d@example.com\n" % (i, i) for i in range(300))
    shown = uploaded(concord, "contacts", b"First Name,E-Mail Address\n" + rows)
    path = f"contacts/import/{shown['id']}"
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: concord.post(path, {"mappings": shown["mappings"]}), range(2)))
    assert sorted(a.status_code for a in answers) in ([200, 200], [200, 409]), [a.content[:200] for a in answers]
    assert all(a.json()["imported"] == 300 for a in answers if a.status_code == 200)
    assert concord.get("contacts", q="@example.com", per_page=1).json()["meta"]["total"] == 300


def test_a_large_file_imports_a_batch_a_call_as_concord(concord: Concord, monkeypatch) -> None:
    from polycrm.dialects.concord import imports

    monkeypatch.setattr(imports, "BATCH_ROWS", 2)  # Concord's 500, small here
    rows = [b"B%d,Batch,b%d@example.com" % (n, n) for n in range(4)] + [b"Again,Batch,b0@example.com"]
    shown = uploaded(concord, content=b"First Name,Last Name,E-Mail Address\n" + b"\n".join(rows) + b"\n")
    progress = []
    for _ in range(3):
        answer = concord.post(f"contacts/import/{shown['id']}", {"mappings": shown["mappings"]})
        assert answer.status_code == 200, answer.content
        done = answer.json()
        progress.append((done["status"], done["imported"], done["duplicates"], done["progress"], done["next_batch"]))
    assert progress == [("in-progress", 2, 0, 33, 2), ("in-progress", 4, 0, 66, 3), ("finished", 4, 1, 100, None)]
    assert done["revertable"] is True and done["completed_at"]
    # The last row named the first one's address, imported two batches before: it updated that contact.
    assert [c["first_name"] for c in concord.get("contacts", q="b0@example.com").json()["data"]] == ["Again"]
    again = concord.post(f"contacts/import/{shown['id']}", {"mappings": shown["mappings"]}).json()
    assert (again["status"], again["imported"]) == ("finished", 4)  # a finished import is answered as it is
    assert concord.delete(f"contacts/import/{shown['id']}/revert").json()["imported"] == 0  # every batch's
