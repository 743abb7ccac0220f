"""`POST /api/{resource}/export` (Concord's ExportController): a resource's records as a CSV file.

As Concord 1.4.1 answers it (checked against a running one): the columns are the resource's export fields
(the resource file's `export`: Concord's labels and order), each date-time twice, in UTC and in the caller's
time zone (`Created At (UTC)`, `Created At (Europe/Berlin)`); every cell quoted, `\\n` line ends, no BOM;
`Content-Disposition: attachment; filename=contacts.csv`, `Content-Type: text/csv; charset=UTF-8`. The body
takes Concord's keys: `type` (`csv`), `period` (a date preset such as `last_7_days`, `{start, end}`, or null
for all), `date_range_field` (the date column `period` applies to; `created_at` by default), `fields` (the
columns wanted; the primary ones always come) and `filters` (the list's query-builder group) or, without
it, `filter_id` / `with_default_filter` (a saved filter, as a list takes them). The rows are
those `GET /api/{resource}` would list to the caller with those filters (the same parser and the same ACL),
newest first by the date range field, read and written a chunk at a time so a large export is never held in
memory. Text that a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage
return) is written with a leading `'`, as OWASP advises against CSV injection; Concord writes it as it is. Concord also writes `xls` and `xlsx` (through PhpSpreadsheet); PolyCRM writes CSV only and refuses the
others with a 422, where Concord answers an unknown type with a 500.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from starlette.responses import StreamingResponse

from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import BASE_HEADERS, forbidden, invalid, not_found
from polycrm.dialects.concord.filter_rules import PRESET_LABELS
from polycrm.dialects.concord.filters import FilterError, parse_filters
from polycrm.dialects.concord.lookups import currencies
from polycrm.dialects.concord.mapping import ExportColumn
from polycrm.dialects.concord.records import resource_of
from polycrm.dialects.concord.saved_filters import saved_rules
from polycrm.dialects.concord.view import ResourceView
from polycrm.query import dates
from polycrm.query.tree import Node, Sort, conjunction

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

TYPES = ("csv",)  # Concord's xls and xlsx are refused (see above)
CHUNK = 500  # rows read, rendered and written at a time (Concord's Export::$chunkSize)
MAX_FIELDS = 200  # entries of `fields`
# Concord's `period` presets (ProvidesBetweenArgumentsViaString): the filter rules' day windows but the instants.
PERIODS = tuple(name for name in PRESET_LABELS if name not in ("past", "future"))
_BODY_KEYS = frozenset({"type", "period", "date_range_field", "fields", "filters", "order", "filter_id",
                        "with_default_filter"})
# Text cells starting so are formulas to Excel, LibreOffice and Google Sheets (OWASP's CSV injection): a name a
# customer typed into a web form must not run when an export is opened. Concord writes them as they are.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_OWN_FORMATS = frozenset({"count", "money", "moment", "date"})  # cells PolyCRM formats: no text of a user
# Record keys the date-time columns read, as Concord renders them (`2026-12-06T19:36:35.000000Z`).
_CONCORD_MOMENT = "%Y-%m-%dT%H:%M:%S.000000Z"


def export(api: ConcordApi, request: ConcordRequest) -> StreamingResponse:
    resource = resource_of(request)
    if not resource.export:
        raise not_found()
    view = ResourceView.of(api, resource)
    actor = request.user
    if not actor.can(view.entity.name, "read"):
        raise forbidden()  # Concord's `export` ability: viewing the records
    body = request.body
    if not isinstance(body, dict):
        raise invalid({"body": ["The request body must be a JSON object."]})
    unknown = sorted(set(body) - _BODY_KEYS)
    if unknown:
        request.warnings.append("Ignored keys: " + ", ".join(str(k)[:50] for k in unknown[:20]))
    columns = _columns(view, body.get("fields"))
    kind = body.get("type")
    if kind is not None and (not isinstance(kind, str) or kind not in TYPES):
        shown = kind if isinstance(kind, str) else "that type"
        raise invalid({"type": [f'The export type "{str(shown)[:50]}" is not supported. Supported: {", ".join(TYPES)}.']})
    where, sorts = _condition(api, request, view, body)
    records = api.core.records(view.entity.name)
    # The first chunk is read here, so a refusal is still an answer and not a cut file.
    first = records.search(actor, SearchQuery(where=where, sorts=sorts, limit=CHUNK, select=_attributes(view, columns),
                                              total=TotalMode.NONE))
    zone = _time_zone(api, actor.user_id)

    def chunks() -> Iterator[bytes]:
        result, offset = first, 0
        yield _csv([[_heading(column, zone_name) for column in columns for zone_name in _zones(column, zone)]])
        while True:
            yield _csv(_rows(api, view, actor, columns, result.records, zone))
            if not result.has_more:
                return
            offset += CHUNK
            result = records.search(actor, SearchQuery(where=where, sorts=sorts, offset=offset, limit=CHUNK,
                                                       select=_attributes(view, columns), total=TotalMode.NONE))

    name = f"{resource.name}.{kind or 'csv'}"
    return StreamingResponse(chunks(), media_type="text/csv; charset=UTF-8",
                             headers={**BASE_HEADERS, "Content-Disposition": f"attachment; filename={name}"})


def _columns(view: ResourceView, fields: Any) -> list[ExportColumn]:
    """The resource's export columns and its custom fields, narrowed to `fields` (the primary ones stay)."""
    columns = [*view.resource.export, *(ExportColumn(item.label, item.key, "custom") for item in view.custom)]
    if fields is None:
        return columns
    if not isinstance(fields, list) or len(fields) > MAX_FIELDS or not all(isinstance(f, str) for f in fields):
        raise invalid({"fields": [f"The fields must be a list of at most {MAX_FIELDS} field names."]})
    return [column for column in columns if column.primary or column.key in fields]


def _condition(api: ConcordApi, request: ConcordRequest, view: ResourceView,
               body: dict[str, Any]) -> tuple[Node, list[Sort]]:
    """The rows: `filters` and `period` over `date_range_field`, both parsed as the list's filter groups (so
    the same rules, values and messages), newest first by the date range field."""
    dateable = {column.key for column in view.resource.export if column.kind in ("moment", "date")}
    field = body.get("date_range_field") or "created_at"
    rules = view.rules_for(request.user)
    if not isinstance(field, str) or field not in dateable or field not in rules:
        raise invalid({"date_range_field": ["The selected date range field is invalid."]})
    period = body.get("period")
    rule = replace(rules[field], without_presets=frozenset())  # every period, the future ones too
    conditions: list[Node] = []
    try:
        if period not in (None, "", "all"):
            conditions.append(parse_filters(_period_group(field, rule.wire_type, period), {field: rule},
                                            view.entity, user_id=request.user.user_id))
    except FilterError as error:
        raise invalid({"period": [error.message]}) from None
    filters = body.get("filters")
    if filters in (None, "", [], {}):  # as a list: a saved filter when the body has no rules of its own
        filters = saved_rules(api, request, view.resource.name, body)
    try:
        if filters not in (None, "", [], {}):
            conditions.append(parse_filters(filters, rules, view.entity, user_id=request.user.user_id,
                                            registry=api.core.registry))
    except FilterError as error:
        raise invalid({error.key: [error.message]}) from None
    attribute = view.resource.by_key[field].attribute if field in view.resource.by_key else rule.field
    return conjunction(conditions), [Sort(attribute, True), Sort(view.resource.order), Sort("id")]


def _period_group(field: str, wire_type: str, period: Any) -> dict[str, Any]:
    """`period` as a filter group on the date range field: a preset is its `is`, `{start, end}` a `between`."""
    if isinstance(period, str):
        if period not in PERIODS:
            raise FilterError("period", f"The period must be one of: {', '.join(PERIODS)}, or {{start, end}}.")
        query = {"rule": field, "type": wire_type, "operator": "is", "value": period}
    elif isinstance(period, dict) and set(period) == {"start", "end"}:
        query = {"rule": field, "type": wire_type, "operator": "between", "value": [period["start"], period["end"]]}
    else:
        raise FilterError("period", "The period must be a preset name or {start, end}.")
    return {"condition": "and", "children": [{"type": "rule", "query": query}]}


def _attributes(view: ResourceView, columns: Sequence[ExportColumn]) -> list[str]:
    """What the rows read: the view's attributes, the names of linked records, the custom fields."""
    extra = []
    for column in columns:
        spec = view.resource.by_key.get(column.key)
        if column.kind == "name" and spec is not None:
            extra.append(f"{spec.field}Name")
        elif column.kind in ("stored", "money") and spec is not None:
            extra.append(spec.attribute)
            if column.kind == "money" and f"{spec.field}Currency" in view.entity.attributes:
                extra.append(f"{spec.field}Currency")
    return list(dict.fromkeys([*view.attributes(), *extra]))


def _rows(api: ConcordApi, view: ResourceView, actor: Any, columns: Sequence[ExportColumn], records: list[dict[str, Any]],
          zone: Any) -> list[list[str]]:
    """The cells of a chunk of records, from their index rows (the association names the caller may read)."""
    associations = [c.key for c in columns if c.kind == "records"]
    rows = view.index_rows(actor, records, with_=";".join(associations) or None)
    default_currency = api.core.currency.current().default
    out = []
    for record, row in zip(records, rows):
        cells: list[str] = []
        for column in columns:
            shown = _cells(view, column, record, row, zone, default_currency)
            cells.extend(shown if column.kind in _OWN_FORMATS else map(_inert, shown))
        out.append(cells)
    return out


def _cells(view: ResourceView, column: ExportColumn, record: dict[str, Any], row: dict[str, Any], zone: Any,
           default_currency: str) -> list[str]:
    spec = view.resource.by_key.get(column.key)
    kind = column.kind
    if kind == "moment":
        moment = _moment(row.get(column.key))
        if moment is None:
            return ["", ""]
        return [moment.strftime("%Y-%m-%d %H:%M:%S"), moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")]
    if kind == "date":
        return [_day(row.get(column.key))]
    if kind == "name":
        return [_text(record.get(f"{spec.field}Name")) if spec is not None else ""]
    if kind == "stored":
        return [_text(record.get(spec.attribute)) if spec is not None else ""]
    if kind == "custom":
        item = next(c for c in view.custom if c.key == column.key)
        return [_text(record.get(item.field))]
    if kind == "count":
        return [str(row.get(column.key) or 0)]
    if kind == "title":
        return [_text(row.get(column.key)).title()]
    if kind == "money":
        amount = record.get(spec.attribute) if spec is not None else None
        code = record.get(f"{spec.field}Currency") if spec is not None else None
        return [_money(amount or 0, code or default_currency)]
    if kind == "records":
        return [", ".join(_text(item.get("display_name")) for item in row.get(column.key) or ())]
    return [_text(row.get(column.key))]


def _text(value: Any) -> str:
    """A cell as PHP writes a value: null and false empty, true 1, a list of tags or phones by name or number."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(item.get("name") or item.get("number")) if isinstance(item, dict) else _text(item)
                         for item in value)
    return str(value)


def _inert(cell: str) -> str:
    """A text cell a spreadsheet would run as a formula (`=HYPERLINK(...)` in a name) made text; numbers stay."""
    if not cell.startswith(_FORMULA_STARTS):
        return cell
    try:
        float(cell)
    except ValueError:
        return "'" + cell
    return cell


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, _CONCORD_MOMENT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _day(value: Any) -> str:
    """A date key as Concord's date cast writes its value (`2030-01-15 00:00:00`); an all-day activity date as
    the day alone, a timed one with its time (Concord's ActivityDueDate)."""
    moment = _moment(value)
    if moment is not None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            return value
    return ""


def _money(amount: float, code: str) -> str:
    """Concord's Numeric export of an amount: the currency code before (or after) the number, in the
    currency's own separators and precision (`USD1,234.50`, `1.234,50 EUR`)."""
    shown = currencies().get(code) or currencies()["USD"]
    number = f"{abs(amount):,.{shown['precision']}f}"
    number = number.replace(",", "\0").replace(".", shown["decimal_mark"]).replace("\0", shown["thousands_separator"])
    sign = "-" if amount < 0 else ""
    return f"{sign}{code}{number}" if shown["symbol_first"] else f"{sign}{number} {code}"


def _zones(column: ExportColumn, zone: Any) -> tuple[str | None, ...]:
    """A date-time column is two: in UTC and in the caller's zone."""
    return ("UTC", getattr(zone, "key", "UTC")) if column.kind == "moment" else (None,)


def _heading(column: ExportColumn, zone_name: str | None) -> str:
    return f"{column.label} ({zone_name})" if zone_name else column.label


def _time_zone(api: ConcordApi, user_id: int) -> Any:
    """The caller's zone (Concord's user timezone); UTC when unset or unknown."""
    name = api.core.records("User").read_without_acl(user_id).get("timeZone") or "UTC"
    try:
        return dates.time_zone(name)
    except ValueError:
        return timezone.utc


def _csv(rows: Sequence[Sequence[str]]) -> bytes:
    """Rows as Concord (PhpSpreadsheet) writes them: every cell in double quotes, `\\n` line ends."""
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")
