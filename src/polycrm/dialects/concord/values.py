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
from datetime import date, datetime, timezone
from typing import Any, Callable
from urllib.parse import urlsplit

from polycrm.core.errors import ValidationFailure
from polycrm.dialects.concord.custom_types import custom_fields, time_zones
from polycrm.dialects.concord.mapping import DAY_TYPES, RECORD_KEYS, ConcordMapping, Resource, ResourceField
from polycrm.dialects.concord.tags import MAX_TAGS
from polycrm.meta import Entity

MAX_STRING = 191  # Laravel's StringRule: utf8mb4 VARCHAR(191)
MAX_LONGTEXT = 4_294_967_295  # a MySQL LONGTEXT column: in effect, what the body limit lets through
MAX_TEXT = 65535  # a MySQL TEXT column (a call's or a note's body)
VIA_RESOURCE, VIA_ID = "via_resource", "via_resource_id"  # the record a call or note is written from
MAX_IDS = 1000  # association ids in one request
DEFAULT_PHONE_TYPE = "mobile"  # Concord's Phone field: defaultType(PhoneType::mobile)
_INTEGER = re.compile(r"[+-]?\d{1,18}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2})?))?")
HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6})")  # what a 7-character column holds
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]+\S*")
MAX_NUMERIC = 10 ** 12  # Concord's decimal(15,3) holds less
NUMERIC_PLACES = 3
# Types whose value is a list: an empty one empties them (Laravel's `string` refuses [] for the rest).
_LISTS = frozenset({"phones", "options"})
# What an emptied key stores, by how it reads (None for the rest).
_EMPTY: dict[str, Any] = {"phones": [], "options": []}


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
            elif key not in RECORD_KEYS and not key.endswith("_count") and not (
                    self.resource.via and key in (VIA_RESOURCE, VIA_ID)) and not (
                    self.resource.billable and key == "billable") and (
                    key not in self.resource.parts):  # billables.billable_of_write; document_parties.read_parties
                parsed.ignored.append(key)
        if creating:
            for spec in self.resource.fields:
                if spec.required and spec.key not in body:
                    parsed.fail(spec.key, spec.required_message or f"The {spec.label} field is required.")
                elif spec.default_from is not None and spec.key not in body:
                    self._copy(parsed, self.resource.by_key[spec.default_from], spec)
        for spec in self.resource.fields:
            if spec.not_before is not None and spec.key in body and spec.not_before in body:
                self._check_order(parsed, self.resource.by_key[spec.not_before], spec)
        if self.resource.via:
            self._via(parsed, body, creating)
        # Laravel reports in its rules' order: the via keys (a call's or note's request rules), then the fields
        rank = {key: i for i, key in enumerate(
            [VIA_RESOURCE, VIA_ID] * bool(self.resource.via) + [spec.key for spec in self.resource.fields])}
        parsed.errors = dict(sorted(parsed.errors.items(), key=lambda item: rank.get(item[0], len(rank))))
        return parsed

    def settle(self, parsed: Parsed, current: dict[str, Any]) -> None:
        """An update's flags against the stored record: false leaves a value that is not the flag's true one
        as it is (`is_completed: false` reopens a completed task, and keeps a started one started)."""
        for spec in self.resource.fields:
            values = spec.values or {}
            if spec.type == "flag" and parsed.data.get(spec.field) == values.get("false") \
                    and current.get(spec.field) != values.get("true"):
                del parsed.data[spec.field]

    @staticmethod
    def _copy(parsed: Parsed, source: ResourceField, target: ResourceField) -> None:
        """A create's value of `target` taken from `source`'s (Concord's end date is the due date)."""
        suffixes = ("", "Date") if source.type in DAY_TYPES and target.type in DAY_TYPES else ("",)
        for suffix in suffixes:
            if f"{source.field}{suffix}" in parsed.data:
                parsed.data[f"{target.field}{suffix}"] = parsed.data[f"{source.field}{suffix}"]

    @staticmethod
    def _check_order(parsed: Parsed, first: ResourceField, then: ResourceField) -> None:
        """Concord's end date rule: not before the due date; on another day than a timed due date, with a
        time of its own."""
        start = parsed.data.get(first.field) or parsed.data.get(f"{first.field}Date")
        end = parsed.data.get(then.field) or parsed.data.get(f"{then.field}Date")
        if not start or not end or then.key in parsed.errors:
            return
        start_day, _, start_time = start.partition(" ")
        end_day, _, end_time = end.partition(" ")
        if bool(start_time) == bool(end_time):
            if (end_day, end_time) < (start_day, start_time):
                parsed.fail(then.key, "The end date must not be less then the due date.")
        elif start_time:  # an all-day end of a timed activity: its day, at the due time
            if end_day < start_day:
                parsed.fail(then.key, "The end date must not be less then the due date.")
            if end_day != start_day:
                parsed.fail(then.key, "You must specify end time when the end date is on a different day.")

    def _via(self, parsed: Parsed, body: dict[str, Any], creating: bool) -> None:
        """`via_resource` and `via_resource_id`: Concord requires both on a create (`required|in:...`,
        `required|numeric`); an update may leave both out, or name a record to attach."""
        resource, record_id = body.get(VIA_RESOURCE), body.get(VIA_ID)
        if not creating and resource in (None, "") and record_id in (None, ""):
            return
        if resource in (None, "") and (creating and self.resource.via_required or record_id not in (None, "")):
            parsed.fail(VIA_RESOURCE, "The via resource field is required.")
        elif resource not in (None, "") and (not isinstance(resource, str) or resource not in self.resource.via):
            parsed.fail(VIA_RESOURCE, "The selected via resource is invalid.")
        number = as_integer(record_id)
        if record_id in (None, ""):
            if creating and self.resource.via_required or resource not in (None, ""):
                parsed.fail(VIA_ID, "The via resource id field is required.")
        elif number is None:
            parsed.fail(VIA_ID, "The via resource id field must be a number.")
        if VIA_RESOURCE not in parsed.errors and VIA_ID not in parsed.errors and number is not None:
            parsed.via = (resource, number)

    def _field(self, parsed: Parsed, spec: ResourceField, value: Any, creating: bool) -> None:
        label, key = spec.label, spec.key
        # Laravel trims and reads "" as null: blank text is empty, and null or blank tags or guests change nothing
        # (Concord's Tags and GuestsSelect fields fill only a value that is not null, the latter only an array)
        blank = spec.type in ("text", "tags", "guests") and isinstance(value, str) and not value.strip()
        if spec.type in ("tags", "guests") and (value is None or blank):
            return
        if value is None or value == "" or (value == [] and spec.type in _LISTS) or blank:
            if spec.required and creating:
                parsed.fail(key, spec.required_message or f"The {label} field is required.")
            elif "empty" in spec.messages:
                parsed.fail(key, spec.messages["empty"])
            elif spec.required or (spec.default_record is not None and not creating):  # Laravel's `filled`
                if spec.type == "string" and value != []:  # Laravel reads "" as null, which `string` refuses
                    parsed.fail(key, f"The {label} field must be a string.")
                parsed.fail(key, f"The {label} field must have a value.")
            elif spec.type in DAY_TYPES:
                parsed.data.update({spec.field: None, f"{spec.field}Date": None})
            elif spec.type != "flag":  # a flag sent empty changes nothing (Concord's fillUsing skips null)
                parsed.data[f"{spec.field}Data" if spec.type == "phones" else spec.attribute] = _EMPTY.get(spec.type)
            return
        reader = getattr(self, f"_{spec.type}")
        reader(parsed, spec, value)

    @staticmethod
    def _bounded(parsed: Parsed, spec: ResourceField, value: Any, limit: int) -> None:
        if not isinstance(value, str):
            parsed.fail(spec.key, f"The {spec.label} field must be a string.")
        elif len(value) > limit:
            parsed.fail(spec.key, f"The {spec.label} field must not be greater than {limit} characters.")
        else:
            parsed.data[spec.field] = value

    def _string(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        self._bounded(parsed, spec, value, MAX_STRING)

    def _text(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        """A text column (a body in Concord's editor, HTML; a description), kept as given."""
        self._bounded(parsed, spec, value, MAX_TEXT)

    def _longtext(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        """A long text column (a document's content): any length the request body may carry."""
        self._bounded(parsed, spec, value, MAX_LONGTEXT)

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
        if not isinstance(value, str) or not _EMAIL.fullmatch(value.strip()):
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

    def _id(self, parsed: Parsed, spec: ResourceField, value: Any) -> None:
        number = as_integer(value)
        if number is None:
            parsed.fail(spec.key, spec.messages.get("type") or f"The {spec.label} field must be an integer.")
        elif number in spec.not_in:
            parsed.fail(spec.key, f"The selected {spec.label} is invalid.")
        else:
            parsed.data[spec.attribute] = number

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
        if isinstance(value, str):
            value = [number for number in value.split(",") if number.strip()]
        if not isinstance(value, list):
            parsed.fail(spec.key, f"The {spec.label} field must be an array.")
            return
        if len(value) > MAX_IDS:
            parsed.fail(spec.key, f"The {spec.label} field must not have more than {MAX_IDS} items.")
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
        if isinstance(value, str):
            value = [number for number in value.split(",") if number.strip()]
        if not isinstance(value, list):
            parsed.fail(spec.key, f"The {spec.label} field must be an array.")
            return
        if len(value) > MAX_TAGS:
            parsed.fail(spec.key, f"The {spec.label} field must be an array of at most {MAX_TAGS} tag names.")
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
    template = _CORE_MESSAGES.get(failure.kind) or (spec.messages.get("exists") if spec is not None else None) \
        or "The selected {label} is invalid."
    if failure.kind == "required" and spec is not None and spec.required_if:
        template = f"The {{label}} field is required when {spec.required_if}."
    return {key: [template.format(label=label, limit=params.get("maxLength", MAX_STRING),
                                  min=params.get("min", ""), max=params.get("max", ""))]}
