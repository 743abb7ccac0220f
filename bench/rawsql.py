"""The floor: the same queries PolyCRM's scenarios answer, run as plain SQL straight through the driver
(sqlite3 or psycopg 3), one connection, prepared statements, one thread, no HTTP, no JSON.

Queries (contact table of a seeded store):
- get:            SELECT * FROM contact WHERE id = ? AND deleted = false
- list_tier:      SELECT <list columns> FROM contact WHERE c_tier = ? AND deleted = false
                  ORDER BY created_at DESC, id DESC LIMIT 20
                  + SELECT count(*) FROM contact WHERE c_tier = ? AND deleted = false (the total it answers)
- list_tier_nototal: the page alone (what X-No-Total asks for)
- list_assigned:  the page and its count with assigned_user_id = ?
- search:         ... WHERE deleted = false AND (name LIKE 'abc%' OR last_name LIKE 'abc%' OR email_address LIKE
                  'abc%') ORDER BY created_at DESC, id DESC LIMIT 20, and its count: PolyCRM's quick search
                  (`lower(col) LIKE 'abc%'` on PostgreSQL: case-insensitive and served by the search indexes;
                  on SQLite with PolyCRM's text search index (`contact_text`), one MATCH counted from the index
                  alone, the page sorted from the matches or walked in createdAt order when they are many)
- list_last_name: the page and its count with last_name = ? (inflow_search: the same page, InflowCRM's
                  searchRecords with a lastName filter and its default createdAt -1 order)
- list_email:     the page and its count of contacts with that address (email_address_link.address_lower)
- list_name_contains: the page and its count with name LIKE '%abcd%' (`lower(name)` on PostgreSQL; with
                  PolyCRM's text search index on SQLite, as search)
- create:         what PolyCRM writes for a new contact, one transaction: the contact row (with its account),
                  and the rows beside it: account_contact (its account relation), email_address_link (its
                  address), stream_subscription (its assigned user follows it), note (its stream's Create note)
- mass_create:    the same rows for a batch of records in one transaction, each table's rows in one
                  executemany (SQLite) or COPY (PostgreSQL), ids reserved first as PolyCRM does; also with as
                  many connections at once, each in a process of its own, as PolyCRM's mass create phase uses
                  (`parallel_mass_create`): PolyCRM's server workers write side by side too
- update:         UPDATE contact SET c_score = ?, modified_at = ?, version_number = version_number + 1
                  WHERE id = ?, one transaction
- itflow_client:  SELECT * FROM account WHERE id = ? AND deleted = false
- itflow_contacts: SELECT contact.*, <its title: account_contact.role for its account> FROM contact
                  WHERE account_id = ? AND deleted = false ORDER BY id LIMIT 50 (the primary e-mail address and
                  phone number an ITFlow contact row shows are columns of contact, as PolyCRM reads them)
- itflow_contact_email: the same row of the contact with that address (contacts/read.php?contact_email=)
- case_create:    what PolyCRM writes for a new Case, one transaction: the `Case.number` counter
                  (sequence_counter upsert ... RETURNING), the case row, its stream's Create note
- itflow_ticket_create: the same with a ticket's values, plus the two audit_log_entry rows ITFlow's
                  tickets/create writes (Ticket/Create and API/Success), all in one transaction (PolyCRM writes
                  the case in one and each audit row in a transaction of its own)
- concord_list:   what Concord's contact index page shows (GET /api/contacts?per_page=15 with a last_name equal
                  rule): the page of the shown columns (the job title is the contact's role at its account, a
                  subquery) WHERE last_name equals, ignoring case, AND deleted = false ORDER BY first_name, id
                  LIMIT 15, its count, the page's phone numbers (phone_number_link) and its companies_count
                  (account_contact of live accounts, grouped by contact)
- concord_search: Concord's contact index page with `q` (GET /api/contacts?per_page=15&q=abcd): one of nine
                  contact columns (names, email, job title, address) or of the phone numbers contains it, as a
                  union of index lookups; page, count, phones and companies_count as concord_list
- concord_get:    what Concord's contact record shows (GET /api/contacts/{id}): the contact's shown columns,
                  its phone numbers, its companies (account_contact joined to live accounts, the columns a
                  nested company shows) and their phone numbers; companies_count is the companies' number
- concord_create: the same rows as create (POST /api/contacts sends the same contact: names, email, its company,
                  its owner)
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from multiprocessing import get_context
from typing import Any, Callable, Iterator

from loadgen import TIERS, live_id

LIST_COLUMNS = ("id, name, salutation_name, first_name, last_name, description, email_address, "
                "email_address_is_opted_out, email_address_is_invalid, phone_number, phone_number_is_opted_out, "
                "phone_number_is_invalid, do_not_call, address_street, address_city, address_state, "
                "address_country, address_postal_code, account_id, created_at, modified_at, created_by_id, "
                "modified_by_id, assigned_user_id, version_number, c_tier, c_score")


# The columns EspoCRM's quick search (textFilter) on contacts matches by prefix: name, last name, email address.
SEARCHED_COLUMNS = ("name", "last_name", "email_address")
# The contact columns App CRM's `q` looks into (with the phone numbers): its contacts resource's `search`.
CONCORD_SEARCHED = ("first_name", "last_name", "email_address", "job_title", "address_street", "address_city",
                    "address_state", "address_postal_code", "name")

# What a Concord contact shows (its index rows and record): the job title is the contact's role at its account.
CONCORD_CONTACT_COLUMNS = ("contact.id, contact.name, contact.first_name, contact.last_name, contact.email_address, "
                           "contact.assigned_user_id, contact.address_street, contact.address_city, "
                           "contact.address_state, contact.address_postal_code, contact.created_at, contact.modified_at, "
                           "(SELECT role FROM account_contact WHERE account_contact.contact_id = contact.id "
                           "AND account_contact.account_id = contact.account_id) AS job_title")
# What a company nested in a Concord contact record shows (its phones come from phone_number_link).
CONCORD_COMPANY_COLUMNS = ("account.id, account.name, account.website, account.email_address, "
                           "account.billing_address_street, account.billing_address_city, "
                           "account.billing_address_state, account.billing_address_postal_code, account.created_at, "
                           "account.modified_at, account.assigned_user_id")


# The columns of the rows a new contact is stored as, in the order `new_contact` gives their values.
CONTACT_COLUMNS = ("id", "name", "first_name", "last_name", "email_address", "email_address_is_opted_out",
                   "email_address_is_invalid", "phone_number_is_opted_out", "phone_number_is_invalid", "do_not_call",
                   "account_id", "created_at", "modified_at", "created_by_id", "modified_by_id", "assigned_user_id",
                   "deleted", "version_number", "c_tier", "c_score")
SIDE_COLUMNS = {
    "account_contact": ("contact_id", "account_id", "role", "is_inactive"),
    "email_address_link": ("entity_type", "entity_id", "field", "position", "is_primary", "opt_out", "invalid",
                           "address", "address_lower"),
    "stream_subscription": ("entity_type", "entity_id", "user_id"),
    "note": ("type", "post", "data", "parent_type", "parent_id", "created_at", "created_by_id", "is_internal",
             "deleted"),
}
# The column of each SIDE_COLUMNS table that holds the contact's id.
CONTACT_ID_COLUMN = {"account_contact": "contact_id", "email_address_link": "entity_id",
                     "stream_subscription": "entity_id", "note": "parent_id"}


def _sqlite_path(url: str) -> str:
    return url.split(":///", 1)[1]


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


class RawStore:
    """One driver connection with the statements in the dialect's parameter style."""

    def __init__(self, url: str):
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        if self.dialect == "sqlite":
            self.conn: Any = sqlite3.connect(_sqlite_path(url), isolation_level=None, check_same_thread=False)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000", "cache_size=-65536",
                           "temp_store=MEMORY"):
                self.conn.execute(f"PRAGMA {pragma}")
            self.p, self.false = "?", "0"
            # As PolyCRM writes it for SQLite: an OR of LIKEs would scan; a union of index lookups does not.
            self.text_match = "id IN ({})".format(" UNION ".join(
                f"SELECT id FROM contact WHERE {column} LIKE ? AND deleted = 0"  # the search indexes are partial
                for column in ("name", "last_name", "email_address")))
        else:
            import psycopg

            dsn = url.replace("postgresql+psycopg://", "postgresql://")
            self.conn = psycopg.connect(dsn, autocommit=True)
            self.p, self.false = "%s", "false"
            self.text_match = ("(lower(name) LIKE %s OR lower(last_name) LIKE %s OR lower(email_address) LIKE %s)")
        # The SQLite text search index of PolyCRM's contacts (store.text_search), when the store has one.
        self.text_index = self.dialect == "sqlite" and bool(self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'contact_text'").fetchall())
        # Concord's text `equal` (MySQL's case-insensitive collation), as the search indexes on last_name serve it:
        # SQLite's `last_name COLLATE NOCASE` index, PostgreSQL's `lower(last_name)` one (the value lowered first).
        self.last_name_equals = ("last_name = ? COLLATE NOCASE" if self.dialect == "sqlite"
                                 else "lower(last_name) = %s")

    def close(self) -> None:
        self.conn.close()

    def prewarm(self) -> int:
        """Read the whole store once, so that its pages are in the OS page cache, as on a server that has
        been running: these VMs drop cached file pages while idle, and a cold 1M store made reads go to disk
        (a raw get 0.54 ms instead of 0.01 ms). Returns the bytes read."""
        if self.dialect == "sqlite":
            path = self.conn.execute("PRAGMA database_list").fetchone()[2]
            total = 0
            for name in (path, path + "-wal"):
                if os.path.exists(name):
                    with open(name, "rb") as file:
                        while chunk := file.read(1 << 20):
                            total += len(chunk)
            return total
        # pg_prewarm ships with PostgreSQL (contrib); 'read' reads each block through the OS cache.
        self.conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        blocks = self.conn.execute(
            "SELECT coalesce(sum(pg_prewarm(c.oid, 'read')), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i', 't')").fetchone()[0]
        return int(blocks) * 8192

    def query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        if self.dialect == "sqlite":
            return self.conn.execute(sql, params).fetchall()
        with self.conn.cursor() as cur:
            cur.execute(sql, params, prepare=True)
            return cur.fetchall() if cur.description else []

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Callable[[str, tuple[Any, ...]], Any]]:
        """One write transaction; yields `execute(sql, params)` returning the first row of the result, if any."""
        if self.dialect == "sqlite":
            # IMMEDIATE, as PolyCRM's writes: a deferred transaction that reads (the ids) before it writes fails
            # at once with "database is locked" when another writer got in between.
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield lambda sql, params: self.conn.execute(sql, params).fetchone()
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        else:
            with self.conn.transaction(), self.conn.cursor() as cur:
                def execute(sql: str, params: tuple[Any, ...]) -> Any:
                    cur.execute(sql, params, prepare=True)
                    return cur.fetchone() if cur.description else None

                yield execute

    def insert_sql(self, table: str, columns: tuple[str, ...], returning: str = "") -> str:
        return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([self.p] * len(columns))})"
                f"{returning}")

    def write_rows(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        """Rows into `table` in the open transaction, by the driver's quickest path, as PolyCRM's mass writes
        (store.bulk): statements of 100 rows on SQLite (an executemany runs one per row, and a table with a
        trigger-kept text search index then writes an index segment per row), COPY on PostgreSQL."""
        if self.dialect == "sqlite":
            row = "(" + ", ".join("?" * len(columns)) + ")"
            for start in range(0, len(rows), 100):
                chunk = rows[start:start + 100]
                self.conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * len(chunk))}",
                                  [value for item in chunk for value in item])
            return
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def reserve_contact_ids(self, count: int) -> list[int]:
        """Ids for new contacts, in the open transaction (SQLite's write lock keeps them ours)."""
        if self.dialect == "sqlite":
            largest = self.conn.execute("SELECT coalesce(max(id), 0) FROM contact").fetchone()[0]
            return list(range(largest + 1, largest + 1 + count))
        rows = self.conn.execute("SELECT nextval(pg_get_serial_sequence('contact', 'id')) "
                                 "FROM generate_series(1, %s)", (count,)).fetchall()
        return sorted(row[0] for row in rows)

    def transaction(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        with self._transaction() as execute:
            for sql, params in statements:
                execute(sql, params)

    # --- the scenarios ----------------------------------------------------------------------------

    def operation(self, scenario: str, *, max_contact_id: int, max_account_id: int, user_ids: list[int],
                  prefixes: list[str], run_tag: str, batch: int = 1000, seed: int = 7,
                  accounts_with_contacts: list[int] | None = None, last_names: list[str] | None = None,
                  fragments: list[str] | None = None, emails: list[str] | None = None) -> Callable[[], Any]:
        rng = random.Random(seed)
        p, false, text_match = self.p, self.false, self.text_match
        tiers = iter(TIERS * 10**6)
        if scenario == "get":
            sql = f"SELECT * FROM contact WHERE id = {p} AND deleted = {false}"
            return lambda: self.query(sql, (live_id(rng, max_contact_id),))
        if scenario in ("list_tier", "list_tier_nototal", "list_assigned"):
            column = "assigned_user_id" if scenario == "list_assigned" else "c_tier"
            condition = f"{column} = {p} AND deleted = {false}"
            page = f"SELECT {LIST_COLUMNS} FROM contact WHERE {condition} ORDER BY created_at DESC, id DESC LIMIT 20"
            count = f"SELECT count(*) FROM contact WHERE {condition}"
            values: Callable[[], Any] = (lambda: rng.choice(user_ids)) if scenario == "list_assigned" else (
                lambda: next(tiers))
            if scenario == "list_tier_nototal":
                return lambda: self.query(page, (values(),))

            def page_and_total() -> None:
                value = values()
                self.query(page, (value,))
                self.query(count, (value,))
            return page_and_total
        if scenario == "search" and self.text_index:
            return self._text_searched(lambda: [(c, True, rng.choice(prefixes)) for c in SEARCHED_COLUMNS])
        if scenario == "search":
            condition = f"deleted = {false} AND {text_match}"
            page = f"SELECT {LIST_COLUMNS} FROM contact WHERE {condition} ORDER BY created_at DESC, id DESC LIMIT 20"
            count = f"SELECT count(*) FROM contact WHERE {condition}"

            def search_and_total() -> None:
                patterns = (rng.choice(prefixes).lower() + "%",) * 3
                self.query(page, patterns)
                self.query(count, patterns)
            return search_and_total
        if scenario in ("list_last_name", "inflow_search"):
            return self._page_and_total("last_name = {p}", lambda: rng.choice(last_names or ["Smith"]))
        if scenario == "list_email":
            return self._page_and_total(self.email_match, lambda: (rng.choice(emails or ["x"]).lower(),))
        if scenario == "list_name_contains" and self.text_index:
            return self._text_searched(lambda: [("name", False, rng.choice(fragments or ["mith"]))])
        if scenario == "list_name_contains":
            return self._page_and_total(self.contains("name"), lambda: self.pattern(rng.choice(fragments or ["mith"])))
        if scenario == "itflow_contact_email":
            sql = (f"SELECT contact.*, (SELECT role FROM account_contact WHERE account_contact.contact_id = contact.id "
                   f"AND account_contact.account_id = contact.account_id) AS contact_title FROM contact "
                   f"WHERE {self.email_match.format(p=p)} AND deleted = {false} ORDER BY id")
            return lambda: self.query(sql, (rng.choice(emails or ["x"]).lower(),))
        if scenario in ("create", "mass_create", "concord_create"):
            counter = iter(range(1, 10**9))

            def new_contact(record_id: int | None) -> tuple[tuple[Any, ...], dict[str, tuple[Any, ...]]]:
                """A new contact's row (without its id when None) and its rows in the SIDE_COLUMNS tables,
                valued as the bench's PolyCRM creates are."""
                n = next(counter)
                now = _now() if self.dialect == "postgresql" else _now().strftime("%Y-%m-%d %H:%M:%S.%f")
                email = f"raw.{run_tag}{n}@bench.example"
                owner = user_ids[n % len(user_ids)]
                account = rng.randrange(1, max_account_id + 1)
                contact = (f"Raw {run_tag}{n}", "Raw", f"{run_tag}{n}", email, False, False, False, False, False,
                           account, now, now, owner, owner, owner, False, 1, TIERS[n % 3], n % 101)
                note = f'{{"assignedUserId":"{owner}","assignedUserName":"Bench User {owner}"}}'
                return (contact if record_id is None else (record_id, *contact)), {
                    "account_contact": (record_id, account, None, False),
                    "email_address_link": ("Contact", record_id, "emailAddress", 0, True, False, False, email, email),
                    "stream_subscription": ("Contact", record_id, owner),
                    "note": ("Create", None, note, "Contact", record_id, now, owner, False, False)}

            if scenario in ("create", "concord_create"):
                insert = self.insert_sql("contact", CONTACT_COLUMNS[1:], " RETURNING id")
                sides = [(table, self.insert_sql(table, columns)) for table, columns in SIDE_COLUMNS.items()]
                position = {table: columns.index(CONTACT_ID_COLUMN[table]) for table, columns in SIDE_COLUMNS.items()}

                def create() -> None:
                    contact, side_rows = new_contact(None)
                    with self._transaction() as execute:
                        new_id = execute(insert, contact)[0]
                        for table, sql in sides:
                            row = list(side_rows[table])
                            row[position[table]] = new_id
                            execute(sql, tuple(row))
                return create

            def mass_create() -> None:
                with self._transaction():
                    made = [new_contact(record_id) for record_id in self.reserve_contact_ids(batch)]
                    self.write_rows("contact", CONTACT_COLUMNS, [contact for contact, _ in made])
                    for table, columns in SIDE_COLUMNS.items():
                        self.write_rows(table, columns, [side[table] for _, side in made])
            return mass_create
        if scenario == "update":
            sql = (f"UPDATE contact SET c_score = {p}, modified_at = {p}, version_number = version_number + 1 "
                   f"WHERE id = {p}")

            def update() -> None:
                now = _now() if self.dialect == "postgresql" else _now().strftime("%Y-%m-%d %H:%M:%S.%f")
                self.transaction([(sql, (rng.randrange(0, 101), now, live_id(rng, max_contact_id)))])
            return update
        if scenario == "itflow_client":
            sql = f"SELECT * FROM account WHERE id = {p} AND deleted = {false}"
            return lambda: self.query(sql, (rng.randrange(1, max_account_id + 1),))
        if scenario == "itflow_contacts":
            accounts = accounts_with_contacts or [1]
            sql = (f"SELECT contact.*, (SELECT role FROM account_contact WHERE account_contact.contact_id = contact.id "
                   f"AND account_contact.account_id = contact.account_id) AS contact_title FROM contact "
                   f"WHERE account_id = {p} AND deleted = {false} ORDER BY id LIMIT 50")
            return lambda: self.query(sql, (rng.choice(accounts),))
        if scenario == "concord_list":
            return self._concord_list(rng, last_names or ["Smith"])
        if scenario == "concord_search":
            return self._concord_search(rng, fragments or ["mith"])
        if scenario == "concord_get":
            return self._concord_get(rng, max_contact_id)
        if scenario in ("case_create", "itflow_ticket_create"):
            return self._case_create(scenario == "itflow_ticket_create", rng, max_account_id, user_ids[0], run_tag)
        raise ValueError(f"no raw SQL for {scenario}")

    def _text_searched(self, terms: Callable[[], list[tuple[str, bool, str]]]) -> Callable[[], None]:
        """An EspoCRM list of 20 contacts found by the SQLite text search index (`contact_text`, PolyCRM's
        store.text_search): its count from the index alone, then the page: the matches sorted when they are
        few, else the newest rows walked until 20 match (PolyCRM's two plans, chosen by the count alike)."""
        from polycrm.store.text_search import match_expression

        count_then_page = self._count_then_page(
            "SELECT count(*) FROM contact_text WHERE contact_text MATCH ?",
            f"SELECT {LIST_COLUMNS} FROM contact WHERE {{}}id IN (SELECT rowid FROM contact_text "
            "WHERE contact_text MATCH ?) AND deleted = 0 ORDER BY created_at DESC, id DESC LIMIT 20")
        return lambda: count_then_page((match_expression(terms()),))

    def _count_then_page(self, count: str, page: str) -> Callable[[tuple[Any, ...]], list[Any]]:
        """A text search as PolyCRM reads it: its count, then its page (`page` with `{}` before the id it matches
        on): the matches sorted when they are few, else, on SQLite, the sort order's index walked (`+id`)."""
        from polycrm.store.records import WALK_FROM_MATCHES

        sorted_matches, walked = page.format(""), page.format("+" if self.dialect == "sqlite" else "")

        def run(params: tuple[Any, ...]) -> list[Any]:
            total = self.query(count, params)[0][0]
            return self.query(walked if total >= WALK_FROM_MATCHES else sorted_matches, params)
        return run

    def _page_and_total(self, condition: str, values: Callable[[], Any]) -> Callable[[], None]:
        """An EspoCRM list of 20 contacts matching `condition` ({p} its placeholders), newest first, and its total;
        `values()` gives the parameters, a tuple or one value."""
        where = f"{condition.format(p=self.p)} AND deleted = {self.false}"
        page = f"SELECT {LIST_COLUMNS} FROM contact WHERE {where} ORDER BY created_at DESC, id DESC LIMIT 20"
        count = f"SELECT count(*) FROM contact WHERE {where}"

        def page_and_total() -> None:
            value = values()
            params = value if isinstance(value, tuple) else (value,)
            self.query(page, params)
            self.query(count, params)
        return page_and_total

    @property
    def email_match(self) -> str:
        """Contacts with an address (any of theirs, lowered), as PolyCRM looks addresses up."""
        return ("id IN (SELECT entity_id FROM email_address_link WHERE entity_type = 'Contact' "
                "AND field = 'emailAddress' AND address_lower = {p})")

    def contains(self, column: str) -> str:
        """`column` holds a piece of text, ignoring case (one {p} placeholder: `pattern(text)`)."""
        return f"{column} LIKE {{p}}" if self.dialect == "sqlite" else f"lower({column}) LIKE {{p}}"

    @staticmethod
    def pattern(text: str) -> tuple[str, ...]:
        return (f"%{text.lower()}%",)

    def in_list(self, count: int) -> str:
        """`(?, ?, ...)`: `count` placeholders (statements are prepared per count, as a page has up to 15 ids)."""
        return "(" + ", ".join([self.p] * count) + ")"

    def concord_page_sql(self) -> str:
        return (f"SELECT {CONCORD_CONTACT_COLUMNS} FROM contact WHERE {self.last_name_equals} AND deleted = "
                f"{self.false} ORDER BY first_name, id LIMIT 15")

    def _last_name(self, name: str) -> str:
        return name if self.dialect == "sqlite" else name.lower()

    def _concord_list(self, rng: random.Random, last_names: list[str]) -> Callable[[], None]:
        """Concord's contact index page with a last_name `equal` rule: page, total, phones, companies_count."""
        false = self.false
        page = self.concord_page_sql()
        count = f"SELECT count(*) FROM contact WHERE {self.last_name_equals} AND deleted = {false}"

        def listing() -> None:
            name = self._last_name(rng.choice(last_names))
            rows = self.query(page, (name,))
            self.query(count, (name,))
            self._concord_side_rows(tuple(row[0] for row in rows))
        return listing

    def _concord_search(self, rng: random.Random, fragments: list[str]) -> Callable[[], None]:
        """Concord's contact index page with `q`: one of the contact's searched columns or phone numbers contains
        it; page (by first name), total, phones and companies_count as the list. As PolyCRM runs it: a union of
        index lookups (SQLite: one MATCH of `contact_text` and one of `phone_number_link_text`; PostgreSQL: each
        column's trigram index), counted without the table, the page sorted from the matches or walked in
        first-name order when they are many; on a store without text search indexes, the OR as a scan."""
        from polycrm.store.text_search import match_expression

        p, false = self.p, self.false
        # With the FTS5 table the matches drive, as in PolyCRM (`+` keeps SQLite off the entity type's index).
        plus = "+" if self.text_index else ""
        phone_owner = ("SELECT phone_number_link.entity_id FROM phone_number_link JOIN contact ON contact.id = "
                       f"phone_number_link.entity_id WHERE {plus}phone_number_link.entity_type = 'Contact' AND "
                       f"{plus}phone_number_link.field = 'phoneNumber' AND contact.deleted = {false} AND ")
        if self.text_index:
            ids = (f"SELECT rowid FROM contact_text WHERE contact_text MATCH {p} UNION {phone_owner}"
                   f"phone_number_link.id IN (SELECT rowid FROM phone_number_link_text WHERE "
                   f"phone_number_link_text MATCH {p})")
            texts = lambda text: (match_expression([(c, False, text) for c in CONCORD_SEARCHED]),  # noqa: E731
                                  match_expression([("number", False, text)]))
        elif self.dialect == "postgresql":
            ids = " UNION ".join([f"SELECT id FROM contact WHERE {self.contains(c)} AND deleted = {false}".format(p=p)
                                  for c in CONCORD_SEARCHED] + [phone_owner + self.contains("number").format(p=p)])
            texts = lambda text: self.pattern(text) * (len(CONCORD_SEARCHED) + 1)  # noqa: E731
        else:
            ids = " UNION ".join([f"SELECT id FROM contact WHERE {c} LIKE {p}" for c in CONCORD_SEARCHED]
                                 + [phone_owner + f"phone_number_link.number LIKE {p}"])
            texts = lambda text: self.pattern(text) * (len(CONCORD_SEARCHED) + 1)  # noqa: E731
        count_then_page = self._count_then_page(
            f"SELECT count(*) FROM ({ids}) AS found",
            f"SELECT {CONCORD_CONTACT_COLUMNS} FROM contact WHERE {{}}id IN ({ids}) AND deleted = {false} "
            f"ORDER BY first_name, id LIMIT 15")

        def listing() -> None:
            rows = count_then_page(texts(rng.choice(fragments)))
            self._concord_side_rows(tuple(row[0] for row in rows))
        return listing

    def _concord_side_rows(self, ids: tuple[int, ...]) -> None:
        """A Concord contact page's phone numbers and companies_count."""
        if not ids:
            return
        p, false = self.p, self.false
        self.query(f"SELECT entity_id, number, type FROM phone_number_link WHERE entity_type = {p} AND field = {p} "
                   f"AND entity_id IN {self.in_list(len(ids))} ORDER BY entity_id, position",
                   ("Contact", "phoneNumber", *ids))
        self.query(f"SELECT account_contact.contact_id, count(*) FROM account_contact JOIN account "
                   f"ON account.id = account_contact.account_id WHERE account_contact.contact_id IN "
                   f"{self.in_list(len(ids))} AND account.deleted = {false} GROUP BY account_contact.contact_id", ids)

    def _concord_get(self, rng: random.Random, max_contact_id: int) -> Callable[[], None]:
        """Concord's contact record: the contact, its phones, its companies (shown columns) and their phones."""
        p, false = self.p, self.false
        contact = f"SELECT {CONCORD_CONTACT_COLUMNS} FROM contact WHERE id = {p} AND deleted = {false}"
        phones = (f"SELECT number, type FROM phone_number_link WHERE entity_type = {p} AND field = {p} "
                  f"AND entity_id = {p} ORDER BY position")
        companies = (f"SELECT {CONCORD_COMPANY_COLUMNS} FROM account_contact JOIN account ON account.id = "
                     f"account_contact.account_id WHERE account_contact.contact_id = {p} AND account.deleted = {false} "
                     f"ORDER BY account.id")
        company_phones = (f"SELECT entity_id, number, type FROM phone_number_link WHERE entity_type = {p} "
                          f"AND field = {p} AND entity_id IN (SELECT account_id FROM account_contact "
                          f"WHERE contact_id = {p}) ORDER BY entity_id, position")

        def record() -> None:
            contact_id = live_id(rng, max_contact_id)
            if not self.query(contact, (contact_id,)):
                return
            self.query(phones, ("Contact", "phoneNumber", contact_id))
            if self.query(companies, (contact_id,)):
                self.query(company_phones, ("Account", "phoneNumber", contact_id))
        return record

    def _case_create(self, ticket: bool, rng: random.Random, max_account_id: int, user_id: int,
                     run_tag: str) -> Callable[[], None]:
        """The rows PolyCRM writes for a Case (POST /Case) or an ITFlow ticket (tickets/create), one transaction."""
        p = self.p
        counter = (f"INSERT INTO sequence_counter (name, value) VALUES ({p}, 1) ON CONFLICT (name) "
                   f"DO UPDATE SET value = sequence_counter.value + 1 RETURNING value")
        columns = ("name", "number", "status", "priority", "account_id", "is_internal", "number_prefix", "is_billable",
                   "is_onsite", "created_at", "modified_at", "created_by_id", "modified_by_id", "deleted",
                   "version_number")
        if ticket:
            columns += ("description", "source", "url_key", "contact_id", "assigned_user_id", "vendor_id",
                        "asset_id", "vendor_ticket_number")
        insert_case = self.insert_sql('"case"', columns, " RETURNING id")
        insert_note = self.insert_sql("note", SIDE_COLUMNS["note"])
        insert_log = self.insert_sql("audit_log_entry", ("type", "action", "description", "ip_address", "user_agent",
                                                         "created_at", "account_id", "user_id", "entity_id", "deleted",
                                                         "version_number"))
        note = '{"statusValue":"New","statusField":"status","statusStyle":"default"}'
        serial = iter(range(1, 10**9))

        def create() -> None:
            n = next(serial)
            now = _now() if self.dialect == "postgresql" else _now().strftime("%Y-%m-%d %H:%M:%S.%f")
            account = rng.randrange(1, max_account_id + 1)
            with self._transaction() as execute:
                number = execute(counter, ("Case.number",))[0]
                values: tuple[Any, ...] = (f"Raw {'ticket' if ticket else 'case'} {run_tag}x{n}", number, "New",
                                           "Low" if ticket else "Normal", account, False, "TCK-", False, False, now,
                                           now, user_id, user_id, False, 1)
                if ticket:
                    values += (f"Printer on floor {n % 7} is offline<br>", "API", f"{run_tag}{n:026d}"[-32:], None,
                               None, None, None, "")
                case_id = execute(insert_case, values)[0]
                execute(insert_note, ("Create", None, note, "Case", case_id, now, user_id, False, False))
                if ticket:
                    text = f"Created ticket TCK-{number} {values[0]}"
                    for type_, action, description in (("Ticket", "Create", f"{text} via API (bench-itflow)"),
                                                       ("API", "Success", f"{text} via API (bench-itflow)")):
                        execute(insert_log, (type_, action, description, "127.0.0.1", "", now, account, user_id,
                                             case_id, False, 1))
        return create


def measure(store: RawStore, scenario: str, *, duration: float, max_count: int, warmup: int = 50,
            start_at: float | None = None, **kwargs: Any) -> dict[str, Any]:
    """Run one raw operation back to back (after `warmup` runs, and from the `time.time()` `start_at` when
    given); latency percentiles and ops/s."""
    from loadgen import percentile

    operation = store.operation(scenario, **kwargs)
    warm_until = time.perf_counter() + WARMUP_SECONDS
    for _ in range(min(warmup, max_count)):
        operation()
        if time.perf_counter() > warm_until:  # a query that scans a million rows is warm after one run
            break
    if start_at is not None:
        time.sleep(max(0.0, start_at - time.time()))
    latencies: list[float] = []
    perf = time.perf_counter
    started = perf()
    deadline = started + duration
    while len(latencies) < max_count and perf() < deadline:
        t0 = perf()
        operation()
        latencies.append(perf() - t0)
    elapsed = perf() - started
    ms = lambda v: None if v is None else round(v * 1000, 4)  # noqa: E731
    return {"scenario": scenario, "count": len(latencies), "ops_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": ms(percentile(latencies, 50)), "p99_ms": ms(percentile(latencies, 99))}


# At most this long warming a raw operation up before it is timed.
WARMUP_SECONDS = 1.0
# Seconds the processes of `parallel_mass_create` get to connect and warm up before their common window.
PARALLEL_START_DELAY = 3.0


def parallel_mass_create(url: str, connections: int, *, duration: float, **kwargs: Any) -> dict[str, Any]:
    """The mass create floor with `connections` driver connections writing at once, each in a process of its
    own (no GIL shared), over a common window of `duration` seconds: the records/s they store together."""
    start_at = time.time() + PARALLEL_START_DELAY
    # Spawned, not forked: a child must not inherit the parent's open driver connection.
    with ProcessPoolExecutor(connections, mp_context=get_context("spawn")) as pool:
        runs = [pool.submit(_mass_create_window, url, start_at, duration, seed, kwargs) for seed in range(connections)]
        rates = [run.result() * kwargs["batch"] for run in runs]
    return {"connections": connections, "records_per_s": round(sum(rates)),
            "records_per_s_each": [round(rate) for rate in rates]}


def _mass_create_window(url: str, start_at: float, duration: float, seed: int, kwargs: dict[str, Any]) -> float:
    """Batches per second one connection stored from `start_at` for `duration` seconds."""
    store = RawStore(url)
    try:
        return measure(store, "mass_create", duration=duration, max_count=10**9, warmup=1, start_at=start_at,
                       **{**kwargs, "run_tag": f"{kwargs['run_tag']}p{seed}", "seed": seed})["ops_per_s"]
    finally:
        store.close()


def explain(store: RawStore, scenario: str, **kwargs: Any) -> list[str]:
    """The query plan of a raw read scenario (first parameter set), for the JSON report."""
    p, false, text_match = store.p, store.false, store.text_match
    sql = {
        "get": (f"SELECT * FROM contact WHERE id = {p} AND deleted = {false}", (1,)),
        "list_tier": (f"SELECT {LIST_COLUMNS} FROM contact WHERE c_tier = {p} AND deleted = {false} "
                      f"ORDER BY created_at DESC, id DESC LIMIT 20", ("Gold",)),
        "list_assigned": (f"SELECT {LIST_COLUMNS} FROM contact WHERE assigned_user_id = {p} AND deleted = {false} "
                          f"ORDER BY created_at DESC, id DESC LIMIT 20", (kwargs["user_ids"][0],)),
        "search": (f"SELECT {LIST_COLUMNS} FROM contact WHERE deleted = {false} AND {text_match} "
                   f"ORDER BY created_at DESC, id DESC LIMIT 20", (kwargs["prefixes"][0].lower() + "%",) * 3),
        "itflow_client": (f"SELECT * FROM account WHERE id = {p} AND deleted = {false}", (1,)),
        "itflow_contacts": (f"SELECT contact.*, (SELECT role FROM account_contact WHERE account_contact.contact_id = "
                            f"contact.id AND account_contact.account_id = contact.account_id) AS contact_title "
                            f"FROM contact WHERE account_id = {p} AND deleted = {false} ORDER BY id LIMIT 50",
                            ((kwargs.get("accounts_with_contacts") or [1])[0],)),
        "concord_list": (store.concord_page_sql(), (store._last_name((kwargs.get("last_names") or ["Smith"])[0]),)),
        "concord_get": (f"SELECT {CONCORD_CONTACT_COLUMNS} FROM contact WHERE id = {p} AND deleted = {false}", (1,)),
    }.get(scenario)
    if sql is None:
        return []
    prefix = "EXPLAIN QUERY PLAN " if store.dialect == "sqlite" else "EXPLAIN "
    rows = store.query(prefix + sql[0], sql[1])
    return [" | ".join(str(c) for c in row) for row in rows]
