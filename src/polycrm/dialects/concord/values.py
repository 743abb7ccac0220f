"""A Concord request body as canonical record data, checked as Concord's form requests check it (§4, §9).

Every key is checked before anything is written, and every failure is reported at once, keyed by the request
key, in Laravel's words with Concord's field labels ("The First Name field is required."). Keys Concord
would not read either (the record's own read-only keys echoed back, unknown keys) are left aside; unknown ones
are named in a warning header. The core then applies its own rules; `core_failure` words its refusals the
same way.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from polycrm.core.errors import ValidationFailure
from polycrm.dialects.concord.custom_types import custom_fields
from polycrm.dialects.concord.field_readers import MAX_STRING, FieldReaders, Parsed, as_integer
from polycrm.dialects.concord.mapping import DAY_TYPES, RECORD_KEYS, ConcordMapping, Resource, ResourceField
from polycrm.meta import Entity

VIA_RESOURCE, VIA_ID = "via_resource", "via_resource_id"  # the record a call or note is written from
# Types whose value is a list: an empty one empties them (Laravel's `string` refuses [] for the rest).
_LISTS = frozenset({"phones", "options"})
# What an emptied key stores, by how it reads (None for the rest).
_EMPTY: dict[str, Any] = {"phones": [], "options": []}


class BodyReader(FieldReaders):
    """Reads request bodies for one resource: which keys it takes, each read by its type's reader."""

    def __init__(self, mapping: ConcordMapping, resource: Resource, entity: Entity):
        super().__init__(mapping)
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
        required = creating and self.resource.via_required
        errors = via_errors(body, self.resource.via, resource_required=required, id_required=required)
        for key, messages in errors.items():
            for message in messages:
                parsed.fail(key, message)
        number = as_integer(body.get(VIA_ID))
        if not errors and number is not None:
            parsed.via = (body[VIA_RESOURCE], number)

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



def via_errors(values: dict[str, Any], allowed: Collection[str], *, resource_required: bool, id_required: bool,
               worded_with: bool = False) -> dict[str, list[str]]:
    """Concord's rules on `via_resource` (one of `allowed`) and `via_resource_id` (numeric): each is required
    when the other is sent, and on its own when `resource_required`/`id_required` says so. `worded_with`: a
    requirement through the other key in the words of Laravel's `required_with` (the comments controller's
    rules), not its plain `required` (calls' and notes' form requests)."""
    name, number = values.get(VIA_RESOURCE), values.get(VIA_ID)
    name_sent, number_sent = name not in (None, ""), number not in (None, "")
    errors: dict[str, list[str]] = {}
    if name_sent:
        if not isinstance(name, str) or name not in allowed:
            errors[VIA_RESOURCE] = ["The selected via resource is invalid."]
    elif number_sent or resource_required:
        when = " when via resource id is present" if worded_with and number_sent else ""
        errors[VIA_RESOURCE] = [f"The via resource field is required{when}."]
    if number_sent:
        if as_integer(number) is None:
            errors[VIA_ID] = ["The via resource id field must be a number."]
    elif name_sent or id_required:
        when = " when via resource is present" if worded_with and name_sent else ""
        errors[VIA_ID] = [f"The via resource id field is required{when}."]
    return errors


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
