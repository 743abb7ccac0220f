"""The `read` function every module has (specs/itflow.md §8): the first filter present, the client scope,
paging by id, and rows rendered as ITFlow's `SELECT *` shows them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from starlette.responses import Response

from polycrm.core.errors import PolyError
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.itflow.context import ItflowRequest
from polycrm.dialects.itflow.envelope import no_resource, rows
from polycrm.dialects.itflow.mapping import Endpoint, ReadFilter, Table
from polycrm.dialects.itflow.php import intval
from polycrm.meta import Entity
from polycrm.query.tree import FALSE, TRUE, Compare, Node, Op, Sort, conjunction, disjunction

if TYPE_CHECKING:
    from polycrm.dialects.itflow.api import ItflowApi

# Reads ITFlow leaves unpaged (by id, by e-mail, by client name) still stop here.
MAX_UNPAGED = 10_000
PRIMARY_INTERFACE = "asset_interfaces"
Reveal = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def read(api: ItflowApi, request: ItflowRequest) -> Response:
    endpoint = api.mapping.endpoints[request.module]
    table = api.mapping.table(endpoint.table)
    found = fetch(api, request, endpoint, table)
    if not found:
        raise no_resource("no record matched")
    return rows(found)


def fetch(api: ItflowApi, request: ItflowRequest, endpoint: Endpoint, table: Table, where: Node | None = None, *,
          sorts: list[Sort] | None = None, reveal: Reveal | None = None) -> list[dict[str, Any]]:
    """The rows a read returns: `where` replaces the endpoint's own filters when given; `reveal` gives the
    records their secrets in clear before they render (credentials)."""
    entity = api.core.registry.entity(table.entity_name)
    scope = client_scope(api, request, endpoint, table)
    chosen = None if where is not None else first_filter(endpoint, request)
    if where is None:
        where = TRUE if chosen is None else filter_node(api, request, table, chosen)
    paged = chosen is None or chosen.paged
    offset, limit = (request.offset, request.limit) if paged else (0, MAX_UNPAGED)
    if chosen is not None and chosen.limit is not None:
        limit = min(limit, chosen.limit)
    if limit == 0:
        return []
    query = SearchQuery(where=conjunction([scope, where]), sorts=sorts or [Sort("id")], offset=offset, limit=limit,
                        select=table.attributes(entity), total=TotalMode.NONE)
    try:
        records = api.core.records(entity.name).search(request.actor, query).records
    except PolyError as error:
        raise no_resource(str(error)) from error
    if reveal is not None:
        records = reveal(records)
    found = [table.render(entity, record) for record in records]
    join = endpoint.list_join if chosen is None else chosen.join
    if join == PRIMARY_INTERFACE and found:
        append_primary_interfaces(api, request, [r["asset_id"] for r in found], found)
    return found


def first_filter(endpoint: Endpoint, request: ItflowRequest) -> ReadFilter | None:
    return next((f for f in endpoint.filters if f.param in request.query), None)


def client_scope(api: ItflowApi, request: ItflowRequest, endpoint: Endpoint, table: Table) -> Node:
    """ITFlow's `<table>_client_id LIKE '<client>'` (§2 step 10) as a condition on the Account link."""
    if endpoint.all_clients_only:
        if not request.all_clients or "client_id" in request.query:
            raise no_resource("this module is readable only by an all-clients key without client_id")
        return TRUE
    client = request.read_client()
    if client is None or table.client_column is None:
        return TRUE
    field = table.by_name[table.client_column].field
    if field == "id":  # clients: the scope is the client itself
        return Compare("id", Op.EQ, client) if client > 0 else FALSE
    attribute = table.attribute(api.core.registry.entity(table.entity_name), field or "account")
    return Compare(attribute, Op.EQ, client) if client > 0 else Compare(attribute, Op.IS_NULL)


def filter_node(api: ItflowApi, request: ItflowRequest, table: Table, chosen: ReadFilter) -> Node:
    value = request.query[chosen.param]
    if chosen.field is None:
        return Compare("id", Op.EQ, intval(value))
    entity = api.core.registry.entity(table.entity_name)
    if chosen.join == PRIMARY_INTERFACE:
        ids = interface_asset_ids(api, request, chosen.field, value)
        return Compare("id", Op.IN, tuple(ids))
    if chosen.integer:
        return Compare(table.attribute(entity, chosen.field), Op.EQ, intval(value))
    # The value as given (a phone number is not stripped to its digits), within the client scope (§4 fixed).
    return disjunction([_equals(entity, field, value) for field in (chosen.field, chosen.or_field) if field])


def _equals(entity: Entity, field: str, value: str) -> Node:
    """ITFlow's exact match under a case-insensitive collation; an e-mail address or phone number matches
    any of the record's (EQ on them compares every address, ignoring case)."""
    contact_point = entity.fields[field].type in ("email", "phone")
    return Compare(field, Op.EQ if contact_point else Op.EQUALS_TEXT, value)


def _interfaces(api: ItflowApi, request: ItflowRequest, where: Node, limit: int) -> list[dict[str, Any]]:
    table = api.mapping.table(PRIMARY_INTERFACE)
    entity = api.core.registry.entity(table.entity_name)
    query = SearchQuery(where=conjunction([Compare("isPrimary", Op.EQ, True), where]), sorts=[Sort("id")],
                        limit=limit, select=table.attributes(entity), total=TotalMode.NONE)
    try:
        return api.core.records(entity.name).search(request.actor, query).records
    except PolyError as error:
        raise no_resource(str(error)) from error


def interface_asset_ids(api: ItflowApi, request: ItflowRequest, field: str, value: str) -> list[int]:
    found = _interfaces(api, request, Compare(field, Op.EQUALS_TEXT, value), MAX_UNPAGED)
    return [r["assetId"] for r in found if r.get("assetId")]


def append_primary_interfaces(api: ItflowApi, request: ItflowRequest, asset_ids: list[str],
                              found: list[dict[str, Any]]) -> None:
    """ITFlow's `LEFT JOIN asset_interfaces ON interface_primary = 1`: the interface's columns after the
    asset's, null for an asset without one."""
    table = api.mapping.table(PRIMARY_INTERFACE)
    entity = api.core.registry.entity(table.entity_name)
    ids = tuple(int(i) for i in asset_ids)
    interfaces = _interfaces(api, request, Compare("assetId", Op.IN, ids), len(ids) * 4)
    by_asset: dict[int, dict[str, Any]] = {}
    for interface in interfaces:
        by_asset.setdefault(interface["assetId"], interface)
    for row, asset_id in zip(found, ids):
        interface = by_asset.get(asset_id)
        row.update(table.render(entity, interface) if interface else dict.fromkeys(table.by_name))
