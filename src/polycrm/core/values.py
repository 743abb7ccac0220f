"""Input attributes -> validated Python values, per field type (EspoCRM's validation names).

`RecordInput.parse` takes a wire-neutral attribute map (ids may be ints or decimal strings) and splits it
into column values, many-valued link sets and contact points, raising `ValidationFailure` on the first
bad field, as EspoCRM does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field as dataclass_field
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable, Mapping, TypeVar

from polycrm.core.errors import Forbidden, ValidationFailure
from polycrm.meta import Attribute, Entity, Field, JunctionColumn, ValueKind
from polycrm.meta.fieldtypes import EMAIL_PATTERN, MAX_EMAIL_LENGTH
from polycrm.store.records import ContactPoint

# Attributes a client may never set (EspoCRM drops them silently).
SYSTEM_INPUT = frozenset({"id", "deleted", "createdAt", "createdById", "createdByName", "modifiedAt",
                          "modifiedById", "modifiedByName", "versionNumber"})
# Field types whose input becomes contact points (their own table) rather than a column value.
CONTACT_FIELD_TYPES = frozenset({"email", "phone"})
PHONE_PATTERN = re.compile(r"^[+0-9()\-. /x*#]{1,36}$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
MAX_TEXT_LENGTH = 1_000_000
INT_RANGE = (-(2 ** 63), 2 ** 63 - 1)
T = TypeVar("T")
NUL = "\x00"


def nul_location(value: Any) -> str | None:
    """Where the first text holding a NUL character is in a JSON-like value, dict keys included: a path
    such as `data.tags[2]` ("" for the value itself, a NUL in the failing key shown as `\\0`); None if
    there is none. PostgreSQL cannot store NUL in text, so no text PolyCRM keeps may hold one. Iterative:
    parsed bodies may nest deeper than Python's recursion limit."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return path
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                name = str(key)
                where = f"{path}.{name}" if path else name
                if NUL in name:
                    return where.replace(NUL, "\\0")
                children.append((child, where))
            stack.extend(reversed(children))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed([(child, f"{path}[{i}]") for i, child in enumerate(item)]))
    return None


def parse_id(value: Any) -> int | None:
    """A canonical record id from an int or a decimal string; None if it cannot be one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= INT_RANGE[1] else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value) or None
    return None


def parse_non_negative(text: str) -> int | None:
    """A non-negative 64-bit integer from ASCII decimal text (offsets, page numbers, version numbers); None
    for anything else, a value past 2^63-1 included (no column or SQL parameter holds it). The length is
    checked before converting: `str.isdigit` also accepts "²", and int() refuses over 4300 digits."""
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > 19:
        return None
    number = int(digits)
    return number if number <= INT_RANGE[1] else None


def parse_date(value: Any) -> date | None:
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def parse_datetime(value: Any) -> datetime | None:
    """Accepts `YYYY-MM-DD HH:MM[:SS]` (UTC, EspoCRM's form) and ISO 8601 with an offset."""
    if not isinstance(value, str) or not 16 <= len(value) <= 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


@dataclass(slots=True)
class ParsedInput:
    """What one create/update payload asks to change."""

    values: dict[str, Any] = dataclass_field(default_factory=dict)  # column attributes
    links: dict[str, list[int]] = dataclass_field(default_factory=dict)  # linkMultiple field -> ids
    # linkMultiple field -> related id -> junction column values (`<field>Columns`)
    link_columns: dict[str, dict[int, dict[str, Any]]] = dataclass_field(default_factory=dict)
    contact_points: dict[str, list[ContactPoint]] = dataclass_field(default_factory=dict)  # email/phone field


class RecordInput:
    """Validation and conversion of input for one entity."""

    def __init__(self, entity: Entity):
        self.entity = entity
        # Looked up once: every record of a mass create checks them.
        self._required = [f for f in entity.fields.values() if f.required and not f.read_only]
        # The attributes input may set, with their fields: anything else in the input is ignored.
        self._writable = {name: (attribute, entity.fields[attribute.field])
                          for name, attribute in entity.attributes.items()
                          if name not in SYSTEM_INPUT and attribute.writable}
        self._admin_only = {name: field.name for name, (_, field) in self._writable.items()
                            if field.params.get("onlyAdmin")}
        self._converters: dict[ValueKind, Callable[[Attribute, Field, Any], Any]] = {
            ValueKind.STRING: self._string, ValueKind.TEXT: self._string,
            ValueKind.INT: lambda _, field, value: self._number(field, value, integer=True),
            ValueKind.FLOAT: lambda _, field, value: self._number(field, value, integer=False),
            ValueKind.BOOL: self._bool,
            ValueKind.DATE: lambda _, field, value: self._parsed(parse_date(value), field),
            ValueKind.DATETIME: lambda _, field, value: self._parsed(parse_datetime(value), field),
            ValueKind.ARRAY: lambda _, field, value: self._array(field, value),
            ValueKind.JSON: lambda _, field, value: self._json(field, value),
            ValueKind.ID: lambda _, field, value: self._parsed(parse_id(value), field)}

    def check_admin_only(self, changed: Iterable[str], changed_links: Iterable[str]) -> None:
        """Forbidden when a non-administrator's write changes (attributes `changed`, link sets of the fields
        `changed_links`) a field only administrators may change (`onlyAdmin`: a user's type, activity, teams)."""
        for name in changed:
            if name in self._admin_only:
                raise Forbidden(f"Only administrators may change '{self._admin_only[name]}'.")
        for field in changed_links:
            if f"{field}Ids" in self._admin_only:
                raise Forbidden(f"Only administrators may change '{field}'.")

    def fail(self, field: str, kind: str, detail: str = "") -> ValidationFailure:
        return ValidationFailure(self.entity.name, field, kind, detail)

    def parse(self, data: dict[str, Any], *, creating: bool) -> ParsedInput:
        parsed = ParsedInput()
        contact_fields: set[str] = set()
        for name, value in data.items():
            writable = self._writable.get(name)
            if writable is None:
                continue
            attribute, field = writable
            if field.type in CONTACT_FIELD_TYPES:
                contact_fields.add(field.name)
            elif attribute.kind is ValueKind.ID_LIST:
                parsed.links[field.name] = self._id_list(field, value)
            elif attribute.kind is ValueKind.COLUMN_MAP:
                if value is not None:  # EspoCRM: null columns change nothing
                    parsed.link_columns[field.name] = self._link_columns(field, value)
            else:
                parsed.values[name] = self.convert(attribute, field, value)
        for field_name in contact_fields:
            self._contact_point_input(self.entity.fields[field_name], data, parsed)
        if creating:
            for field_name, columns in parsed.link_columns.items():
                self.check_column_ids(field_name, parsed.links.get(field_name, []), columns)
        return parsed

    # --- per kind ---------------------------------------------------------------------------------

    def convert(self, attribute: Attribute, field: Field, value: Any) -> Any:
        """One attribute value, validated against its field definition."""
        if value is None:
            return False if attribute.kind is ValueKind.BOOL else None  # EspoCRM booleans are never null
        converter = self._converters.get(attribute.kind)
        if converter is None:
            raise self.fail(field.name, "valid")
        return converter(attribute, field, value)

    def _bool(self, _attribute: Attribute, field: Field, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if value in (0, 1, "0", "1", "true", "false"):
            return value in (1, "1", "true")
        raise self.fail(field.name, "valid")

    def _parsed(self, parsed: T | None, field: Field) -> T:
        """What a parser made of a value, or the field's "valid" failure when it could make nothing."""
        if parsed is None:
            raise self.fail(field.name, "valid")
        return parsed

    def _string(self, attribute: Attribute, field: Field, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.fail(field.name, "valid")
        text = value if isinstance(value, str) else str(value)
        if NUL in text:
            raise self.fail(field.name, "valid")
        limit = attribute.max_length or (MAX_TEXT_LENGTH if attribute.kind is ValueKind.TEXT else None)
        if limit is not None and len(text) > limit:
            raise self.fail(field.name, "maxLength")
        if attribute.options is not None:
            if text not in attribute.options and not (text == "" and not field.required):
                raise self.fail(field.name, "valid")
        if field.type == "url" and text and not re.match(r"^[^\s]+\.[^\s]+$|^[a-z][a-z0-9+.-]*://\S+$", text):
            raise self.fail(field.name, "valid")
        if field.type == "linkParent" and attribute.name.endswith("Type") and text == "":
            return None
        return text

    def _number(self, field: Field, value: Any, *, integer: bool) -> int | float:
        if isinstance(value, bool):
            raise self.fail(field.name, "valid")
        number: int | float
        if isinstance(value, int):
            number = value
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise self.fail(field.name, "valid")
            number = value
        elif isinstance(value, str) and re.fullmatch(r"-?\d{1,18}(\.\d+)?", value.strip()):
            number = float(value) if "." in value else int(value)
        else:
            raise self.fail(field.name, "valid")
        if integer:
            if isinstance(number, float):
                if not number.is_integer():
                    raise self.fail(field.name, "valid")
                number = int(number)
            if not INT_RANGE[0] <= number <= INT_RANGE[1]:
                raise self.fail(field.name, "valid")
        else:
            number = float(number)
        if field.params.get("min") is not None and number < field.params["min"]:
            raise self.fail(field.name, "min")
        if field.params.get("max") is not None and number > field.params["max"]:
            raise self.fail(field.name, "max")
        return number

    def _json(self, field: Field, value: Any) -> Any:
        if nul_location(value) is not None:
            raise self.fail(field.name, "valid")
        return value

    def _array(self, field: Field, value: Any) -> list[str]:
        if not isinstance(value, list):
            raise self.fail(field.name, "array")
        if not all(isinstance(item, str) for item in value):
            raise self.fail(field.name, "arrayOfString")
        if any(NUL in item for item in value):
            raise self.fail(field.name, "valid")
        if field.options is not None and field.type in {"multiEnum", "checklist"}:
            if any(item not in field.options for item in value):
                raise self.fail(field.name, "valid")
        if any(len(item) > 255 for item in value):
            raise self.fail(field.name, "maxItemLength")
        return list(dict.fromkeys(value))

    def _id_list(self, field: Field, value: Any) -> list[int]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(field.name, "valid")
        ids = [parse_id(item) for item in value]
        if any(i is None for i in ids):
            raise self.fail(field.name, "valid")
        return list(dict.fromkeys(ids))  # type: ignore[arg-type]

    # --- link-multiple columns (EspoCRM's `columnsValid`) ---------------------------------------------

    def _link_columns(self, field: Field, value: Any) -> dict[int, dict[str, Any]]:
        """`{id: {column: value}}` with every column one of the link's and every value of its column's type."""
        columns = self.entity.links[field.name].columns
        if not isinstance(value, dict):
            raise self.fail(field.name, "columnsValid")
        parsed: dict[int, dict[str, Any]] = {}
        for key, item in value.items():
            related = parse_id(key)
            if related is None or not isinstance(item, dict):
                raise self.fail(field.name, "columnsValid")
            parsed[related] = {name: self._column_value(field, columns.get(name), column_value)
                               for name, column_value in item.items()}
        return parsed

    def _column_value(self, field: Field, column: JunctionColumn | None, value: Any) -> Any:
        """One column value, checked as EspoCRM checks it: booleans strictly, enum values among the options
        (null and "" only where "" is one), strings up to the column's length. Unknown columns are refused
        (EspoCRM would drop them silently)."""
        if column is None:
            raise self.fail(field.name, "columnsValid")
        if column.kind is ValueKind.BOOL:
            if not isinstance(value, bool):
                raise self.fail(field.name, "columnsValid")
            return value
        if value is None or (value == "" and column.options is not None):
            if column.options is not None and "" not in column.options:
                raise self.fail(field.name, "columnsValid")
            return value
        if not isinstance(value, str) or NUL in value or (column.max_length is not None
                                                             and len(value) > column.max_length):
            raise self.fail(field.name, "columnsValid")
        if column.options is not None and value not in column.options:
            raise self.fail(field.name, "columnsValid")
        return value

    def check_column_ids(self, field: str, ids: Iterable[int], columns: Mapping[int, Any]) -> None:
        """Column values may be given only for records of the field's set (after the change): EspoCRM would
        ignore others, or relate them when only columns are sent; PolyCRM refuses them."""
        if not set(columns) <= set(ids):
            raise self.fail(field, "columnsValid")

    # --- email / phone ----------------------------------------------------------------------------

    def _contact_point_input(self, field: Field, data: dict[str, Any], parsed: ParsedInput) -> None:
        name, is_email = field.name, field.type == "email"
        value_key = "emailAddress" if is_email else "phoneNumber"
        data_key = f"{name}Data"
        if data_key in data and data[data_key] is not None:
            items = data[data_key]
            if not isinstance(items, list):
                raise self.fail(name, "valid")
            points = [self._contact_point(field, item, value_key) for item in items]
            points = list({p.value.lower() if is_email else p.value: p for p in points}.values())
            if points and not any(p.primary for p in points):
                points[0].primary = True
            primaries = [p for p in points if p.primary]
            for extra in primaries[1:]:
                extra.primary = False
            points.sort(key=lambda p: not p.primary)
        elif name in data:
            value = data[name]
            if value in (None, ""):
                points = []
            else:
                point = self._contact_point(field, {value_key: value}, value_key)
                point.primary = True
                point.opt_out = self._flag(name, data.get(f"{name}IsOptedOut"))
                point.invalid = self._flag(name, data.get(f"{name}IsInvalid"))
                points = [point]
        else:
            # Only flags of the primary address changed; the service applies them to the stored list.
            for suffix in ("IsOptedOut", "IsInvalid"):
                if f"{name}{suffix}" in data:
                    parsed.values[f"{name}{suffix}"] = self._flag(name, data[f"{name}{suffix}"])
            return
        parsed.contact_points[name] = points
        primary = points[0] if points else None
        parsed.values[name] = primary.value if primary else None
        parsed.values[f"{name}IsOptedOut"] = primary.opt_out if primary else False
        parsed.values[f"{name}IsInvalid"] = primary.invalid if primary else False

    def _flag(self, field: str, value: Any) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.fail(field, "valid")
        return value

    def _contact_point(self, field: Field, item: Any, value_key: str) -> ContactPoint:
        if not isinstance(item, dict) or not isinstance(item.get(value_key), str):
            raise self.fail(field.name, "valid")
        value = item[value_key].strip()
        if NUL in value:
            raise self.fail(field.name, "valid")
        if field.type == "email":
            if len(value) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.match(value):
                raise self.fail(field.name, "emailAddress")
            kind = None
        else:
            if not PHONE_PATTERN.match(value):
                raise self.fail(field.name, "valid")
            type_list = field.params.get("typeList") or ["Mobile", "Office", "Home", "Fax", "Other"]
            kind = item.get("type") or field.params.get("defaultType") or type_list[0]
            if kind not in type_list:
                raise self.fail(field.name, "valid")
        return ContactPoint(value, primary=self._flag(field.name, item.get("primary")),
                            opt_out=self._flag(field.name, item.get("optOut")),
                            invalid=self._flag(field.name, item.get("invalid")), type=kind)

    # --- checks on whole records ------------------------------------------------------------------

    def required_missing(self, record: dict[str, Any], waived: frozenset[str] = frozenset()) -> str | None:
        """The first required field without a value in a complete record, if any; `waived` are required
        fields the writing protocol does not require (Concord's contacts need no last name)."""
        for field in self._required:
            if field.name in waived:
                continue
            if field.type == "personName":
                present = record.get("firstName") or record.get("lastName")
            elif field.type in {"link", "linkParent", "file", "image"}:
                present = record.get(f"{field.name}Id")
            elif field.type == "linkMultiple":
                present = record.get(f"{field.name}Ids")
            else:
                present = record.get(field.name) not in (None, "", [])
            if not present:
                return field.name
        return None
