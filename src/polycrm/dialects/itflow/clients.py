"""clients and contacts (specs/itflow.md §8.3, §8.4): Accounts and Contacts as ITFlow writes them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from starlette.responses import Response

from polycrm.core.errors import PolyError
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.itflow.context import ItflowRequest
from polycrm.dialects.itflow.envelope import changed, created, delete_failed, insert_failed, update_failed
from polycrm.dialects.itflow.writes import (body_values, check_required, create_record, entity_of, load_in_scope,
                                            log_rows, target_record, to_attributes, update_answer, update_record, write_log)
from polycrm.query.tree import Compare, Node, Op, conjunction

if TYPE_CHECKING:
    from polycrm.dialects.itflow.api import ItflowApi


def now_text() -> str:
    """The current UTC time as ITFlow writes datetimes (PolyCRM keeps every datetime in UTC)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


# --- clients ---------------------------------------------------------------------------------------------


def create_client(api: ItflowApi, request: ItflowRequest) -> Response:
    """Only an all-clients key, and no non-zero client_id: a client is not created inside another."""
    if request.write_client() != 0:
        raise insert_failed("clients/create needs an all-clients key and no client_id")
    endpoint, table = api.mapping.endpoints["clients"], api.mapping.table("clients")
    check_required(request, endpoint)
    values = body_values(request, endpoint, creating=True)
    data = to_attributes(table, entity_of(api, table), values, request) | {"accessedAt": now_text()}
    record = create_record(api, request, table, data, lambda r: log_rows(
        request, "Client", "Create", r["name"], client_id=r["id"], success=f"Created client {r['name']}"))
    return created(record["id"])


def _target_client(api: ItflowApi, request: ItflowRequest) -> dict:
    """The client an update, archive or unarchive acts on: a scoped key's own, else the body's client_id."""
    client = request.write_client()
    table = api.mapping.table("clients")
    current = load_in_scope(api, request, table, client, client) if client > 0 else None
    if current is None:
        raise update_failed(f"no client {client} for this key")
    return current


def update_client(api: ItflowApi, request: ItflowRequest) -> Response:
    current = _target_client(api, request)
    endpoint, table = api.mapping.endpoints["clients"], api.mapping.table("clients")
    values = body_values(request, endpoint, creating=False)
    data = to_attributes(table, entity_of(api, table), values, request)
    name = data.get("name", current["name"])
    log = log_rows(request, "Client", "Edit", name, client_id=current["id"], success=f"Edited client {name}")
    return update_answer(api, request, table, current, data, log)


def archive_client(api: ItflowApi, request: ItflowRequest) -> Response:
    return set_archived(api, request, "clients", _target_client(api, request), archived=True)


def unarchive_client(api: ItflowApi, request: ItflowRequest) -> Response:
    return set_archived(api, request, "clients", _target_client(api, request), archived=False)


def set_archived(api: ItflowApi, request: ItflowRequest, table_name: str, current: dict, *, archived: bool,
                 cleared: tuple[str, ...] = ()) -> Response:
    """Archive (clearing the `cleared` flags) or unarchive a client or contact; refused when it already is.
    ITFlow logs both with the type "Contact" (clients too); the audit trail keeps its rows as ITFlow writes
    them."""
    noun = "client" if table_name == "clients" else "contact"
    if (current.get("archivedAt") is not None) == archived:
        raise update_failed(f"the {noun} is already " + ("archived" if archived else "not archived"))
    action = "Archive" if archived else "Unarchive"
    is_client = table_name == "clients"
    log = log_rows(request, "Contact", action, f"{current['name']} {action.lower()}d",
                   client_id=current["id"] if is_client else request.write_client(),
                   entity_id=0 if is_client else current["id"])
    data = {"archivedAt": now_text(), **dict.fromkeys(cleared, False)} if archived else {"archivedAt": None}
    update_record(api, request, api.mapping.table(table_name), current, data, log)
    return changed(1)


# --- contacts --------------------------------------------------------------------------------------------


def create_contact(api: ItflowApi, request: ItflowRequest) -> Response:
    endpoint, table = api.mapping.endpoints["contacts"], api.mapping.table("contacts")
    client = request.write_client()
    check_required(request, endpoint)
    if client <= 0:
        raise insert_failed("contacts/create needs a client (client_id)")
    values = body_values(request, endpoint, creating=True)
    contacts = api.core.records("Contact")
    duplicate = contacts.search_visible(request.actor, _contacts_of(client, Compare(
        "emailAddress", Op.EQ, values["contact_email"]), limit=1)).records
    if duplicate:
        raise insert_failed(f"client {client} already has a contact with this email address")
    if values.get("contact_primary") == 1:
        _clear_primary(api, request, client)
    data = to_attributes(table, entity_of(api, table), values, request) | {"accountId": client}
    name = values["contact_name"]
    record = create_record(api, request, table, data, lambda r: log_rows(
        request, "Contact", "Create", name, client_id=client, entity_id=r["id"], success=f"Created contact {name}"))
    return created(record["id"])


def _contacts_of(client: int, where: Node, limit: int) -> SearchQuery:
    return SearchQuery(where=conjunction([Compare("accountId", Op.EQ, client), where]), limit=limit,
                       select=["isPrimary"], total=TotalMode.NONE)


def _clear_primary(api: ItflowApi, request: ItflowRequest, client: int, keep: int | None = None) -> None:
    """ITFlow keeps one primary contact per client: the others lose the flag first."""
    contacts = api.core.records("Contact")
    primaries = contacts.search_visible(request.actor, _contacts_of(
        client, Compare("isPrimary", Op.EQ, True), limit=1000)).records
    ids = [r["id"] for r in primaries if r["id"] != keep]
    if ids:
        contacts.mass_update(request.actor, ids, {"isPrimary": False})


def _target_contact(api: ItflowApi, request: ItflowRequest) -> dict:
    return target_record(api, request, "contacts", "contact_id", update_failed)


def update_contact(api: ItflowApi, request: ItflowRequest) -> Response:
    """Only a contact of the resolved client (ITFlow's update reaches any contact and moves it: not copied)."""
    current = _target_contact(api, request)
    endpoint, table = api.mapping.endpoints["contacts"], api.mapping.table("contacts")
    values = body_values(request, endpoint, creating=False)
    data = to_attributes(table, entity_of(api, table), values, request)
    if data.get("isPrimary", current.get("isPrimary")):
        # ITFlow clears the flag on all the client's contacts, this one included, then sets it back: an
        # update of a primary contact always changes the row.
        _clear_primary(api, request, request.write_client())
        current = dict(current, isPrimary=False)
        data["isPrimary"] = True
    name = values.get("contact_name", current["name"])
    log = log_rows(request, "Contact", "Edit", name, client_id=request.write_client(), entity_id=current["id"],
                   success=f"Edited contact {name}")
    return update_answer(api, request, table, current, data, log)


def delete_contact(api: ItflowApi, request: ItflowRequest) -> Response:
    current = target_record(api, request, "contacts", "contact_id", delete_failed)
    try:
        api.core.records("Contact").delete(request.actor, current["id"])
    except PolyError as error:
        raise delete_failed(str(error)) from error
    write_log(api, request, log_rows(request, "Contact", "Delete", current["name"], client_id=request.write_client()))
    return changed(1)


def archive_contact(api: ItflowApi, request: ItflowRequest) -> Response:
    """Archiving also clears the important, billing and technical flags (not restored by unarchiving)."""
    return set_archived(api, request, "contacts", _target_contact(api, request), archived=True,
                        cleared=("isImportant", "isBilling", "isTechnical"))


def unarchive_contact(api: ItflowApi, request: ItflowRequest) -> Response:
    return set_archived(api, request, "contacts", _target_contact(api, request), archived=False)
