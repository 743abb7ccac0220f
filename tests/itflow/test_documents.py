"""documents, locations and certificates (specs/itflow.md §8.6, §8.10, §8.2)."""

from __future__ import annotations

from polycrm.core.search import SearchQuery
from polycrm.query.tree import Compare, Op, Sort
from tests.itflow.conftest import Itflow


def test_document_create_update_keeps_versions(itflow: Itflow, client_id: int):
    doc_id = itflow.create("documents", {"document_name": "Runbook", "document_description": "How to",
                                         "document_content": "This is an <b>example</b> document",
                                         "client_id": str(client_id)})
    row = itflow.read("documents", document_id=doc_id)["data"][0]
    assert row["document_content"] == "This is an <b>example</b> document"
    assert row["document_content_raw"] == "RunbookHow to This is an  example  document"
    body = {"document_id": str(doc_id), "client_id": str(client_id)}
    assert itflow.post("documents/update", body | {"document_description": "v2"}).json() == {
        "success": "True", "count": 1}
    assert itflow.post("documents/update", body).json() == {"success": "True", "count": 1}
    row = itflow.read("documents", document_id=doc_id)["data"][0]
    assert row["document_description"] == "v2" and row["document_content"].startswith("This is an")
    admin = itflow.harness.directory.actor(itflow.harness.admin_id)
    versions = itflow.harness.app.state.core.records("KnowledgeBaseArticleVersion").search(
        admin, SearchQuery(where=Compare("articleId", Op.EQ, doc_id), sorts=[Sort("id")])).records
    assert [v["description"] for v in versions] == ["How to", "v2"]
    assert itflow.post("documents/update", {"document_id": "999"}).json()["success"] == "False"


def test_document_without_client_and_required_fields(itflow: Itflow):
    assert itflow.create("documents", {"document_name": "Global", "document_content": "x"}) > 0
    assert itflow.post("documents/create", {"document_name": "No content"}).json()["success"] == "False"


def test_location_primary_moves(itflow: Itflow, client_id: int):
    body = {"location_name": "HQ", "location_address": "1 Main St", "location_city": "Springfield",
            "location_zip": "12345", "location_primary": "1", "client_id": str(client_id)}
    first = itflow.create("locations", body)
    second = itflow.create("locations", body | {"location_name": "Branch"})
    rows = {r["location_id"]: r for r in itflow.read("locations")["data"]}
    assert rows[str(first)]["location_primary"] == "0" and rows[str(second)]["location_primary"] == "1"
    assert rows[str(first)]["location_city"] == "Springfield"
    assert itflow.post("locations/create", body | {"client_id": "0"}).json()["success"] == "False"


def test_certificate_create_and_read(itflow: Itflow, client_id: int):
    cert_id = itflow.create("certificates", {
        "certificate_name": "www", "certificate_description": "site", "certificate_domain": "contoso.org",
        "certificate_issued_by": "Let's Encrypt", "certificate_expire": "2025-10-10", "certificate_public_key": "",
        "certificate_notes": "", "certificate_domain_id": "0", "client_id": str(client_id)})
    row = itflow.read("certificates", certificate_name="WWW")["data"][0]
    assert row["certificate_id"] == str(cert_id) and row["certificate_expire"] == "2025-10-10"
    assert row["certificate_issued_by"] == "Let's Encrypt"
    assert itflow.post("certificates/create", {"certificate_name": "x", "client_id": client_id}).json()[
        "success"] == "False"
    assert itflow.post("certificates/create", {"certificate_name": "x", "certificate_domain": "d",
                                               "certificate_expire": "tomorrow", "client_id": client_id}).json()[
        "success"] == "False"
