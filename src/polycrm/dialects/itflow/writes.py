"""What create and update read from an ITFlow body (specs/itflow.md §5), and how ITFlow column values
become a canonical record's attributes. Module handlers add their own rules on top."""

from __future__ import annotations

import re
from datetime import date
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

from sqlalchemy.engine import Connection
from starlette.responses import Response

from polycrm.core.errors import PolyError
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.itflow.context import ItflowRequest
from polycrm.dialects.itflow.envelope import INSERT_FAILED, UPDATE_FAILED, Failure, changed
from polycrm.dialects.itflow.mapping import Endpoint, Table
from polycrm.dialects.itflow.php import digits_only, floatval, intval, is_empty, sanitize_input, to_text
from polycrm.meta import Entity
from polycrm.query.tree import Compare, Op

if TYPE_CHECKING:
    from polycrm.dialects.itflow.api import ItflowApi

_SCHEME = re.compile(r"^https?://")
_ZERO_DATE = "0000-00-00"


def _date(value: Any) -> str | None:
    text = sanitize_input(value)
    return None if text in ("", _ZERO_DATE) else text


RULES: dict[str, Callable[[Any], Any]] = {
    "text": sanitize_input,
    "raw": to_text,
    "secret": to_text,
    "digits": digits_only,
    "int": intval,
    "float": floatval,
    "date": _date,
    "website": lambda value: _SCHEME.sub("", sanitize_input(value), count=1),
    "abbreviation": lambda value: sanitize_input(to_text(value)[:6]),
}
# What a create stores for a field the body leaves out (ITFlow: '' for text, 0 for numbers, NULL for dates).
DEFAULTS = {"int": 0, "float": 0.0, "date": None}


def body_values(request: ItflowRequest, endpoint: Endpoint, *, creating: bool) -> dict[str, Any]:
    """Column -> value for the body's fields: every field when creating (defaults for those not sent), only
    those sent when updating. Arrays and objects where ITFlow expects a scalar are refused."""
    values: dict[str, Any] = {}
    for field in endpoint.fields:
        if request.given(field.key):
            raw = request.body[field.key]
            if isinstance(raw, (list, dict)):
                raise Failure(_failed_message(request), f"{field.key} must be a single value, not a list or object")
            values[field.column] = RULES[field.rule](raw)
        elif creating:
            values[field.column] = DEFAULTS.get(field.rule, "")
    return values


def check_required(request: ItflowRequest, endpoint: Endpoint) -> None:
    """ITFlow's required fields, checked with PHP's `empty()` ("0" is empty)."""
    for key in endpoint.required:
        if is_empty(request.body.get(key)):
            raise Failure(_failed_message(request), f"{key} is required")


def _failed_message(request: ItflowRequest) -> str:
    return INSERT_FAILED if request.function == "create" else UPDATE_FAILED


def to_attributes(table: Table, entity: Entity, values: dict[str, Any], request: ItflowRequest) -> dict[str, Any]:
    """Canonical attributes for ITFlow column values: links by id (0 is none), flags as booleans, mapped
    values (ticket priority) through their table, a person's name split into first and last."""
    data: dict[str, Any] = {}
    for column_name, value in values.items():
        column = table.by_name[column_name]
        field = entity.fields.get(column.field) if column.field else None
        if field is None:
            data[column.field] = value
            continue
        if field.type in ("link", "linkParent"):
            data[f"{field.name}Id"] = intval(value) or None
        elif field.type == "bool":
            data[field.name] = bool(intval(value))
        elif field.type == "personName":
            first, _, last = to_text(value).partition(" ")
            data.update({"firstName": first, "lastName": last} if last else {"firstName": None, "lastName": first})
        elif column.values is not None:
            canonical = column.parse(to_text(value))
            if canonical is None:
                raise Failure(_failed_message(request), f"{column_name} must be one of "
                              f"{', '.join(dict.fromkeys(column.values.values()))}")
            data[field.name] = canonical
        elif field.type == "date":
            data[field.name] = _valid_date(value, column_name, request)
        elif field.type == "varchar" and isinstance(value, int):
            data[field.name] = str(value)
        else:
            data[field.name] = value
    return data


def _valid_date(value: Any, column: str, request: ItflowRequest) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise Failure(_failed_message(request), f"{column} must be a date (YYYY-MM-DD)") from None


@dataclass(frozen=True, slots=True)
class LogRow:
    """One row of ITFlow's activity log (§7), kept in the audit trail."""

    type: str
    action: str
    description: str
    client_id: int
    entity_id: int


def log_rows(request: ItflowRequest, kind: str, action: str, text: str, *, client_id: int, entity_id: int = 0,
             success: str | None = None, suffix: str = "") -> list[LogRow]:
    """ITFlow's pair of log rows for a write: `{kind}/{action}` and, when `success` is given, `API/Success`
    with that text; both name the key."""
    name = request.log_name()
    rows = [LogRow(kind, action, f"{text} via API ({name}){suffix}", client_id, entity_id)]
    if success is not None:
        rows.append(LogRow("API", "Success", f"{success} via API ({name})", client_id, entity_id))
    return rows


def write_log(api: ItflowApi, request: ItflowRequest, rows: Iterable[LogRow], conn: Connection | None = None) -> None:
    """The rows, in `conn`'s transaction when given: a change and its audit rows commit together."""
    for row in rows:
        api.audit(row.type, row.action, row.description, client_id=row.client_id, entity_id=row.entity_id,
                  user_id=request.actor.user_id, ip=request.ip, user_agent=request.user_agent, conn=conn)


def entity_of(api: ItflowApi, table: Table) -> Entity:
    return api.core.registry.entity(table.entity_name)


def known_links(api: ItflowApi, request: ItflowRequest, entity_name: str, data: dict[str, Any]) -> dict[str, Any]:
    """The attributes with each link to a record that does not exist (or the key's user cannot read) set to
    none. ITFlow has no foreign keys and stores any id (its own PowerShell sample sends
    `asset_network_id:"16"`); PolyCRM links only live records, so such an id reads back as 0. One light query
    per linked entity type. The client (`accountId`) is not one of them: a write for a client that does not
    exist is refused, never moved to client 0."""
    entity = api.core.registry.entity(entity_name)
    wanted: dict[str, list[str]] = {}
    for name, value in data.items():
        field = entity.fields.get(name[:-2]) if name.endswith("Id") and value is not None else None
        if field is not None and field.type == "link" and field.target and name != "accountId":
            wanted.setdefault(field.target, []).append(name)
    result = dict(data)
    for target, names in wanted.items():
        ids = tuple({data[name] for name in names})
        query = SearchQuery(where=Compare("id", Op.IN, ids), limit=len(ids), select=["id"], total=TotalMode.NONE)
        try:
            found = {r["id"] for r in api.core.records(target).search_visible(request.actor, query).records}
        except PolyError:
            found = set()
        for name in names:
            if data[name] not in found:
                request.warnings.append(f"{target} {data[name]} does not exist (or is not readable): {name} "
                                        "stored as none")
                result[name] = None
    return result


def create_record(api: ItflowApi, request: ItflowRequest, table: Table, data: dict[str, Any],
                  logged: Callable[[dict[str, Any]], list[LogRow]]) -> dict[str, Any]:
    """Create through the core (its validation, access control and events) with the log rows `logged` makes
    of the new record, in one transaction; a refusal is the insert failure with the core's reason. ITFlow
    has no duplicate check of its own beyond what handlers add."""
    data = known_links(api, request, table.entity_name, data)
    records = api.core.records(table.entity_name)
    try:
        with api.core.transaction() as conn:
            record = records.create_within(conn, request.actor, data)
            write_log(api, request, logged(record), conn)
    except PolyError as error:
        raise Failure(INSERT_FAILED, str(error) or type(error).__name__) from error
    return record


def load_in_scope(api: ItflowApi, request: ItflowRequest, table: Table, record_id: int,
                  client: int) -> dict[str, Any] | None:
    """The record if it exists, the actor may read it and it belongs to `client` (0: no Account), as
    ITFlow's `WHERE id = ... AND <table>_client_id = client` finds it."""
    if record_id <= 0:
        return None
    try:
        record = api.core.records(table.entity_name).read(request.actor, record_id)
    except PolyError:
        return None
    if table.client_column is None:
        return record
    field = table.by_name[table.client_column].field
    owner = record.get("id") if field == "id" else record.get(f"{field}Id")
    return record if (owner or 0) == client else None


def target_record(api: ItflowApi, request: ItflowRequest, table_name: str, id_key: str,
                  fail: Callable[[str], Failure]) -> dict[str, Any]:
    """The record the body's `id_key` names, if it belongs to the client the write acts on (ITFlow's
    `WHERE id = ... AND client = ...`); `fail` with the reason otherwise."""
    record_id = intval(request.body.get(id_key))
    current = load_in_scope(api, request, api.mapping.table(table_name), record_id, request.write_client())
    if current is None:
        raise fail(f"no {id_key.removesuffix('_id')} {record_id} for this key and client")
    return current


def _same(entity: Entity, key: str, current: dict[str, Any], value: Any) -> bool:
    """Whether writing `value` leaves the stored value as it is. An e-mail address or phone number of ""
    is stored as none."""
    if key not in current:
        return False
    field = entity.fields.get(key)
    if field is not None and field.type in ("email", "phone") and not current[key] and not value:
        return True
    return current[key] == value


def update_record(api: ItflowApi, request: ItflowRequest, table: Table, current: dict[str, Any],
                  data: dict[str, Any], log: list[LogRow]) -> bool:
    """Update through the core, with its log rows in the same transaction; whether the record changed
    (MySQL's affected rows count only changed rows). Values equal to the stored ones are left out: the core
    would count a re-sent e-mail address or phone number as a change. ITFlow logs an update that changed
    nothing too."""
    entity = entity_of(api, table)
    data = {key: value for key, value in known_links(api, request, table.entity_name, data).items()
            if not _same(entity, key, current, value)}
    try:
        with api.core.transaction() as conn:
            changed = bool(data) and api.core.records(table.entity_name).update_within(
                conn, request.actor, current["id"], data)
            write_log(api, request, log, conn)
    except PolyError as error:
        raise Failure(UPDATE_FAILED, str(error) or type(error).__name__) from error
    return changed


def update_answer(api: ItflowApi, request: ItflowRequest, table: Table, current: dict[str, Any],
                  data: dict[str, Any], log: list[LogRow]) -> Response:
    """Update and answer as ITFlow: `count` 1, or the update failure when nothing changed."""
    if not update_record(api, request, table, current, data, log):
        raise Failure(UPDATE_FAILED, "no rows changed")
    return changed(1)
