"""assets (specs/itflow.md §8.1): an Asset and its primary network interface, written together."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from polycrm.core.errors import PolyError
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.itflow.context import ItflowRequest
from polycrm.dialects.itflow.envelope import (INSERT_FAILED, UPDATE_FAILED, Failure, changed, created, delete_failed,
                                              insert_failed, update_failed)
from polycrm.dialects.itflow.writes import (body_values, check_required, entity_of, known_links,
                                            log_rows, target_record, to_attributes, write_log)
from polycrm.query.tree import Compare, Op, conjunction

if TYPE_CHECKING:
    from polycrm.dialects.itflow.api import ItflowApi

# Body fields that describe the primary interface, not the asset row.
INTERFACE_FIELDS = {"asset_ip": "ipAddress", "asset_mac": "macAddress", "asset_network_id": "networkId"}


def _split(api: ItflowApi, request: ItflowRequest, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The asset's attributes and its primary interface's, from the body's column values."""
    interface = {}
    for key, attribute in INTERFACE_FIELDS.items():
        if key in values:
            value = values.pop(key)
            interface[attribute] = (value or None) if attribute == "networkId" else value
    table = api.mapping.table("assets")
    asset = to_attributes(table, entity_of(api, table), values, request)
    return known_links(api, request, "Asset", asset), known_links(api, request, "AssetInterface", interface)


def create_asset(api: ItflowApi, request: ItflowRequest) -> Response:
    endpoint = api.mapping.endpoints["assets"]
    check_required(request, endpoint)
    client = request.write_client()
    if client <= 0:
        raise insert_failed("assets/create needs a client (client_id)")
    values = body_values(request, endpoint, creating=True)
    values.pop("asset_uri_2", None)  # ITFlow's create never stores it
    asset, interface = _split(api, request, values)
    assets, interfaces = api.core.records("Asset"), api.core.records("AssetInterface")
    try:
        with api.core.transaction() as conn:
            asset_id = assets.create_within(conn, request.actor, asset | {"accountId": client})["id"]
            interfaces.create_within(conn, request.actor, interface | {
                "name": "1", "isPrimary": True, "assetId": asset_id})
            write_log(api, request, log_rows(request, "Asset", "Create", asset["name"], client_id=client,
                                             entity_id=asset_id, success=f"Created asset {asset['name']}"), conn)
    except PolyError as error:
        raise Failure(INSERT_FAILED, str(error) or type(error).__name__) from error
    return created(asset_id)


def _primary_interface(api: ItflowApi, request: ItflowRequest, asset_id: int) -> int | None:
    where = conjunction([Compare("assetId", Op.EQ, asset_id), Compare("isPrimary", Op.EQ, True)])
    query = SearchQuery(where=where, limit=1, select=["id"], total=TotalMode.NONE)
    found = api.core.records("AssetInterface").search(request.actor, query).records
    return found[0]["id"] if found else None


def update_asset(api: ItflowApi, request: ItflowRequest) -> Response:
    """Fields not sent keep their values, the interface's ip, mac and network included (ITFlow wipes those:
    not copied). The count says whether the asset or its primary interface changed."""
    current = target_record(api, request, "assets", "asset_id", update_failed)
    asset, interface = _split(api, request, body_values(request, api.mapping.endpoints["assets"], creating=False))
    interface_id = _primary_interface(api, request, current["id"])
    assets, interfaces = api.core.records("Asset"), api.core.records("AssetInterface")
    name = asset.get("name", current["name"])
    try:
        with api.core.transaction() as conn:
            was_changed = bool(asset) and assets.update_within(conn, request.actor, current["id"], asset)
            if interface and interface_id is not None:
                was_changed = interfaces.update_within(conn, request.actor, interface_id, interface) or was_changed
            elif interface:
                interfaces.create_within(conn, request.actor, interface | {
                    "name": "1", "isPrimary": True, "assetId": current["id"]})
                was_changed = True
            api.core.records("AssetHistory").create_within(conn, request.actor, {
                "status": asset.get("status", current.get("status")) or "",
                "description": f"API updated {name} ({request.log_name()})", "assetId": current["id"]})
            write_log(api, request, log_rows(request, "Asset", "Edit", name, client_id=request.write_client(),
                                             success=f"Edited asset {name}"), conn)
    except PolyError as error:
        raise Failure(UPDATE_FAILED, str(error) or type(error).__name__) from error
    if not was_changed:
        raise update_failed("no rows changed")
    return changed(1)


def delete_asset(api: ItflowApi, request: ItflowRequest) -> Response:
    """Success is reported when the asset was deleted (ITFlow reports a failure then: not copied)."""
    current = target_record(api, request, "assets", "asset_id", delete_failed)
    query = SearchQuery(where=Compare("assetId", Op.EQ, current["id"]), limit=1000, select=["id"],
                        total=TotalMode.NONE)
    try:
        interfaces = api.core.records("AssetInterface")
        interface_ids = [r["id"] for r in interfaces.search(request.actor, query).records]
        if interface_ids:
            interfaces.mass_delete(request.actor, interface_ids)
        api.core.records("Asset").delete(request.actor, current["id"])
    except PolyError as error:
        raise delete_failed(str(error) or type(error).__name__) from error
    write_log(api, request, log_rows(request, "Asset", "Delete", current["name"], client_id=request.write_client()))
    return changed(1)
