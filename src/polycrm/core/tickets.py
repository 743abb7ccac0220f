"""Ticket numbering: the prefix and the next number of new tickets (Cases), ITFlow's `config_ticket_prefix` and
`config_ticket_next_number`.

A ticket's `number` is taken from the counter `Case.number` in the transaction that inserts it (core/records.py),
so concurrent creates, from any process, get distinct numbers without gaps. A ticket created without a
`numberPrefix` gets the current prefix. Both are administrators' settings, shared by every server process:

- `ticketPrefix`: a stored setting (store/settings.py), "TCK-" until one is set.
- `ticketNextNumber`: the counter's last value + 1. Setting it moves the counter, never to a number a ticket
  already has (deleted ones included): numbers stay unique.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from polycrm.core.errors import BadRequest, Conflict
from polycrm.store.database import Database
from polycrm.store.settings import SettingStore

TICKET_ENTITY = "Case"
SETTING = "tickets"
DEFAULT_PREFIX = "TCK-"
MAX_PREFIX_LENGTH = 200  # Case.numberPrefix (ITFlow's ticket_prefix is a varchar(200))
MAX_NUMBER = 2**31 - 1  # ITFlow's ticket_number is an int(11)


def number_counter(entity_name: str) -> str:
    """The name of the counter an entity type's `autoincrement` numbers are taken from."""
    return f"{entity_name}.number"


@dataclass(frozen=True, slots=True)
class TicketSettings:
    prefix: str
    next_number: int

    def to_json(self) -> dict[str, Any]:
        """The settings as `GET Settings` shows them."""
        return {"ticketPrefix": self.prefix, "ticketNextNumber": self.next_number}


def check_prefix(prefix: Any) -> str:
    if not isinstance(prefix, str):
        raise BadRequest("ticketPrefix must be a string.")
    if len(prefix) > MAX_PREFIX_LENGTH or not prefix.isprintable():
        raise BadRequest(f"ticketPrefix must be printable text of at most {MAX_PREFIX_LENGTH} characters.")
    return prefix


def check_next_number(number: Any) -> int:
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_NUMBER:
        raise BadRequest(f"ticketNextNumber must be a whole number from 1 to {MAX_NUMBER}.")
    return number


class TicketService:
    """The stored ticket settings: read, and changed with the counter in one transaction."""

    def __init__(self, database: Database):
        self.database = database
        self.settings = SettingStore(database)
        self.counter = number_counter(TICKET_ENTITY)

    def prefix(self, conn: Connection) -> str:
        """The prefix a new ticket gets when it is given none."""
        stored = self.settings.read(conn, SETTING)
        return DEFAULT_PREFIX if stored is None else stored["prefix"]

    def current(self) -> TicketSettings:
        with self.database.connect() as conn:
            return TicketSettings(self.prefix(conn), self.database.counter_value(conn, self.counter) + 1)

    def change(self, *, prefix: Any = None, next_number: Any = None) -> TicketSettings:
        """Set the prefix and/or the next number (checked: BadRequest). A next number not above every
        number tickets already have is refused (Conflict)."""
        new_prefix = None if prefix is None else check_prefix(prefix)
        wanted = None if next_number is None else check_next_number(next_number)
        with self.database.transaction() as conn:
            last = self.database.hold_counter(conn, self.counter)
            if new_prefix is not None and not self.settings.insert_if_missing(conn, SETTING, {"prefix": new_prefix}):
                self.settings.read(conn, SETTING, lock="update")
                self.settings.write(conn, SETTING, {"prefix": new_prefix})
            if wanted is not None:
                entity = self.database.registry.entity(TICKET_ENTITY)
                column = entity.attributes["number"].column
                assert column is not None
                used = self.database.largest(conn, entity.table, column) or 0
                if wanted <= used:
                    raise Conflict(f"Ticket number {used} is already used: the next number must be above it.")
                self.database.set_counter(conn, self.counter, wanted - 1)
                last = wanted - 1
            return TicketSettings(self.prefix(conn), last + 1)


__all__ = ["DEFAULT_PREFIX", "TICKET_ENTITY", "TicketService", "TicketSettings", "number_counter"]
