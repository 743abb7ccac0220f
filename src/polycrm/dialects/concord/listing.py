"""Concord list parameters other than `filters` (specs/concord.md §3, §9): `q` with `search_fields` and
`search_match`, `order`, `select` -> filter nodes, sorts and column keys.

As Concord's request criteria: `q` searches every search column (OR-ed, AND-ed with `search_match=and`)
with its condition (`like`: a substring, case-insensitive; `=`: equal; `in`: any of a comma list in `q`);
the field form `q=email:a@b.c;first_name:Ann` searches each named column with its own value; columns that
cannot hold the value (an id for "abc") are left out. Where Concord answers 500 (a field form naming no
search column, an unknown order field or direction, an unknown select column) we raise FilterError.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timezone
from typing import Any, Iterable, Mapping

from polycrm.core.values import NUL, parse_id
from polycrm.dialects.concord.filters import FilterError
from polycrm.meta import Entity, ValueKind
from polycrm.query import dates
from polycrm.query.tree import FALSE, TRUE, Compare, Node, Op, Sort, conjunction, disjunction

CONDITIONS = ("=", "like", "in")
MAX_ITEMS = 1000  # values of an `in` search, entries of `order`, columns of `select`

# PHP's is_numeric (surrounding whitespace aside): what Concord searches a numeric column with.
_NUMERIC = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+|(?:mailto|news|file):\S+")
_BOOLEAN = {"on": True, "1": True, "true": True, "off": False, "0": False, "false": False}
_CONTACT_POINTS = frozenset({"email", "phone"})


@dataclass(frozen=True, slots=True)
class SearchColumn:
    """A column `q` searches: Concord's key ("first_name", "phones.number", "full_name", "id"), the canonical
    field ("firstName", "phoneNumber", "name", "id"; a link searches its `<field>Id`), and the condition
    used unless `search_fields` names another ("=", "like", "in")."""

    key: str
    field: str
    condition: str


class SearchFieldsRejected(Exception):
    """`search_fields` named no search column: Concord answers 403 with this message."""

    def __init__(self, accepted: list[str]):
        self.accepted = accepted
        super().__init__("None of the search fields were accepted. Acceptable search fields are: "
                         + ",".join(accepted))


def parse_search(q: str, search_fields: str | None, search_match: str | None,
                 columns: Mapping[str, SearchColumn], entity: Entity) -> Node:
    """The condition of `q` over `entity`; TRUE without a search, FALSE when no column can hold it.

    Raises SearchFieldsRejected when `search_fields` names only unknown columns (those among known ones
    are ignored, as Concord ignores them), FilterError (key "q") for a field form naming no search column
    or a NUL character.
    """
    text = q.strip() if isinstance(q, str) else ""  # Laravel trims input
    if not text:
        return TRUE
    if NUL in text:
        raise FilterError("q", "The search must not contain NUL characters.")  # PostgreSQL cannot compare it
    chosen = _chosen_columns(search_fields, columns)
    named = _field_values(text)
    if named:
        searched = [(key, condition, named[key]) for key, condition in chosen.items() if key in named]
        if not searched:
            raise FilterError("q", "None of the fields in q can be searched. Acceptable search fields are: "
                              + ",".join(chosen) + ".")
    else:
        searched = [(key, condition, text) for key, condition in chosen.items()]
    nodes = [node for key, condition, value in searched
             if (node := _column_condition(columns[key], condition, value, entity)) is not None]
    if not nodes:
        return FALSE  # Concord: a 500 ("Invalid search fields."); nothing can match
    both = isinstance(search_match, str) and search_match.strip().lower() == "and"
    return conjunction(nodes) if both else disjunction(nodes)


def _chosen_columns(search_fields: str | None, columns: Mapping[str, SearchColumn]) -> dict[str, str]:
    """Column key -> condition: the ones `search_fields` ("email:like;phones.number:=") names, else all.
    An unknown condition keeps the column's own, as in Concord."""
    provided = [item for item in (search_fields or "").strip().split(";") if item]
    if not provided:
        return {key: column.condition for key, column in columns.items()}
    chosen: dict[str, str] = {}
    for item in provided[:MAX_ITEMS]:
        name, *rest = item.split(":")
        if name in columns:
            chosen[name] = rest[0] if rest and rest[0] in CONDITIONS else columns[name].condition
    if not chosen:
        raise SearchFieldsRejected(list(columns))
    return chosen


def _field_values(q: str) -> dict[str, str]:
    """The field form of `q` ("email:a@b.c;first_name:Ann" -> {email: a@b.c, first_name: Ann}), read as
    Concord reads it: only when `q` is no URL and has a colon after its first character; a part without
    a colon is skipped and text after a second colon dropped."""
    if _URL.fullmatch(q) or "http:" in q or "https:" in q or q.find(":") < 1:
        return {}
    values: dict[str, str] = {}
    for part in q.split(";"):
        pieces = part.split(":")
        if len(pieces) >= 2:
            values[pieces[0]] = pieces[1]
    return values


def _column_condition(column: SearchColumn, condition: str, value: str, entity: Entity) -> Node | None:
    """How one column matches `value` under `condition`; None when the column cannot hold it (Concord skips
    a numeric column for text and a boolean one for anything but on/off/1/0/true/false)."""
    field = entity.fields.get(column.field)
    name = f"{column.field}Id" if field is not None and field.type == "link" else column.field
    attribute = entity.attributes.get(name)
    if attribute is None:
        raise LookupError(f"Concord search column {column.key}: {entity.name} has no attribute {name}")
    contact_point = field is not None and field.type in _CONTACT_POINTS and name == field.name
    if condition == "in":
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if len(parts) > MAX_ITEMS:
            raise FilterError("q", f"Too many values to search (at most {MAX_ITEMS}).")
        values = [t for p in parts if (t := _typed(attribute.kind, p)) is not None]
        if not values:
            return None
        if attribute.kind in (ValueKind.STRING, ValueKind.TEXT) and not contact_point:
            return disjunction([Compare(name, Op.EQUALS_TEXT, v) for v in values])  # MySQL's IN ignores case
        return Compare(name, Op.IN, tuple(values))
    if attribute.kind in (ValueKind.STRING, ValueKind.TEXT):
        if condition == "like":
            return Compare(name, Op.CONTAINS, value)  # a literal: Concord's own `%`/`_` wildcards are escaped
        return Compare(name, Op.EQ if contact_point else Op.EQUALS_TEXT, value)
    scalar = _typed(attribute.kind, value)
    if scalar is None:
        return None
    if attribute.kind is ValueKind.DATETIME:
        # A bare date on a date-time column: that whole (UTC) day.
        return dates.within(name, dates.Window(dates.local_midnight(scalar, timezone.utc),
                                               dates.local_midnight(scalar + dates.DAY, timezone.utc)))
    return Compare(name, Op.EQ, scalar)  # `like` on a number or id: MySQL compares its text; equal is what fits


def _typed(kind: ValueKind, text: str) -> Any:
    """`text` as a value of `kind`, or None if it cannot be one."""
    if kind is ValueKind.ID:
        return parse_id(text.strip())
    if kind in (ValueKind.INT, ValueKind.FLOAT):
        number = float(text) if _NUMERIC.fullmatch(text) else math.nan
        if not math.isfinite(number):
            return None
        return int(number) if kind is ValueKind.INT and number.is_integer() and abs(number) < 2 ** 63 else number
    if kind is ValueKind.BOOL:
        return _BOOLEAN.get(text.strip().lower())
    if kind in (ValueKind.DATE, ValueKind.DATETIME):
        try:
            return date.fromisoformat(text) if len(text) == 10 else None
        except ValueError:
            return None
    return text if kind in (ValueKind.STRING, ValueKind.TEXT) else None


def parse_order(raw: Any, sortable: Mapping[str, str], default: list[Sort]) -> list[Sort]:
    """The sorts `order` asks for, replacing `default`: "a", "a|desc", "a|desc;b" (several: kinder than
    Concord, which fails), `{field, direction}` or a list of them (`order[0][field]=a`). `sortable` maps
    Concord keys onto canonical attributes. Entries without a field are skipped (Concord does so); an
    unknown field or a direction other than asc/desc is a FilterError (key "order")."""
    entries = _order_entries(raw, sortable)
    if not entries:
        return list(default)
    sorts = []
    for field, direction in entries:
        if field not in sortable:
            raise FilterError("order", f'Cannot order by "{field[:100]}". Sortable fields: {", ".join(sortable)}.')
        direction = direction.strip().lower() or "asc"
        if direction not in ("asc", "desc"):
            raise FilterError("order", 'Order direction must be "asc" or "desc".')
        sorts.append(Sort(sortable[field], direction == "desc"))
    return sorts


def _order_entries(raw: Any, sortable: Mapping[str, str]) -> list[tuple[str, str]]:
    """(field, direction) pairs with a field, from either form of `order`."""
    if raw is None:
        return []
    if isinstance(raw, str):
        entries = [_split_order(part.strip(), sortable) for part in raw.split(";")]
    else:
        items = [raw] if isinstance(raw, dict) and "field" in raw else \
            list(raw.values()) if isinstance(raw, dict) else raw if isinstance(raw, list) else None
        if items is None or not all(isinstance(item, dict) for item in items):
            raise FilterError("order", "The order must be field|direction or a list of {field, direction}.")
        entries = [(item.get("field"), item.get("direction") or "") for item in items]
        if not all(isinstance(f, (str, type(None))) and isinstance(d, str) for f, d in entries):
            raise FilterError("order", "An order field and direction must be strings.")
    kept = [(field.strip(), direction) for field, direction in entries if field and field.strip()]
    if len(kept) > MAX_ITEMS:
        raise FilterError("order", f"Too many order fields (at most {MAX_ITEMS}).")
    return kept


def _split_order(part: str, sortable: Mapping[str, str]) -> tuple[str, str]:
    """"field|direction" as Concord splits it (at the first bar); a sortable key that itself holds a bar
    (a relation's column, "user|name") is read whole, with or without a direction after it."""
    if part in sortable:
        return part, ""
    head, _, tail = part.rpartition("|")
    if head in sortable:
        return head, tail
    field, _, direction = part.partition("|")
    return field, direction.split("|")[0]


def parse_select(raw: str | list[Any] | None, known: Iterable[str]) -> list[str] | None:
    """The column keys `select` ("a;b", or a list) asks for, in order, once each; None for no select. An
    unknown key is a FilterError (key "select"). Concord answers a select without `id` with ids of null:
    whether to mimic that is the caller's choice."""
    if raw is None or raw == "" or raw == []:
        return None
    items = raw.split(";") if isinstance(raw, str) else raw if isinstance(raw, list) else None
    if items is None or not all(isinstance(item, str) for item in items):
        raise FilterError("select", "The select must be column names separated by semicolons.")
    keys = list(dict.fromkeys(item.strip() for item in items if item.strip()))
    if len(keys) > MAX_ITEMS:
        raise FilterError("select", f"Too many columns (at most {MAX_ITEMS}).")
    allowed = list(known)
    unknown = [key for key in keys if key not in allowed]
    if unknown:
        raise FilterError("select", f'Unknown column "{unknown[0][:100]}". Known columns: {", ".join(allowed)}.')
    return keys or None
