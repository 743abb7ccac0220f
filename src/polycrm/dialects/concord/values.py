"""A Concord request body as canonical record data, checked as Concord's form requests check it (§4, §9).

Every key is checked before anything is written, and every failure is reported at once, keyed by the request
key, in Laravel's words with Concord's field labels ("The First Name field is required."). Keys Concord
would not read either (the record's own read-only keys echoed back, unknown keys) are left aside; unknown ones
are named in a warning header. The core then applies its own rules; `core_failure` words its refusals the
same way.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

from polycrm.core.errors import ValidationFailure
from polycrm.dialects.concord.custom_types import custom_fields, time_zones
from polycrm.dialects.concord.mapping import RECORD_KEYS, ConcordMapping, Resource, ResourceField
from polycrm.meta import Entity

MAX_STRING = 191  # Laravel's StringRule: utf8mb4 VARCHAR(191)
MAX_IDS = 1000  # association ids in one request
_INTEGER = re.compile(r"[+-]?\d{1,18}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2})?))?")
HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6})")  # what a 7-character column holds
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]+\S*")
MAX_NUMERIC = 10 ** 12  # Concord's decimal(15,3) holds less
NUMERIC_PLACES = 3
# What an emptied key stores, by how it reads (None for the rest).
_EMPTY: dict[str, Any] = {"phones": [], "options": []}


@dataclass
class Parsed:
    """What a body asks: canonical data, association ids by key (None: not sent), and keys left aside."""

    data: dict[str, Any] = field(default_factory=dict)
    associations: dict[str, list[Any]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def fail(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)


def as_integer(value: Any) -> int | None:
    """An id as Laravel's `integer`/`numeric` rules take it: an int or a string of digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return None


class BodyReader:
    """Reads request bodies for one resource."""

    def __init__(self, mapping: ConcordMapping, resource: Resource, entity: Entity):
        self.mapping = mapping
        self.resource = resource
        self.entity = entity
        self.custom = {item.key: item.spec() for item in custom_fields(entity)}

    def read(self, body: Any, *, creating: bool) -> Parsed:
        parsed = Parsed()
        if not isinstance(body, dict):
            parsed.fail("body", "The request body must be a JSON object.")
            return parsed
        for key, value in body.items():
            spec = self.resource.by_key.get(key)
            if spec is not None:
                if not spec.read_only:
                    self._field(parsed, spec, value, creating)
            elif key in self.resource.associations:
                self.association(parsed, key, value)
            elif key == "associations" and isinstance(value, dict):  # the generic form (§5)
                for name, ids in value.items():
                    if name in self.resource.associations:
                        self.association(parsed, name, ids)
                    else:
                        parsed.ignored.append(f"associations.{name}")
            elif key in self.custom:
                self._field(parsed, self.custom[key], value, creating)
            elif key not in RECORD_KEYS and not key.endswith("_count"):
                parsed.ignored.append(key)
        if creating:
            for spec in self.resource.fields:
                if spec.required and spec.key not in body:
                    parsed.fail(spec.key, f"The {spec.label} field is required.")
        return parsed

    def _field(self, parsed: Parsed, spec: ResourceField, value: Any, creating: bool) -> None:
        label, key = spec.label, spec.key
        if value is None or value == "" or value == []:
            if spec.required or (spec.default_record and not creating):  # a defaulted link is `filled` on update
                parsed.fail(key, f"The {label} field is required." if creating else
                            f"The {label} field must have a value.")
            else:
                parsed.data[f"{spec.field}Data" if spec.type == "phones" else spec.attribute] = _EMPTY.get(spec.type)
            return
        reader = getattr(self, f"_{spec.type}")
        reader(parsed, spec, value)

    def _string(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        if not isinstance(value, str):
            parsed.fail(spec.key, f"The {spec.label} field must be a string.")
        elif len(value) > MAX_STRING:
            parsed.fail(spec.key, f"The {spec.label} field must not be greater than {MAX_STRING} characters.")
        else:
            parsed.data[spec.field] = value

    _text = _string

    def _email(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        if not isinstance(value, str) or not _EMAIL.fullmatch(value.strip()) or len(value) > MAX_STRING:
            parsed.fail(spec.key, f"The {spec.label} field must be a valid email address.")
        else:
            parsed.data[spec.field] = value.strip()

    def _owner(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        number = as_integer(value)
        if number is None:
            parsed.fail(spec.key, f"The {spec.label} field must be an integer.")
        else:
            parsed.data[spec.attribute] = number

    _id = _int = _owner  # `attribute` is the field itself for an int

    def _decimal(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        number: Any = value
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                number = None
        if isinstance(number, bool) or not isinstance(number, (int, float)) or number != number \
                or abs(number) >= 1e15:
            parsed.fail(spec.key, f"The {spec.label} field must be a number.")
        else:
            parsed.data[spec.field] = number

    def _date(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        moment = _moment(value)
        if moment is None:
            parsed.fail(spec.key, f"The {spec.label} field must be a valid date.")
        else:
            parsed.data[spec.field] = moment[0]

    def _datetime(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        moment = _moment(value)
        if moment is None:
            parsed.fail(spec.key, f"The {spec.label} field must be a valid date.")
        else:
            parsed.data[spec.field] = f"{moment[0]} {moment[1] or '00:00:00'}"

    def _enum(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        values = spec.values or {}
        if not isinstance(value, str) or value not in values:
            parsed.fail(spec.key, f"The selected {spec.label} is invalid.")
        else:
            parsed.data[spec.field] = values[value]

    def _bool(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        if value in (True, False, 0, 1, "0", "1", "true", "false"):
            parsed.data[spec.field] = value in (True, 1, "1", "true")
        else:
            parsed.fail(spec.key, f"The {spec.label} field must be true or false.")

    def _phones(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        if not isinstance(value, list):
            parsed.fail(spec.key, f"The {spec.label} field must be an array.")
            return
        items = []
        for position, item in enumerate(value):
            prefix = f"{spec.key}.{position}"
            if isinstance(item, str):  # a bare number, as Concord's importer accepts
                item = {"number": item}
            if not isinstance(item, dict):
                parsed.fail(prefix, f"The {prefix} field must be an array.")
                continue
            number, kind = item.get("number"), item.get("type", "mobile")
            if not isinstance(number, str) or not number.strip():
                parsed.fail(f"{prefix}.number", f"The {prefix}.number field is required.")
            elif len(number) > MAX_STRING:
                parsed.fail(f"{prefix}.number", f"The {prefix}.number field must not be greater than "
                                                f"{MAX_STRING} characters.")
            if kind is None:
                kind = "mobile"
            if not isinstance(kind, str) or kind not in self.mapping.phone_types:
                parsed.fail(f"{prefix}.type", f"The selected {prefix}.type is invalid.")
                continue
            if isinstance(number, str) and number.strip():
                items.append({"phoneNumber": number.strip(), "type": self.mapping.phone_types[kind],
                              "primary": not items})
        parsed.data[f"{spec.field}Data"] = items

    def association(self, parsed: Parsed, key: str, value: Any) -> None:
        """Ids (or names) to sync: a list, or a comma string as Concord accepts (`"3,4"`)."""
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        elif isinstance(value, (int, dict)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or len(value) > MAX_IDS:
            parsed.fail(key, f"The {key} field must be an array of at most {MAX_IDS} ids.")
            return
        ids: list[Any] = []
        for item in value:
            if isinstance(item, dict):  # a record sent back: its id
                item = item.get("id")
            number = as_integer(item)
            if number is not None:
                ids.append(number)
            elif isinstance(item, str) and 0 < len(item) <= MAX_STRING:
                ids.append(item)  # a name, resolved against the associated resource
            else:
                parsed.fail(key, f"The {key} field must hold record ids or names.")
                return
        parsed.associations[key] = ids

    # --- custom field values (custom_types.TYPES) -------------------------------------------------------

    _integer = _owner  # a Number: an integer (its attribute is its field)

    def _numeric(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        """A decimal(15,3) value: a number (or numeric text), at most 3 decimals."""
        text = value.strip() if isinstance(value, str) else repr(value) if isinstance(value, float) else None
        try:
            number = float(text) if text is not None else value
        except ValueError:
            number = None
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
            parsed.fail(spec.key, f"The {spec.label} field must be a number.")
        elif text is not None and "e" not in text.lower() and len(text.partition(".")[2]) > NUMERIC_PLACES:
            parsed.fail(spec.key, f"The {spec.label} field must have 0-{NUMERIC_PLACES} decimal places.")
        elif abs(number) >= MAX_NUMERIC:
            top = f"{MAX_NUMERIC - 1}.999"
            parsed.fail(spec.key, f"The {spec.label} field must be between -{top} and {top}.")
        else:
            parsed.data[spec.field] = number

    def _checked_string(self, parsed: Parsed, spec: ResourceField, value: Any, valid: Callable[[str], bool],
                        rule: str) -> None:
        """A string the rule `valid` accepts (Laravel's message for the rule otherwise)."""
        if not isinstance(value, str) or not valid(value.strip()):
            parsed.fail(spec.key, f"The {spec.label} field must be a valid {rule}.")
        else:
            parsed.data[spec.field] = value.strip()

    def _color(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        self._checked_string(parsed, spec, value, HEX_COLOR.fullmatch, "hexadecimal color")

    def _timezone(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        self._checked_string(parsed, spec, value, lambda text: text in time_zones(), "timezone")

    def _url(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        self._checked_string(parsed, spec, value, lambda text: len(text) <= MAX_STRING and bool(_URL.fullmatch(text)),
                             "URL")

    def _longtext(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        if not isinstance(value, str):
            parsed.fail(spec.key, f"The {spec.label} field must be a string.")
        else:
            parsed.data[spec.field] = value

    def _raw(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        """A field of a type Concord has none for: as given, for the core to check."""
        parsed.data[spec.field] = value

    def _option(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        """A Select or Radio value: an option id, or an option's name (Concord's acceptLabelAsValue)."""
        name = _option_name(spec, value)
        if name is None:
            parsed.fail(spec.key, f"The selected {spec.label} is invalid.")
        else:
            parsed.data[spec.field] = name

    def _options(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        """A MultiSelect or Checkbox value: option ids or names, as a list, a comma string or one id; the
        options it was read with (`{id, ...}`) are taken back."""
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        elif isinstance(value, (int, dict)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or len(value) > MAX_IDS:
            parsed.fail(spec.key, f"The {spec.label} field must be an array.")
            return
        names, unknown = [], []
        for item in value:
            name = _option_name(spec, item.get("id") if isinstance(item, dict) else item)
            if name is None:
                unknown.append(str(item.get("id") if isinstance(item, dict) else item)[:100])
            else:
                names.append(name)
        if unknown:
            many = len(unknown) > 1
            parsed.fail(spec.key, f"The provided option{'s' if many else ''} \"{', '.join(unknown)}\" "
                                  f"{'are' if many else 'is'} invalid.")
        else:
            parsed.data[spec.field] = list(dict.fromkeys(names))


def _option_name(spec: ResourceField, value: Any) -> str | None:
    """The option an id (an int or digits) or a name (ignoring case and surrounding blanks) picks."""
    names = spec.values or {}
    number = as_integer(value)
    if number is not None and str(number) in names:
        return names[str(number)]
    if isinstance(value, str):
        wanted = value.strip().lower()
        return next((name for name in names.values() if name.strip().lower() == wanted), None)
    return None


def _moment(value: Any) -> tuple[str, str | None] | None:
    """(date, time or None) of `YYYY-MM-DD[ HH:MM[:SS]]` (an ISO `T` and a trailing `Z`/`.000000Z` allowed)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    for suffix in (".000000Z", "Z"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
            break
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    day, clock = match.groups()
    try:
        date.fromisoformat(day)
        if clock is not None:
            clock = clock if clock.count(":") == 2 else f"{clock}:00"
            datetime.strptime(clock, "%H:%M:%S")
    except ValueError:
        return None
    return day, clock


# Laravel's words for the core's validation failures, by kind.
_CORE_MESSAGES = {
    "required": "The {label} field is required.",
    "maxLength": "The {label} field must not be greater than {limit} characters.",
    "emailAddress": "The {label} field must be a valid email address.",
    "min": "The {label} field must be at least {min}.",
    "max": "The {label} field must not be greater than {max}.",
}


def core_failure(resource: Resource, entity: Entity, failure: ValidationFailure) -> dict[str, list[str]]:
    """A core validation failure as a 422's `errors`, keyed by the request key of its field."""
    spec = resource.by_field.get(failure.field)
    if spec is None:
        spec = next((item.spec() for item in custom_fields(entity) if item.field == failure.field), None)
    key = spec.key if spec is not None else failure.field
    label = spec.label if spec is not None else key
    params = entity.fields[failure.field].params if failure.field in entity.fields else {}
    template = _CORE_MESSAGES.get(failure.kind, "The selected {label} is invalid.")
    return {key: [template.format(label=label, limit=params.get("maxLength", MAX_STRING),
                                  min=params.get("min", ""), max=params.get("max", ""))]}
