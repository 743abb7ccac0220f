"""ITFlow's tables and endpoints over PolyCRM entities, loaded from data.

`modules.json` maps every column of an ITFlow table (specs/itflow.md §9) onto a canonical field, in
ITFlow's column order, with the column's type (how its value renders). `endpoints.json` says which
module functions exist and, for reads, the filters in ITFlow's order of precedence (§8). This module
turns a canonical record into an ITFlow row and resolves names; it holds no request logic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from importlib import resources
from typing import Any, Mapping

from polycrm.meta import Entity
from polycrm.meta.registry import Registry

DIALECT = "itflow"
CENTS = Decimal("0.01")
MODIFIED, VERSION = "modifiedAt", "versionNumber"


@dataclass(frozen=True, slots=True)
class Column:
    """One ITFlow column: the canonical field it shows (None for a constant) and how it renders."""

    name: str
    field: str | None
    kind: str  # int, tiny, dec, vc, text, date, dt
    nullable: bool
    values: Mapping[str, str] | None = None  # canonical value -> ITFlow value
    const: str | None = None
    secret: bool = False

    def render(self, value: Any) -> Any:
        """The value as ITFlow's `SELECT *` returns it: a string, or None for SQL NULL."""
        if self.field is None:
            return self.const
        if value is None or value == "":
            if self.nullable or self.kind in ("date", "dt"):
                return None if value is None or self.kind not in ("vc", "text") else ""
            return {"int": "0", "tiny": "0", "dec": "0.00"}.get(self.kind, "")
        if self.values is not None:
            return self.values.get(str(value), str(value))
        if self.kind == "tiny" or isinstance(value, bool):
            return "1" if value else "0"
        if self.kind == "dec":  # MariaDB's DECIMAL(15,2) rounds half up
            return str(Decimal(str(value)).quantize(CENTS, ROUND_HALF_UP))
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(value, date):
            return value.isoformat()
        return str(value)

    def parse(self, value: str) -> Any:
        """The canonical value of an ITFlow value of this column (the reverse of `values`)."""
        if self.values is None:
            return value
        for canonical, shown in self.values.items():
            if shown.lower() == value.lower():
                return canonical
        return None


@dataclass(frozen=True, slots=True)
class ReadFilter:
    """A read parameter, in ITFlow's order of precedence: the first one present is the only one applied."""

    param: str
    field: str | None  # None: the record id
    paged: bool
    join: str | None = None  # a joined table whose column the filter compares (assets' primary interface)
    integer: bool = False  # the value goes through intval (ITFlow's id filters)
    or_field: str | None = None  # a second field the value may equal (a contact's phone or mobile)
    limit: int | None = None  # at most this many rows (ITFlow's LIMIT 1)


@dataclass(frozen=True, slots=True)
class BodyField:
    """A body key create and update read: the column it writes and how its value is read (`writes.RULES`)."""

    key: str
    column: str
    rule: str


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A module: its table, the functions it has, its read filters and the body fields it writes."""

    module: str
    table: str
    functions: frozenset[str]
    filters: tuple[ReadFilter, ...]
    list_join: str | None  # joined into unfiltered reads
    all_clients_only: bool  # readable only by an all-clients key without a client_id (expenses, products)
    fields: tuple[BodyField, ...] = ()
    required: tuple[str, ...] = ()


class Table:
    """An ITFlow table over a canonical entity."""

    def __init__(self, name: str, entity: str, client: str | None, columns: list[Column],
                 updated_on_create: bool = False):
        self.name = name
        self.updated_on_create = updated_on_create  # its create writes twice: `*_updated_at` is set at once
        self.entity_name = entity
        self.client_column = client
        self.columns = columns
        self.by_name = {c.name: c for c in columns}
        self.by_field = {c.field: c for c in columns if c.field}

    def attribute(self, entity: Entity, field: str) -> str:
        """The record attribute holding a field's value: a link shows its id."""
        known = entity.fields.get(field)
        if known is not None and known.type in ("link", "linkParent"):
            return f"{field}Id"
        return field

    def attributes(self, entity: Entity) -> list[str]:
        shown = [self.attribute(entity, c.field) for c in self.columns if c.field and c.field != "id"]
        return shown + [VERSION] if MODIFIED in shown and VERSION in entity.attributes \
            and not self.updated_on_create else shown

    def render(self, entity: Entity, record: Mapping[str, Any]) -> dict[str, Any]:
        """The row; `*_updated_at` is NULL until a statement changes the row (ITFlow's ON UPDATE column),
        which PolyCRM, stamping `modifiedAt` at creation, tells by the record's first version."""
        untouched = record.get(VERSION) == 1
        return {c.name: None if untouched and c.field == MODIFIED else
                c.render(record.get(self.attribute(entity, c.field)) if c.field else None)
                for c in self.columns}


class ItflowMapping:
    """Every table and endpoint; built once per process from the package's data files."""

    def __init__(self, modules: dict[str, Any], endpoints: dict[str, Any]):
        self.values: dict[str, dict[str, str]] = modules["values"]
        self.ticket_statuses: list[dict[str, str]] = modules["ticketStatuses"]
        self.tables = {name: self._table(name, spec) for name, spec in modules["tables"].items()}
        self.endpoints = {name: self._endpoint(name, spec) for name, spec in endpoints["modules"].items()}

    @classmethod
    def load(cls) -> ItflowMapping:
        package = resources.files(__package__)
        return cls(json.loads(package.joinpath("modules.json").read_text()),
                   json.loads(package.joinpath("endpoints.json").read_text()))

    def _table(self, name: str, spec: dict[str, Any]) -> Table:
        columns = []
        for column, (field, kind, *rest) in spec["columns"].items():
            options = rest[0] if rest else {}
            columns.append(Column(column, field, kind.rstrip("?"), kind.endswith("?"),
                                  self.values[options["map"]] if "map" in options else None,
                                  options.get("const"), bool(options.get("secret"))))
        return Table(name, spec["entity"], spec["client"], columns, bool(spec.get("updatedOnCreate")))

    def _endpoint(self, module: str, spec: dict[str, Any]) -> Endpoint:
        filters = tuple(ReadFilter(f["param"], f.get("field"), f.get("paged", True), f.get("join"),
                                   f.get("field") is None or bool(f.get("integer")), f.get("orField"),
                                   f.get("limit"))
                        for f in spec.get("read", ()))
        fields = tuple(BodyField(key, *(rule if isinstance(rule, list) else (key, rule)))
                       for key, rule in spec.get("fields", {}).items())
        return Endpoint(module, spec.get("table", module), frozenset(spec["functions"]), filters,
                        spec.get("listJoin"), bool(spec.get("allClientsOnly")), fields,
                        tuple(spec.get("required", ())))

    def table(self, name: str) -> Table:
        return self.tables[name]

    @cached_property
    def entity_names(self) -> frozenset[str]:
        return frozenset(t.entity_name for t in self.tables.values())

    def check(self, registry: Registry) -> None:
        """Every mapped field, of a column or a read filter, exists on its entity: a renamed field fails at
        start-up, not on a request."""
        def require(entity_name: str, field: str | None, where: str) -> None:
            entity = registry.entity(entity_name)
            if field and field != "id" and field not in entity.attributes and field not in entity.fields:
                raise LookupError(f"ITFlow {where}: {entity.name} has no field {field}")

        for table in self.tables.values():
            for column in table.columns:
                require(table.entity_name, column.field, f"column {table.name}.{column.name}")
        for endpoint in self.endpoints.values():
            for read_filter in endpoint.filters:
                entity_name = self.table(read_filter.join or endpoint.table).entity_name
                for field in (read_filter.field, read_filter.or_field):
                    require(entity_name, field, f"filter {endpoint.module}/{read_filter.param}")
