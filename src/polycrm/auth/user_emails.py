"""Users' email addresses as logins: the App CRM API (Concord) logs in by email and password (`POST
/api/token`), so a user's email names at most one user.

A user's email is the primary address of their `emailAddress` field (the side table every email field
uses), matched ignoring case. `UserDirectory.create_user` refuses an address another user has, in any
position; an address that several active users have as primary anyway (written through the EspoCRM API,
which, as EspoCRM, does not check) names nobody rather than one of them by chance.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, select, true
from sqlalchemy.engine import Connection

from polycrm.auth.errors import DirectoryError
from polycrm.meta.fieldtypes import EMAIL_PATTERN, MAX_EMAIL_LENGTH
from polycrm.store.database import Database
from polycrm.store.records import ContactPoint, RecordRepository

EMAIL_FIELD = "emailAddress"


def check_email(email: Any) -> str:
    """A user's email as stored: trimmed, and an address as the email field type takes it."""
    if not isinstance(email, str) or len(email.strip()) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.match(email.strip()):
        raise DirectoryError(f"'{email}' is not an email address.")
    return email.strip()


class UserEmails:
    """Reads and writes users' email addresses for logins."""

    def __init__(self, database: Database, users: RecordRepository):
        self.users = users
        self.emails = database.table("email_address_link")
        emails, table = self.emails, users.table
        self._of_users = and_(emails.c.entity_type == users.entity.name, emails.c.field == EMAIL_FIELD,
                              emails.c.entity_id == table.c.id, table.c.deleted == false())

    def taken(self, conn: Connection, email: str, *, excluding: int | None = None) -> bool:
        """Whether a user (active or not; other than `excluding`) has the address, in any position, whatever
        its case."""
        query = select(self.emails.c.id).join(self.users.table, self._of_users)\
            .where(self.emails.c.address_lower == email.lower()).limit(1)
        if excluding is not None:
            query = query.where(self.users.table.c.id != excluding)
        return conn.execute(query).first() is not None

    def add(self, conn: Connection, user_id: int, email: str) -> None:
        """Make `email` the only address of a user who has none, in the side table (the caller stores it on
        the record too, as the primary one)."""
        self.users.insert_contact_points_many(conn, "email", EMAIL_FIELD, [(user_id, [ContactPoint(email, True)])])

    def active_users(self, email: str) -> list[Any]:
        """Rows (id, password_hash, type, is_active) of the active users whose primary address it is."""
        if not isinstance(email, str) or len(email) > MAX_EMAIL_LENGTH or "\x00" in email:
            return []  # no address is so (PostgreSQL refuses NUL in text)
        table = self.users.table
        query = select(table.c.id, table.c.password_hash, table.c.type, table.c.is_active)\
            .join(self.emails, self._of_users)\
            .where(self.emails.c.address_lower == email.strip().lower(), self.emails.c.is_primary == true(),
                   table.c.is_active == true())
        with self.users.database.connect() as conn:
            return list(conn.execute(query).all())
