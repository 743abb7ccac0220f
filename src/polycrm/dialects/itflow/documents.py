"""documents, locations and certificates (specs/itflow.md §8.6, §8.10, §8.2): the writes that are a plain
create of one record, and documents' versioned update."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from polycrm.core.errors import PolyError
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.itflow.context import ItflowRequest
from polycrm.dialects.itflow.envelope import UPDATE_FAILED, Failure, changed, created, insert_failed, update_failed
from polycrm.dialects.itflow.php import intval, sanitize_input
from polycrm.dialects.itflow.writes import (body_values, check_required, create_record, entity_of, load_in_scope,
                                            LogRow, log_rows, to_attributes, write_log)
from polycrm.query.tree import Compare, Op, conjunction

if TYPE_CHECKING:
    from polycrm.dialects.itflow.api import ItflowApi


def _create(api: ItflowApi, request: ItflowRequest, module: str, kind: str, *, client_required: bool,
            extra: dict[str, Any] | None = None) -> Response:
    """A plain create of one record of a client, logged as `{kind}/Create`."""
    endpoint = api.mapping.endpoints[module]
    table = api.mapping.table(endpoint.table)
    check_required(request, endpoint)
    client = request.write_client()
    if client_required and client <= 0:
        raise insert_failed(f"{module}/create needs a client (client_id)")
    values = body_values(request, endpoint, creating=True)
    data = to_attributes(table, entity_of(api, table), values, request)
    record = create_record(api, request, table, data | {"accountId": client or None} | (extra or {}), lambda r: log_rows(
        request, kind, "Create", r["name"], client_id=client, entity_id=r["id"],
        success=f"Created {kind.lower()} {r['name']}"))
    return created(record["id"])


def create_certificate(api: ItflowApi, request: ItflowRequest) -> Response:
    return _create(api, request, "certificates", "Certificate", client_required=True)


def create_location(api: ItflowApi, request: ItflowRequest) -> Response:
    """A primary location takes the flag from the client's others."""
    client = request.write_client()
    if client > 0 and intval(request.body.get("location_primary")) == 1:
        locations = api.core.records("Location")
        query = SearchQuery(where=conjunction([Compare("accountId", Op.EQ, client), Compare("isPrimary", Op.EQ, True)]),
                            limit=1000, select=["id"], total=TotalMode.NONE)
        ids = [r["id"] for r in locations.search_visible(request.actor, query).records]
        if ids:
            locations.mass_update(request.actor, ids, {"isPrimary": False})
    return _create(api, request, "locations", "Location", client_required=True)


def plain_text(*parts: str) -> str:
    """ITFlow's `document_content_raw`, what its search reads: the text with tags stripped, each `<` spaced
    first so words either side of a tag stay apart."""
    return sanitize_input("".join(parts).replace("<", " <"))


def create_document(api: ItflowApi, request: ItflowRequest) -> Response:
    """Client 0 is allowed, as ITFlow allows it. Inline base64 images stay in the HTML."""
    description = sanitize_input(request.body.get("document_description") or "")
    content = str(request.body.get("document_content") or "")
    name = sanitize_input(request.body.get("document_name") or "")
    return _create(api, request, "documents", "Document", client_required=False,
                   extra={"bodyPlain": plain_text(name, description, " ", content)})


def update_document(api: ItflowApi, request: ItflowRequest) -> Response:
    """The previous name, description and content are kept as a version first; fields not sent keep their
    values. The count is 1 whenever the update ran, as ITFlow answers."""
    document_id = intval(request.body.get("document_id"))
    table = api.mapping.table("documents")
    current = load_in_scope(api, request, table, document_id, request.write_client())
    if current is None:
        write_log(api, request, [LogRow("API", "Error", f"Document update failed (not found or unauthorized) via "
                                        f"API ({request.log_name()})", request.write_client(), 0)])
        raise update_failed(f"no document {document_id} for this key and client")
    values = body_values(request, api.mapping.endpoints["documents"], creating=False)
    data = to_attributes(table, entity_of(api, table), values, request)
    name, content = data.get("name", current["name"]), data.get("body", current.get("body") or "")
    data["bodyPlain"] = plain_text(name, " ", content)
    try:
        with api.core.transaction() as conn:
            version_id = api.core.records("KnowledgeBaseArticleVersion").create_within(conn, request.actor, {
                "name": current["name"], "description": current.get("description"), "body": current.get("body"),
                "versionCreatedById": current.get("modifiedById") or current.get("createdById"),
                "versionCreatedAt": _stamp(current.get("modifiedAt") or current.get("createdAt")),
                "articleId": current["id"]})["id"]
            api.core.records("KnowledgeBaseArticle").update_within(conn, request.actor, current["id"], data)
            write_log(api, request, log_rows(request, "Document", "Edit", name, suffix=", previous version kept",
                                             client_id=request.write_client(), entity_id=version_id,
                                             success=f"Edited document {name}"), conn)
    except PolyError as error:
        raise Failure(UPDATE_FAILED, str(error) or type(error).__name__) from error
    return changed(1)


def _stamp(value: Any) -> Any:
    return value.strftime("%Y-%m-%d %H:%M:%S") if hasattr(value, "strftime") else value
