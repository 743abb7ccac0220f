"""Billables: the products (line items) of a deal or a document and their totals, as Concord CRM keeps them
(specs/concord.md §2 `GET/POST /api/{resource}/{id}/billable`, §4 "Deals": `amount` is read-only while the
deal has products), whichever protocol writes them.

A line item is a BillableProduct record linked to one Opportunity or one Document (and, optionally, to the
catalogue Product it was taken from); the tax type of a record's lines is its Billable record's (none yet:
the default, `no_tax`, Concord 1.4.1's fresh-install setting). The rules (Concord's Billable and
BillableProduct models):

- a line's amount is qty × unit price less its discount: `fixed` takes the discount as it is, `percent`
  (or none) as a percentage of qty × unit price; its amount before tax is that amount, or, for a tax-
  inclusive billable, that amount / (1 + rate/100);
- a billable that is not taxable (`no_tax`) keeps its lines' tax rates at 0;
- subtotal: the sum of the line amounts; taxes: one per distinct (label, rate) with a rate above 0, in rate
  order, each the sum over its lines of amount × rate/100 (exclusive) or amount − amount/(1 + rate/100)
  (inclusive); total: the subtotal plus the taxes when exclusive, the subtotal otherwise;
- the record's `amount` is the total (kept to 3 places, Concord's decimal(15,3)) while it has lines, written
  in the transaction that changes its lines or tax type; a write of the amount itself is overruled by it.

Stored values keep Concord's column precision: unit price and tax rate 3 places, quantity and discount 2.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterator, Mapping, Sequence

from sqlalchemy.engine import Connection

from polycrm.core.errors import ValidationFailure
from polycrm.core.values import parse_id
from polycrm.meta import Entity
from polycrm.query.tree import Compare, Op, Sort
from polycrm.store.records import RecordRepository

ITEM_ENTITY = "BillableProduct"
BILLABLE_ENTITY = "Billable"
PRODUCT_ENTITY = "Product"
# The records that have lines: entity -> the link of lines and of their Billable to it.
PARENTS = {"Opportunity": "opportunity", "Document": "document"}
EXCLUSIVE, INCLUSIVE, NO_TAX = "exclusive", "inclusive", "no_tax"
TAX_TYPES = (EXCLUSIVE, INCLUSIVE, NO_TAX)
DEFAULT_TAX_TYPE = NO_TAX
FIXED, PERCENT = "fixed", "percent"
DISCOUNT_TYPES = (FIXED, PERCENT)
DEFAULT_TAX_LABEL = "TAX"
AMOUNT_PLACES = 3
# A line's values and how many places each is stored with (Concord's columns).
PLACES = {"unitPrice": 3, "taxRate": 3, "quantity": 2, "discountTotal": 2}
ITEM_ATTRIBUTES = ("id", "name", "description", "unitPrice", "quantity", "unit", "taxRate", "taxLabel",
                   "discountType", "discountTotal", "amount", "amountTaxExcluded", "note", "displayOrder",
                   "productId", "opportunityId", "documentId", "createdAt", "modifiedAt")


def rounded(value: float, places: int) -> float:
    """Half away from zero from the value's 14 significant digits, as PHP's round() and a PHP float written
    to a MySQL decimal column (PHP's `precision` 14) round: 144.49849999999998 is 144.4985, so 144.499."""
    return float(Decimal(format(float(value), ".14g")).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


# --- the arithmetic ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Line:
    quantity: float
    unit_price: float
    tax_rate: float = 0.0
    tax_label: str = DEFAULT_TAX_LABEL
    discount_type: str | None = PERCENT
    discount_total: float = 0.0

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> Line:
        """A stored (or about to be stored) BillableProduct's values."""
        return cls(float(item.get("quantity") or 0), float(item.get("unitPrice") or 0),
                   float(item.get("taxRate") or 0), str(item.get("taxLabel") or ""),
                   item.get("discountType"), float(item.get("discountTotal") or 0))

    @property
    def gross(self) -> float:
        return self.quantity * self.unit_price

    @property
    def discount(self) -> float:
        if self.discount_type == FIXED:
            return self.discount_total
        return self.discount_total / 100 * self.gross

    @property
    def amount(self) -> float:
        return self.gross - self.discount

    def tax(self, tax_type: str) -> float:
        if tax_type == INCLUSIVE:
            return self.amount - self.amount / (1 + self.tax_rate / 100)
        return self.amount * (self.tax_rate / 100)

    def amount_before_tax(self, tax_type: str) -> float:
        if tax_type != INCLUSIVE:
            return self.amount
        return self.amount / (1 + self.tax_rate / 100)


@dataclass(frozen=True, slots=True)
class Tax:
    label: str
    rate: float
    total: float  # unrounded


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: float
    total: float
    total_tax: float
    total_discount: float
    taxes: tuple[Tax, ...] = field(default_factory=tuple)


def totals(tax_type: str, lines: Sequence[Line]) -> Totals:
    """A billable's totals (unrounded) from its lines."""
    subtotal = sum((line.amount for line in lines), 0.0)
    taxes: list[Tax] = []
    if tax_type != NO_TAX:
        groups: dict[tuple[str, float], None] = {}
        for line in sorted(lines, key=lambda line: line.tax_rate):
            if line.tax_rate > 0:
                groups.setdefault((line.tax_label, line.tax_rate))
        for label, rate in groups:
            taxes.append(Tax(label, rate, sum((line.tax(tax_type) for line in lines
                                               if (line.tax_label, line.tax_rate) == (label, rate)), 0.0)))
    total_tax = sum((tax.total for tax in taxes), 0.0)
    total = subtotal + (total_tax if tax_type != INCLUSIVE else 0.0)
    return Totals(subtotal, total, total_tax, sum((line.discount for line in lines), 0.0), tuple(taxes))


# --- rules applied in the record services -----------------------------------------------------------

def parent_of(item: Mapping[str, Any]) -> tuple[str, int] | None:
    """The record a line or a Billable belongs to: (entity, id)."""
    for entity, link in PARENTS.items():
        if item.get(f"{link}Id") is not None:
            return entity, item[f"{link}Id"]
    return None


class BillableStore:
    """Reads of a record's lines and tax type inside a transaction."""

    def __init__(self, repositories: Callable[[str], RecordRepository]):
        self.items = repositories(ITEM_ENTITY)
        self.billables = repositories(BILLABLE_ENTITY)

    def lines(self, conn: Connection, entity: str, record_id: int) -> list[dict[str, Any]]:
        return self.items.fetch_rows(conn, Compare(f"{PARENTS[entity]}Id", Op.EQ, record_id),
                                     attributes=ITEM_ATTRIBUTES, sorts=[Sort("displayOrder"), Sort("id")])

    def billable(self, conn: Connection, entity: str, record_id: int) -> dict[str, Any] | None:
        rows = self.billables.fetch_rows(conn, Compare(f"{PARENTS[entity]}Id", Op.EQ, record_id),
                                         attributes=["id", "taxType"], sorts=[Sort("id")], limit=1)
        return rows[0] if rows else None

    def tax_type(self, conn: Connection, entity: str, record_id: int) -> str:
        billable = self.billable(conn, entity, record_id)
        return (billable or {}).get("taxType") or DEFAULT_TAX_TYPE

    def total(self, conn: Connection, entity: str, record_id: int) -> float | None:
        """The record's total, kept to Concord's 3 places; None while it has no lines."""
        lines = self.lines(conn, entity, record_id)
        if not lines:
            return None
        return rounded(totals(self.tax_type(conn, entity, record_id), [Line.of(i) for i in lines]).total,
                       AMOUNT_PLACES)


class ItemRules:
    """Completes a line's values in its create or update transaction (core/records.py calls it): its
    parent (exactly one), stored precision, display order, tax rate (0 when not taxable) and amounts."""

    def __init__(self, entity: Entity, repositories: Callable[[str], RecordRepository]):
        self.entity = entity
        self.store = BillableStore(repositories)

    def complete(self, conn: Connection, current: Mapping[str, Any], record: dict[str, Any],
                 given: Mapping[str, Any], now: datetime) -> None:
        parents = [link for link in PARENTS.values() if record.get(f"{link}Id") is not None]
        if not parents:
            raise ValidationFailure(self.entity.name, "opportunity", "required",
                                    "A line item belongs to a deal (opportunity) or a document.")
        if len(parents) > 1:
            raise ValidationFailure(self.entity.name, "document", "valid",
                                    "A line item belongs to one deal or one document, not both.")
        for name, places in PLACES.items():
            if record.get(name) is not None:
                record[name] = rounded(record[name], places)
        if record.get("quantity") is None:
            record["quantity"] = 1.0
        if record.get("discountType") not in DISCOUNT_TYPES:
            record["discountType"] = PERCENT
        parent = parent_of(record)
        assert parent is not None
        tax_type = self.store.tax_type(conn, *parent)
        if tax_type == NO_TAX or record.get("taxRate") is None:
            record["taxRate"] = 0.0
        if record.get("displayOrder") is None:
            record["displayOrder"] = len(self.store.lines(conn, *parent)) + (0 if current else 1)
        line = Line.of(record)
        record["amount"] = rounded(line.amount, AMOUNT_PLACES)
        record["amountTaxExcluded"] = rounded(line.amount_before_tax(tax_type), AMOUNT_PLACES)


class ParentAmount:
    """A deal's or document's amount while it has lines: their total, whatever a write says."""

    def __init__(self, entity: Entity, repositories: Callable[[str], RecordRepository]):
        self.entity = entity
        self.store = BillableStore(repositories)

    def complete(self, conn: Connection, current: Mapping[str, Any], record: dict[str, Any]) -> None:
        if not current:
            return
        total = self.store.total(conn, self.entity.name, current["id"])
        if total is not None:
            record["amount"] = total


# Set while a billable's lines are written together (BillableService.save): the parent's amount is
# followed once at the end, not after each line.
_DEFERRED: ContextVar[bool] = ContextVar("billable_lines_deferred", default=False)


@contextmanager
def lines_deferred() -> Iterator[None]:
    token = _DEFERRED.set(True)
    try:
        yield
    finally:
        _DEFERRED.reset(token)


class PartsFollow:
    """After a line or a Billable is written (any protocol), in the same transaction: the lines' amounts
    follow a changed tax type, and each record they belonged to or now belong to gets its total as amount
    (through its own record service, so the write takes edit access to it and is an event like any)."""

    def __init__(self, entity: Entity, services: Callable[[str], Any]):
        self.entity = entity
        self.services = services

    def lock_parent(self, conn: Connection, record_id: Any) -> None:
        """Before a line or a Billable is locked to be changed or deleted: lock the record it belongs to, in the
        order a Concord save takes them (the record, then its lines), so the two cannot deadlock."""
        parsed = parse_id(record_id)
        if parsed is None:
            return  # no such record: the lookup that follows says so
        repository = self.services(self.entity.name).repository
        rows = repository.fetch_rows(conn, Compare("id", Op.EQ, parsed),
                                     attributes=["id", *(f"{link}Id" for link in PARENTS.values())])
        parent = parent_of(rows[0]) if rows else None
        if parent is not None:
            self.services(parent[0]).repository.fetch_rows(conn, Compare("id", Op.EQ, parent[1]), attributes=["id"],
                                                           lock=True)

    def changed(self, conn: Connection, actor: Any, before: Mapping[str, Any] | None,
                after: Mapping[str, Any] | None) -> None:
        if _DEFERRED.get():
            return
        parents = {p for p in (parent_of(before or {}), parent_of(after or {})) if p is not None}
        if self.entity.name == BILLABLE_ENTITY and after is not None:
            for entity, record_id in parents:
                reprice_lines(conn, actor, self.services, entity, record_id)
        for entity, record_id in sorted(parents):
            follow_total(conn, actor, self.services, entity, record_id)


def reprice_lines(conn: Connection, actor: Any, services: Callable[[str], Any], entity: str, record_id: int) -> None:
    """Re-complete a record's lines (their amounts and tax rates follow its tax type)."""
    items = services(ITEM_ENTITY)
    with lines_deferred():
        for line in BillableStore(items._repository_of).lines(conn, entity, record_id):
            items.update_within(conn, actor, line["id"], {"taxRate": line["taxRate"]})


def follow_total(conn: Connection, actor: Any, services: Callable[[str], Any], entity: str, record_id: int) -> None:
    """The record's amount becomes its lines' total (0 once it has none left, unless it was 0: Concord)."""
    parent = services(entity)
    # Locked first (PostgreSQL): lines another transaction adds to the record are then committed and counted.
    rows = parent.repository.fetch_rows(conn, Compare("id", Op.EQ, record_id), attributes=["id", "amount"],
                                        lock=True)
    if not rows:
        return
    current = rows[0]
    total = BillableStore(parent._repository_of).total(conn, entity, record_id)
    if total is None:
        total = 0.0
    if (current.get("amount") or 0) == 0 and total == 0:
        return
    if current.get("amount") != total:
        parent.update_within(conn, actor, record_id, {"amount": total})
