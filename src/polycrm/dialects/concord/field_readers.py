"""How a Concord request body's values read, type by type (ResourceField.type, custom_types.TYPES), as
Concord's form requests check them (§4, §9): each reader takes one key's value, puts what it means into a
`Parsed` (canonical data, tags, guests, lookups) or names what is wrong with it in Laravel's words. The body
as a whole (which keys, required ones, the via keys, the order of errors) is values.BodyReader's.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable
from urllib.parse import urlsplit

from polycrm.dialects.concord.custom_types import time_zones
from polycrm.dialects.concord.mapping import ConcordMapping, ResourceField
from polycrm.dialects.concord.tags import MAX_TAGS

MAX_STRING = 191  # Laravel's StringRule: utf8mb4 VARCHAR(191)
MAX_LONGTEXT = 4_294_967_295  # a MySQL LONGTEXT column: in effect, what the body limit lets through
MAX_TEXT = 65535  # a MySQL TEXT column (a call's or a note's body)
MAX_IDS = 1000  # association ids in one request
DEFAULT_PHONE_TYPE = "mobile"  # Concord's Phone field: defaultType(PhoneType::mobile)
_INTEGER = re.compile(r"[+-]?\d{1,18}")
LARAVEL_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2})?))?")
HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6})")  # what a 7-character column holds
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]+\S*")
MAX_NUMERIC = 10 ** 12  # Concord's decimal(15,3) holds less
NUMERIC_PLACES = 3


@dataclass
class Parsed:
    """What a body asks: canonical data, association ids by key (None: not sent), and keys left aside."""

    data: dict[str, Any] = field(default_factory=dict)
    associations: dict[str, list[Any]] = field(default_factory=dict)
    tags: dict[str, list[str]] = field(default_factory=dict)  # tag names by request key
    guests: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # request key -> resource -> ids
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # values taken otherwise than sent, for the warning
    errors: dict[str, list[str]] = field(default_factory=dict)
    lookups: dict[str, tuple[ResourceField, int | str]] = field(default_factory=dict)  # key -> (its spec, id or name)
    via: tuple[str, int] | None = None  # (association key, record id) of `via_resource`, `via_resource_id`

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


def read_string(parsed: Parsed, spec: ResourceField, value: Any, limit: int) -> None:
    """A string of at most `limit` characters, kept as given."""
    if not isinstance(value, str):
        parsed.fail(spec.key, f"The {spec.label} field must be a string.")
    elif len(value) > limit:
        parsed.fail(spec.key, f"The {spec.label} field must not be greater than {limit} characters.")
    else:
        parsed.data[spec.field] = value


def read_integer(parsed: Parsed, spec: ResourceField, value: Any) -> None:
    """Laravel's `integer` (and `not_in`, when the spec names values it refuses)."""
    number = as_integer(value)
    if number is None:
        parsed.fail(spec.key, spec.messages.get("type") or f"The {spec.label} field must be an integer.")
    elif number in spec.not_in:
        parsed.fail(spec.key, f"The selected {spec.label} is invalid.")
    else:
        parsed.data[spec.attribute] = number


class FieldReaders:
    """The readers of one mapping's values: `_<type>` reads a value of that type."""

    def __init__(self, mapping: ConcordMapping):
        self.mapping = mapping

    def _string(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        read_string(parsed, spec, value, MAX_STRING)

    def _text(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        """A text column (a body in Concord's editor, HTML; a description), kept as given."""
        read_string(parsed, spec, value, MAX_TEXT)

    def _longtext(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        """A long text column (a document's content): any length the request body may carry."""
        read_string(parsed, spec, value, MAX_LONGTEXT)

    def _lookup(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        """An entry of a list by id, or by name: resolved to the name stored when the caller is known
        (`writes.save`)."""
        number = as_integer(value)
        if number is None and not (isinstance(value, str) and 0 < len(value.strip()) <= MAX_STRING):
            parsed.fail(spec.key, f"The selected {spec.label} is invalid.")
        else:
            parsed.lookups[spec.key] = (spec, number if number is not None else value.strip())

    def _active(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        """`is_active` over an archive date: active is not archived, inactive archived now."""
        checked = Parsed()
        self._bool(checked, spec, value)
        if checked.errors:
            parsed.errors.update(checked.errors)
        else:
            parsed.data[spec.field] = None if checked.data[spec.field] else \
                datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")

    def _domain(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        """A URL or host kept as its domain name, as Concord's Domain field keeps it (none when it has none)."""
        self._string(parsed, spec, value)
        if spec.field in parsed.data:
            parsed.data[spec.field] = domain_of(parsed.data[spec.field])

    def _email(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        if not isinstance(value, str) or not LARAVEL_EMAIL.fullmatch(value.strip()):
            parsed.fail(spec.key, f"The {spec.label} field must be a valid email address.")
        elif len(value) > MAX_STRING:  # Laravel's `max:191` after `email`
            parsed.fail(spec.key, f"The {spec.label} field must not be greater than {MAX_STRING} characters.")
        else:
            parsed.data[spec.field] = value.strip()

    def _owner(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        number = as_integer(value)
        if number is None:  # Concord checks an owner against its users only
            parsed.fail(spec.key, f"The selected {spec.label} is invalid.")
        else:
            parsed.data[spec.attribute] = number

    _id = staticmethod(read_integer)  # a link's id (its attribute `<field>Id`)
    _int = _id  # `attribute` is the field itself for an int

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

    def _datetimeOptional(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        """A day (all day: `<field>Date`, the core derives the rest) or a moment (`<field>`, no day)."""
        moment = _moment(value)
        if moment is None:
            parsed.fail(spec.key, f"The {spec.label} field must be a valid date.")
        else:
            day, clock = moment
            parsed.data.update({spec.field: f"{day} {clock}" if clock else None,
                                f"{spec.field}Date": None if clock else day})

    def _flag(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        if value in (True, False, 0, 1, "0", "1", "true", "false"):
            parsed.data[spec.field] = (spec.values or {})["true" if value in (True, 1, "1", "true") else "false"]
        else:
            parsed.fail(spec.key, f"The {spec.label} field must be true or false.")

    def _enum(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        values = spec.values or {}
        if not isinstance(value, str) or value not in values:
            parsed.fail(spec.key, spec.messages.get("type") or f"The selected {spec.label} is invalid.")
        else:
            parsed.data[spec.field] = values[value]

    def _bool(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        if value in (True, False, 0, 1, "0", "1", "true", "false"):
            parsed.data[spec.field] = value in (True, 1, "1", "true")
        else:
            parsed.fail(spec.key, f"The {spec.label} field must be true or false.")

    def _phones(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        """Concord's Phone field: a list of `{number, type}` or of numbers, or a comma string of numbers; a
        number may end in `|work` (a known type, any case). A type Concord does not know (`fax`, `MOBILE`, a
        number) is its default, mobile, as Concord stores it without a word (named in the warning here); one
        that is no text (a list, an object: a 500 in Concord) is 422."""
        value = _split_list(parsed, spec, value, MAX_IDS, f"must not have more than {MAX_IDS} items")
        if value is None:
            return
        items = []
        for position, item in enumerate(value):
            prefix = f"{spec.key}.{position}"
            if isinstance(item, str):  # a bare number, as Concord's importer accepts
                item = {"number": item.strip()}
            if not isinstance(item, dict):
                parsed.fail(prefix, f"The {prefix} field must be an array.")
                continue
            number, kind = item.get("number"), item.get("type")
            if isinstance(number, str) and "|" in number:
                before, _, suffix = number.rpartition("|")
                if suffix.strip().lower() in self.mapping.phone_types:
                    number, kind = before, suffix.strip().lower()
            if not isinstance(number, str) or not number.strip():
                parsed.fail(f"{prefix}.number", f"The {prefix}.number field is required.")
            elif len(number) > MAX_STRING:
                parsed.fail(f"{prefix}.number", f"The {prefix}.number field must not be greater than "
                                                f"{MAX_STRING} characters.")
            if kind is None or kind == "":
                kind = DEFAULT_PHONE_TYPE
            elif isinstance(kind, bool) or not isinstance(kind, (str, int, float)):
                parsed.fail(f"{prefix}.type", f"The selected {prefix}.type is invalid.")
                continue
            elif kind not in self.mapping.phone_types:
                parsed.notes.append(f"{prefix}.type {str(kind)[:40]!r} is no phone type (mobile, work, other): "
                                    f"{DEFAULT_PHONE_TYPE} kept")
                kind = DEFAULT_PHONE_TYPE
            if isinstance(number, str) and number.strip():
                items.append({"phoneNumber": number.strip(), "type": self.mapping.phone_types[kind],
                              "primary": not items})
        parsed.data[f"{spec.field}Data"] = items

    def _tags(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        """Tag names: a list, or a comma string as Concord's Tags field splits it; empty names are dropped."""
        value = _split_list(parsed, spec, value, MAX_TAGS, f"must be an array of at most {MAX_TAGS} tag names")
        if value is None:
            return
        names = []
        for position, name in enumerate(value):
            key = f"{spec.key}.{position}"
            if not isinstance(name, str):
                parsed.fail(key, f"The {key} field must be a string.")
            elif len(name.strip()) > MAX_STRING:
                parsed.fail(key, f"The {key} field must not be greater than {MAX_STRING} characters.")
            elif name.strip():
                names.append(name.strip())
        parsed.tags[spec.key] = names

    def _guests(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        """Concord's GuestsSelect: `{"users": [ids], "contacts": [ids]}` is the whole set (a resource left out
        has none; `[]` or `{}` none at all). An id may be given alone, as a comma string, or as the record
        sent back (`{id}`); whether each names a record is checked with the store (guests.GuestSets)."""
        if isinstance(value, list):  # a PHP array too: its keys are positions, which name no kind of guest
            value = {str(position): item for position, item in enumerate(value)}
        if not isinstance(value, dict):
            parsed.fail(spec.key, f"The {spec.label} field must be an array.")
            return
        chosen: dict[str, list[int]] = {name: [] for name in spec.guests}
        for name, ids in value.items():
            key = f"{spec.key}.{name}"
            if name not in spec.guests:
                parsed.fail(key, f"The selected {key} is invalid.")
                continue
            if isinstance(ids, str):
                ids = [part.strip() for part in ids.split(",") if part.strip()]
            elif ids is None or isinstance(ids, (int, dict)):
                ids = [] if ids is None else [ids]
            if not isinstance(ids, list) or len(ids) > MAX_IDS:
                parsed.fail(key, f"The {key} field must be an array of at most {MAX_IDS} ids.")
                continue
            for position, item in enumerate(ids):
                number = as_integer(item.get("id") if isinstance(item, dict) else item)
                if number is None:
                    parsed.fail(f"{key}.{position}", f"The {key}.{position} field must be an integer.")
                else:
                    chosen[name].append(number)
        parsed.guests[spec.key] = chosen  # as sent: a refused id is named by its position

    def association(self, parsed: Parsed, key: str, value: Any) -> None:
        """Ids (or names) to sync: a list, or a comma string as Concord accepts (`"3,4"`)."""
        value = _as_items(value)
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

    _integer = _id  # a Number: an integer (its attribute is its field)

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
        value = _as_items(value)
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


def _split_list(parsed: Parsed, spec: ResourceField, value: Any, most: int, too_many: str) -> list[Any] | None:
    """A list value, or a comma string split as Concord's Phone and Tags fields split it (blank parts dropped,
    the others as given); None, with the failure named, for anything else or more than `most` items."""
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        parsed.fail(spec.key, f"The {spec.label} field must be an array.")
        return None
    if len(value) > most:
        parsed.fail(spec.key, f"The {spec.label} field {too_many}.")
        return None
    return value


def _as_items(value: Any) -> Any:
    """Ids as a list: a comma string's trimmed parts (`"3,4"`), one id or record alone as a list of it; any
    other value as given, for the caller to refuse."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (int, dict)) and not isinstance(value, bool):
        return [value]
    return value


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


def domain_of(text: str) -> str | None:
    """The registrable domain Concord's `Domain::extractFromUrl` takes from a URL or host: `https://www.acme.com/x`
    -> `acme.com`; None when nothing in it looks like a domain."""
    host = urlsplit(text).netloc.rsplit("@", 1)[-1].split(":")[0] if "://" in text else text.strip().split("/")[0]
    longest = 9 if (host or "").endswith(".localhost") else 7 if (host or "").endswith(
        (".invalid", ".example", ".digital")) else 6
    found = re.search(rf"([a-z0-9][a-z0-9\-]{{1,63}}\.[a-z.]{{2,{longest}}})$", host or "", re.IGNORECASE)
    return found.group(1) if found else None


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
