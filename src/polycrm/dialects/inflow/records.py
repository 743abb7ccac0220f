"""Records on the InflowCRM wire (specs/inflowcrm.md §6): flat objects keyed by API field name, with `id`,
`createdAt` and `modifiedAt`; and the reverse, request `data` into canonical attributes.

`render_record` and `api_field_names` are public so that other renderers (webhook payloads) show records
exactly as this API does.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable, Mapping, Sequence

import orjson

from polycrm.core.files import StoredFile
from polycrm.core.values import parse_non_negative
from polycrm.dialects.inflow.envelope import invalid_fields
from polycrm.dialects.inflow.ids import FILE_KIND, InvalidObjectId, decode_any, decode_id, encode_id
from polycrm.dialects.inflow.mapping import ApiField, FieldType, Module

# Keys a client may send back as it read them; the server sets them, so they are ignored on input.
SERVER_KEYS = frozenset({"id", "createdAt", "modifiedAt", "files"})


def format_timestamp(value: datetime | None) -> str | None:
    """`2025-01-15T10:30:00.000Z`: ISO 8601 UTC with milliseconds (stored datetimes are naive UTC)."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _format_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def wire_value(api_field: ApiField, record: Mapping[str, Any]) -> Any:
    """The value of one API field of a canonical record."""
    field = api_field.field
    name, kind = field.name, field.type
    if kind == "link":
        target = record.get(f"{name}Id")
        return None if target is None or not field.target else encode_id(field.target, target)
    if kind == "linkParent":
        parent_id, parent_type = record.get(f"{name}Id"), record.get(f"{name}Type")
        return None if parent_id is None or not parent_type else encode_id(parent_type, parent_id)
    if kind == "datetimeOptional":
        day = record.get(f"{name}Date")
        return _format_date(day) if day is not None else format_timestamp(record.get(name))
    if kind == "datetime":
        return format_timestamp(record.get(name))
    if kind == "date":
        return _format_date(record.get(name))
    return record.get(name)


def needed_attributes(module: Module) -> list[str]:
    """The canonical attributes `render_record` reads, for a list query's `select`."""
    wanted = ["id", "createdAt", "modifiedAt"]
    for api_field in module.fields.values():
        name, kind = api_field.field.name, api_field.field.type
        if api_field.type is FieldType.FILE:
            continue
        if kind == "link":
            wanted.append(f"{name}Id")
        elif kind == "linkParent":
            wanted += [f"{name}Id", f"{name}Type"]
        elif kind == "datetimeOptional":
            wanted += [name, f"{name}Date"]
        else:
            wanted.append(name)
    return [a for a in dict.fromkeys(wanted) if a in module.entity.attributes]


def file_item(stored: StoredFile, module: Module | None = None) -> dict[str, Any]:
    """A file as `GET /api/{module}/{id}/files` lists it (2026 docs), plus where it is attached."""
    extension = stored.name.rsplit(".", 1)[1].lower() if "." in stored.name.strip(".") else ""
    field = None
    if stored.field is not None:
        field = module.api_names.get(stored.field, stored.field) if module else stored.field
    return {"id": encode_id(FILE_KIND, stored.id), "fileName": stored.name, "fileSize": stored.size,
            "mimeType": stored.mime_type, "fileExtension": extension,
            "createdTime": format_timestamp(stored.created_at),
            "fieldName": field, "isStandaloneFile": stored.field is None}


def render_record(module: Module, record: Mapping[str, Any], files: Sequence[StoredFile] | None = None, *,
                  timestamps: bool = True) -> dict[str, Any]:
    """A canonical record as an InflowCRM record. File fields (and `files`) appear only when `files` is given,
    as webhook payloads leave them out."""
    rendered: dict[str, Any] = {"id": encode_id(module.entity.name, record["id"])}
    latest: dict[str | None, StoredFile] = {}
    for stored in files or ():
        latest[stored.field] = stored  # files come oldest first: the last one of a field is its value
    for api_field in module.fields.values():
        if api_field.type is FieldType.FILE:
            if files is not None:
                stored = latest.get(api_field.field.name)
                rendered[api_field.name] = file_item(stored, module) if stored else None
            continue
        rendered[api_field.name] = wire_value(api_field, record)
    if timestamps:
        rendered["createdAt"] = format_timestamp(record.get("createdAt"))
        rendered["modifiedAt"] = format_timestamp(record.get("modifiedAt"))
    if files:
        rendered["files"] = [file_item(f, module) for f in files]
    return rendered


def api_field_names(module: Module, attributes: Iterable[str]) -> list[str]:
    """The API names of the fields behind changed canonical attributes (e.g. `billingAddressCity` ->
    `customerCity`), in the module's field order; attributes without an API name are left out, and so are
    file fields, which `render_record` shows only with their files."""
    fields = {module.entity.attributes[a].field for a in attributes if a in module.entity.attributes}
    return [api.name for api in module.fields.values()
            if api.field.name in fields and api.type is not FieldType.FILE]


class RecordData:
    """Request `data` (JSON values, or form strings) -> canonical attributes, naming every bad field."""

    def __init__(self, module: Module, stage_fields: Iterable[str] = ()):
        self.module = module
        self.stage_fields = frozenset(stage_fields)  # canonical enum fields that also take a 0-based index

    def parse(self, items: Mapping[str, list[Any]], *, form: bool) -> dict[str, Any]:
        """`items` maps each API name to the values given for it (several only from repeated form keys)."""
        errors: dict[str, list[str]] = {}
        attributes: dict[str, Any] = {}
        for key, values in items.items():
            if key in SERVER_KEYS:
                continue
            api_field = self.module.fields.get(key)
            try:
                if api_field is None:
                    raise ValueError(f"Unknown field '{key}'")
                if api_field.read_only:
                    raise ValueError(f"{key} is read-only")
                if api_field.type is FieldType.FILE:
                    raise ValueError(f"{key} is a file field: upload it with multipart/form-data")
                attributes.update(self._field(api_field, values, form=form))
            except ValueError as exc:
                errors[key] = [str(exc)]
        if errors:
            raise invalid_fields(errors)
        return attributes

    def _field(self, api_field: ApiField, values: list[Any], *, form: bool) -> dict[str, Any]:
        many = api_field.type in (FieldType.MULTI_PICK, FieldType.ARRAY)
        if len(values) > 1 and not many:
            raise ValueError(f"{api_field.name} was given more than once")
        if form:
            value = self._form_value(api_field, values, many)
        else:
            value = values[0]
        field = api_field.field
        name = field.name
        if field.type == "link":
            return {f"{name}Id": self._relation(api_field, value)}
        if field.type == "linkParent":
            if value is None:
                return {f"{name}Id": None, f"{name}Type": None}
            found = self._decode(api_field, value, lambda v: decode_any(api_field.related_entities, v))
            return {f"{name}Id": found[1], f"{name}Type": found[0]}
        if field.type == "datetimeOptional" and value is not None:
            if isinstance(value, str) and len(value) == 10:
                return {name: None, f"{name}Date": value}
            return {name: value, f"{name}Date": None}
        if name in self.stage_fields:
            value = self._stage(api_field, value)
        return {name: value}

    @staticmethod
    def _form_value(api_field: ApiField, values: list[str], many: bool) -> Any:
        """Form fields are text: empty means no value, arrays come as repeated keys or one JSON array."""
        if many:
            if len(values) == 1 and values[0].lstrip().startswith("["):
                try:
                    return orjson.loads(values[0])
                except orjson.JSONDecodeError:
                    raise ValueError(f"{api_field.name} must be a JSON array or repeated values") from None
            return [v for v in values if v != ""]
        value = values[0]
        if value == "" and api_field.type is not FieldType.STRING:
            return None
        return value

    def _relation(self, api_field: ApiField, value: Any) -> int | None:
        if value is None:
            return None
        target = api_field.related_entities[0] if api_field.related_entities else ""
        return self._decode(api_field, value, lambda v: decode_id(target, v))

    @staticmethod
    def _decode(api_field: ApiField, value: Any, decode: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"{api_field.name} must be a record id (24 hexadecimal characters)")
        try:
            found = decode(value)
        except InvalidObjectId:
            raise ValueError(f"{api_field.name}: Invalid ObjectId format") from None
        if found is None:
            raise ValueError(f"{api_field.name} does not name a record this field can refer to")
        return found

    @staticmethod
    def _stage(api_field: ApiField, value: Any) -> Any:
        """A pipeline stage may be given as its 0-based index into the process's `stagesNames` (§9.3)."""
        options = [o for o in api_field.field.options or [] if o]
        index = value if isinstance(value, int) and not isinstance(value, bool) else (
            parse_non_negative(value) if isinstance(value, str) and value not in options else None)
        if index is None:
            return value
        if not 0 <= index < len(options):
            raise ValueError(f"{api_field.name}: stage index {index} is out of range (0..{len(options) - 1})")
        return options[index]
