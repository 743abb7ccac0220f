"""CSV imports (specs/concord.md §2 misc, Concord's ImportController and ImportResource):
`/api/{resource}/import...` on contacts and companies. Shapes and messages as a running Concord CRM 1.4.1
answered them; the records are the core's, the same rows through `/api/v1`."""

from __future__ import annotations

from typing import Any

import httpx

from tests.concord.conftest import Concord
from tests.concord.test_media import files_on_disk, upload

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
    assert not [p for p in files_on_disk(concord) if "staging" in str(p)]  # the staged file is gone


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
