"""Field types: how one field expands into wire attributes (specs/espocrm.md §4).

Each builder returns the attributes a field contributes. Composite types (personName, address) contribute
little of their own because their parts (firstName, billingAddressCity, ...) are fields of their own.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Callable

from polycrm.meta.model import Attribute, Entity, Field, JunctionColumn, ValueKind, snake_case

Builder = Callable[[Field], list[Attribute]]

DEFAULT_VARCHAR_LENGTH = 255
# An email field's address, as every API checks it (core.values) and users' login emails (auth.directory).
EMAIL_PATTERN = re.compile(r"^[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+\.[^\s@<>()\[\],;:\"]+$")
MAX_EMAIL_LENGTH = 255


def _simple(kind: ValueKind, *, with_length: bool = False) -> Builder:
    def build(field: Field) -> list[Attribute]:
        max_length = field.params.get("maxLength", DEFAULT_VARCHAR_LENGTH) if with_length else field.params.get(
            "maxLength")
        options = tuple(field.options) if field.options is not None and field.type in {"enum", "multiEnum",
                                                                                       "checklist"} else None
        return [Attribute(field.name, field.name, kind, snake_case(field.name), not field.read_only,
                          max_length=max_length, options=options)]

    return build


def _link(field: Field) -> list[Attribute]:
    return [
        Attribute(f"{field.name}Id", field.name, ValueKind.ID, snake_case(field.name) + "_id", not field.read_only,
                  target=field.target),
        Attribute(f"{field.name}Name", field.name, ValueKind.STRING, None, False),
    ]


def _file(field: Field) -> list[Attribute]:
    return [
        Attribute(f"{field.name}Id", field.name, ValueKind.STRING, snake_case(field.name) + "_id",
                  not field.read_only, max_length=100),
        Attribute(f"{field.name}Name", field.name, ValueKind.STRING, None, False),
    ]


def _link_multiple(field: Field) -> list[Attribute]:
    attributes = [
        Attribute(f"{field.name}Ids", field.name, ValueKind.ID_LIST, None, not field.read_only, target=field.target),
        Attribute(f"{field.name}Names", field.name, ValueKind.NAME_MAP, None, False),
    ]
    if field.params.get("columns"):  # the relation keeps values on its junction rows (Link.columns)
        attributes.append(Attribute(f"{field.name}Columns", field.name, ValueKind.COLUMN_MAP, None,
                                    not field.read_only))
    return attributes


def _link_parent(field: Field) -> list[Attribute]:
    entity_list = tuple(field.params.get("entityList") or ())
    return [
        Attribute(f"{field.name}Id", field.name, ValueKind.ID, snake_case(field.name) + "_id", not field.read_only),
        Attribute(f"{field.name}Type", field.name, ValueKind.STRING, snake_case(field.name) + "_type",
                  not field.read_only, max_length=100, options=entity_list),
        Attribute(f"{field.name}Name", field.name, ValueKind.STRING, None, False),
    ]


def _contact_point(kind_name: str) -> Builder:
    """email / phone: primary value stored on the record, the full list in a side table."""

    def build(field: Field) -> list[Attribute]:
        column = snake_case(field.name)
        writable = not field.read_only
        return [
            Attribute(field.name, field.name, ValueKind.STRING, column, writable, max_length=255),
            Attribute(f"{field.name}Data", field.name, ValueKind.JSON, None, writable),
            Attribute(f"{field.name}IsOptedOut", field.name, ValueKind.BOOL, column + "_is_opted_out", writable),
            Attribute(f"{field.name}IsInvalid", field.name, ValueKind.BOOL, column + "_is_invalid", writable),
        ]

    build.__name__ = f"build_{kind_name}"
    return build


def _currency(field: Field) -> list[Attribute]:
    writable = not field.read_only
    return [
        Attribute(field.name, field.name, ValueKind.FLOAT, snake_case(field.name), writable),
        Attribute(f"{field.name}Currency", field.name, ValueKind.STRING, snake_case(field.name) + "_currency",
                  writable, max_length=3),
    ]


def _currency_converted(field: Field) -> list[Attribute]:
    return [Attribute(field.name, field.name, ValueKind.FLOAT, snake_case(field.name), False)]


def _person_name(field: Field) -> list[Attribute]:
    # Stored (denormalised "first last") so lists sort, search and join on it through an index.
    return [Attribute(field.name, field.name, ValueKind.STRING, snake_case(field.name), False, max_length=255)]


def _datetime_optional(field: Field) -> list[Attribute]:
    writable = not field.read_only
    return [
        Attribute(field.name, field.name, ValueKind.DATETIME, snake_case(field.name), writable),
        Attribute(f"{field.name}Date", field.name, ValueKind.DATE, snake_case(field.name) + "_date", writable),
    ]


def _composite(field: Field) -> list[Attribute]:
    return []


FIELD_TYPES: dict[str, Builder] = {
    "varchar": _simple(ValueKind.STRING, with_length=True),
    "url": _simple(ValueKind.STRING, with_length=True),
    "colorpicker": _simple(ValueKind.STRING, with_length=True),
    "barcode": _simple(ValueKind.STRING, with_length=True),
    "enum": _simple(ValueKind.STRING, with_length=True),
    "text": _simple(ValueKind.TEXT),
    "wysiwyg": _simple(ValueKind.TEXT),
    "multiEnum": _simple(ValueKind.ARRAY),
    "array": _simple(ValueKind.ARRAY),
    "checklist": _simple(ValueKind.ARRAY),
    "int": _simple(ValueKind.INT),
    "autoincrement": _simple(ValueKind.INT),
    "float": _simple(ValueKind.FLOAT),
    "decimal": _simple(ValueKind.FLOAT),
    "currencyConverted": _currency_converted,
    "bool": _simple(ValueKind.BOOL),
    "date": _simple(ValueKind.DATE),
    "datetime": _simple(ValueKind.DATETIME),
    "datetimeOptional": _datetime_optional,
    # Encrypted at rest (core.vault); stored as ciphertext in a text column, never read back but through it.
    "secret": _simple(ValueKind.TEXT),
    "jsonArray": _simple(ValueKind.JSON),
    "jsonObject": _simple(ValueKind.JSON),
    "email": _contact_point("email"),
    "phone": _contact_point("phone"),
    "link": _link,
    "linkMultiple": _link_multiple,
    "linkParent": _link_parent,
    "file": _file,
    "image": _file,
    "currency": _currency,
    "personName": _person_name,
    "address": _composite,
}

SECRET_FIELD_TYPE = "secret"


def secret_attributes(entity: Entity) -> frozenset[str]:
    """The entity's attributes of `secret` fields: encrypted at rest, never shown (core.vault)."""
    return entity.memo(secret_attributes, lambda: frozenset(
        a.name for a in entity.attributes.values()
        if (field := entity.fields.get(a.field)) is not None and field.type == SECRET_FIELD_TYPE))


# Types that may be created at runtime through the field manager or `polycrm field add`.
CUSTOM_FIELD_TYPES = ("varchar", "text", "url", "enum", "multiEnum", "array", "int", "float", "bool", "date",
                      "datetime", "currency", "wysiwyg", "checklist", "file")


def expand(field: Field) -> list[Attribute]:
    """The wire attributes of one field; without a column of its own when it is read from a junction row
    (`primaryRowColumn`): writing one writes that row (Contact `title`, see core.records)."""
    attributes = FIELD_TYPES[field.type](field)
    if field.params.get("primaryRowColumn"):
        return [replace(a, column=None) for a in attributes]
    return attributes


# Types a junction column may have: EspoCRM validates column values as varchar, enum or bool.
JUNCTION_COLUMN_TYPES = ("varchar", "enum", "bool")


def junction_column(link: str, name: str, params: dict[str, Any]) -> JunctionColumn:
    """A junction column described like a field (`{"type": "enum", "options": [...], "default": ...}`), typed
    by the same rules as that field's attribute."""
    if params.get("type") not in JUNCTION_COLUMN_TYPES or not name.isidentifier():
        raise ValueError(f"junction column {link}.{name} must be named like an attribute and be one of "
                         f"{', '.join(JUNCTION_COLUMN_TYPES)}")
    attribute = expand(Field(name, params["type"], params))[0]
    return JunctionColumn(name, link, attribute.kind, attribute.column, True, attribute.max_length,
                          attribute.options, default=params.get("default"))
