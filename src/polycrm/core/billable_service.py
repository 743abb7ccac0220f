"""Reading and writing a deal's or document's billable as one unit (Concord's BillableService): its tax type
and line items, written in one transaction with the record's amount (core/billables.py has the rules).

A save is Concord's: the tax type given (a new billable without one gets the default); each line given is
updated when it names one of the record's lines by `id`, else added; lines named in `removed` are deleted;
lines not mentioned stay. A line without a catalogue product is linked to the Product of its name, made
(active, with the line's price and tax) when there is none, as Concord does. Writing takes edit access to
the record; the lines and products are its parts, written whatever the caller's rights on their own types.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor
from polycrm.core.billables import (BILLABLE_ENTITY, DEFAULT_TAX_LABEL, DEFAULT_TAX_TYPE, ITEM_ENTITY, PARENTS,
                                    PERCENT, PRODUCT_ENTITY, BillableStore, Line, Totals, follow_total,
                                    lines_deferred, reprice_lines, totals)
from polycrm.query.tree import Compare, Op, Sort

# What writing a record's parts allows on their own types (its parts, whoever the caller).
_ALL = {"create": "yes", "read": "all", "edit": "all", "delete": "all"}
PART_SCOPES = {ITEM_ENTITY: _ALL, BILLABLE_ENTITY: _ALL, PRODUCT_ENTITY: {"create": "yes", "read": "all"}}


class InvalidLine(ValueError):
    """A line names what is not there: (line index, key: `id` or `product`)."""

    def __init__(self, index: int, key: str):
        super().__init__(f"line {index}: {key}")
        self.index = index
        self.key = key


@dataclass
class LineInput:
    """One line of a save: canonical BillableProduct values (`productId` among them when given) and the id of
    the line it changes (None: a new line)."""

    values: dict[str, Any]
    line_id: int | None = None


@dataclass
class BillableInput:
    tax_type: str | None = None
    lines: list[LineInput] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)


@dataclass
class BillableView:
    """A record's billable as read: its id (None before it was ever saved), tax type, lines (with the
    catalogue product's code as `productCode`) and totals."""

    billable_id: int | None
    tax_type: str
    lines: list[dict[str, Any]]
    created: bool = False

    @property
    def totals(self) -> Totals:
        return totals(self.tax_type, [Line.of(line) for line in self.lines])


def parts_actor(actor: Actor) -> Actor:
    return dataclasses.replace(actor, scopes={**actor.scopes, **PART_SCOPES})


class BillableService:
    def __init__(self, database: Any, services: Callable[[str], Any]):
        self.database = database
        self.services = services

    def read(self, actor: Actor, entity: str, record_id: int) -> BillableView:
        """The record's billable; NotFound/Forbidden as reading the record."""
        self.services(entity).read(actor, record_id)
        with self.database.connect() as conn:
            return self._view(conn, entity, record_id)

    def save(self, actor: Actor, entity: str, record_id: int, given: BillableInput) -> BillableView:
        """Write the billable (edit access to the record required) and answer it as then stored."""
        records = self.services(entity)
        records.require_scope(actor, "edit")
        with self.database.transaction() as conn:
            current = records.load_record(conn, record_id, not_found="Record {id} not found.", lock=True)
            records.check_record(conn, actor, "edit", current)
            created = self.save_within(conn, actor, entity, record_id, given)
        records.committed()
        with self.database.connect() as conn:
            return dataclasses.replace(self._view(conn, entity, record_id), created=created)

    def save_within(self, conn: Connection, actor: Actor, entity: str, record_id: int, given: BillableInput) -> bool:
        """Write the billable inside the caller's transaction (the record's edit access checked by the
        caller); whether its Billable record was made now. InvalidLine for a line id not the record's or a
        product that does not exist."""
        link = PARENTS[entity]
        parts = parts_actor(actor)
        store = BillableStore(self.services(ITEM_ENTITY)._repository_of)
        billable = store.billable(conn, entity, record_id)
        with lines_deferred():
            if billable is None:
                self.services(BILLABLE_ENTITY).create_within(conn, parts, {
                    "taxType": given.tax_type or DEFAULT_TAX_TYPE, f"{link}Id": record_id})
            elif given.tax_type and given.tax_type != billable["taxType"]:
                self.services(BILLABLE_ENTITY).update_within(conn, parts, billable["id"], {"taxType": given.tax_type})
                reprice_lines(conn, parts, self.services, entity, record_id)
            own = {line["id"] for line in store.lines(conn, entity, record_id)}
            items = self.services(ITEM_ENTITY)
            for index, line in enumerate(given.lines):
                values = self._with_defaults(conn, index, line.values)
                if line.line_id is not None:
                    if line.line_id not in own:
                        raise InvalidLine(index, "id")
                    values["productId"] = self._product_for(conn, parts, values)
                    items.update_within(conn, parts, line.line_id, values)
                else:
                    if values.get("productId") is None:
                        values["productId"] = self._product_for(conn, parts, values)
                    items.create_within(conn, parts, {**values, f"{link}Id": record_id})
            for line_id in dict.fromkeys(given.removed):
                if line_id in own:
                    items.delete_within(conn, parts, line_id)
        follow_total(conn, actor, self.services, entity, record_id)
        return billable is None

    def _with_defaults(self, conn: Connection, index: int, values: dict[str, Any]) -> dict[str, Any]:
        """Concord's line defaults: display order by position, discount type, tax label and rate; a line
        naming a product but no name takes the product's."""
        values = dict(values)
        if values.get("displayOrder") is None:
            values["displayOrder"] = index + 1
        for name, default in (("discountType", PERCENT), ("taxLabel", DEFAULT_TAX_LABEL), ("taxRate", 0.0)):
            if values.get(name) is None:
                values[name] = default
        if values.get("productId") is not None:
            product = self.services(PRODUCT_ENTITY).repository.fetch(conn, values["productId"], ["id", "name"])
            if product is None:
                raise InvalidLine(index, "product")
            if not values.get("name"):
                values["name"] = product["name"]
        return values

    def _product_for(self, conn: Connection, actor: Actor, values: dict[str, Any]) -> int:
        """The catalogue product of the line's name (any letter case), made when there is none."""
        products = self.services(PRODUCT_ENTITY)
        found = products.repository.fetch_rows(conn, Compare("name", Op.EQUALS_TEXT, values["name"]),
                                               attributes=["id"], sorts=[Sort("id")], limit=1)
        if found:
            return found[0]["id"]
        made = products.create_within(conn, actor, {
            "name": values["name"], "price": values.get("unitPrice") or 0, "taxRate": values.get("taxRate") or 0,
            "taxLabel": values.get("taxLabel") or DEFAULT_TAX_LABEL, "unit": values.get("unit"),
            "description": values.get("description")})
        return made["id"]

    def _view(self, conn: Connection, entity: str, record_id: int) -> BillableView:
        store = BillableStore(self.services(ITEM_ENTITY)._repository_of)
        billable = store.billable(conn, entity, record_id)
        lines = store.lines(conn, entity, record_id)
        codes = self._codes(conn, [line["productId"] for line in lines if line.get("productId") is not None])
        for line in lines:
            line["productCode"] = codes.get(line.get("productId"))
        if billable is None:
            return BillableView(None, DEFAULT_TAX_TYPE, lines)
        return BillableView(billable["id"], billable.get("taxType") or DEFAULT_TAX_TYPE, lines)

    def _codes(self, conn: Connection, ids: Sequence[int]) -> dict[int, str | None]:
        if not ids:
            return {}
        rows = self.services(PRODUCT_ENTITY).repository.fetch_rows(
            conn, Compare("id", Op.IN, tuple(sorted(set(ids)))), attributes=["id", "code"])
        return {row["id"]: row.get("code") for row in rows}
