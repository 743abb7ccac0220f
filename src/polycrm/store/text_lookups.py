"""How the filter compiler finds text through indexes (store.text_search): contains and starts-with searches
through the text search indexes, and an OR of alternatives that each have an index as a union of lookups.

A quick search is an OR over several columns (EspoCRM's `textFilter`: name, last name, email; App CRM's `q`: ten
of them, the phone numbers among them). Neither database looks an OR up through several indexes
when an alternative sits in another table, and SQLite does not for a LIKE at all: either would read every
row. United, each alternative is one indexed lookup, and the ids they give are the live rows matching: a
count reads them without the table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from sqlalchemy import Select, false, literal_column, select, union, union_all
from sqlalchemy.sql.elements import ColumnElement

from polycrm.query.tree import And, Compare, Node, Op, Or
from polycrm.store.text_search import (PHONE_COLUMN, PHONE_TABLE, TRIGRAM, match_expression, matching_rowids,
                                       phone_numbers_searched, text_search_columns, text_table_name)

if TYPE_CHECKING:
    from polycrm.store.compiler import Bindings, FilterCompiler

# Text matches a text search index can serve.
INDEX_SEARCHED = (Op.CONTAINS, Op.STARTS_WITH)


class TextLookups:
    """The text search part of `FilterCompiler` (set up by `_set_up_text_lookups`)."""

    def _set_up_text_lookups(self: FilterCompiler, live: bool, text_drives: bool) -> None:
        entity, dialect = self.entity, self.database.dialect
        self._live = live
        self._text_drives = text_drives
        self._full_text = dialect == "sqlite"  # an FTS5 table to MATCH; PostgreSQL's trigram indexes serve LIKE
        self._text_columns = frozenset(text_search_columns(entity)) if live else frozenset()
        self._phone_text = live and phone_numbers_searched(self.database.registry)

    # --- which conditions an index finds ------------------------------------------------------------

    def _text_searched(self: FilterCompiler, node: Node) -> bool:
        """Whether the entity's text search index finds what `node` matches: a contains or starts-with, of a
        text long enough, on one of its columns."""
        if not _findable(node):
            return False
        attribute = self.entity.attributes.get(node.attribute)  # type: ignore[union-attr]
        return attribute is not None and attribute.column in self._text_columns

    def _phone_searched(self: FilterCompiler, node: Node) -> bool:
        field = self.entity.fields.get(node.attribute) if isinstance(node, Compare) else None
        return self._phone_text and _findable(node) and field is not None and field.type == "phone"

    def text_searched_in(self: FilterCompiler, node: Node) -> bool:
        """Whether the text search index finds some of what `node` matches (and only there: SQLite)."""
        if isinstance(node, (And, Or)):
            return any(self.text_searched_in(i) for i in node.items)
        return self._full_text and self._text_searched(node)

    def _prefix_searched(self: FilterCompiler, node: Node) -> bool:
        """Whether a search index can find what `node` matches: a prefix match on a search-indexed column,
        alone or within an And."""
        if isinstance(node, And):
            return any(self._prefix_searched(i) for i in node.items)
        if not isinstance(node, Compare) or node.op not in (Op.STARTS_WITH, Op.LIKE):
            return False
        attribute = self.entity.attributes.get(node.attribute)
        return attribute is not None and attribute.column in self._search_columns

    # --- lookups ------------------------------------------------------------------------------------

    def text_matches(self: FilterCompiler, nodes: Sequence[Compare], bindings: Bindings) -> Select:
        """The ids of the live rows matching any of `nodes` (each `_text_searched`): one MATCH of the entity's
        FTS5 table (SQLite)."""
        terms = [(self.entity.attributes[n.attribute].column, n.op is Op.STARTS_WITH) for n in nodes]

        def expression(*texts: str) -> str:
            return match_expression([(col, prefix, text) for (col, prefix), text in zip(terms, texts)])

        query = bindings.bind(tuple(n.value for n in nodes), expression)
        return matching_rowids(text_table_name(self.entity.table), query)

    def phone_owners(self: FilterCompiler, field: str, op: Op, value: Any, bindings: Bindings, *,
                     live: bool) -> Select:
        """The ids of the records one of whose `field` phone numbers matches (`live`: the live ones only):
        through the phone numbers' FTS5 table on SQLite when it can find the text, else a LIKE (which
        PostgreSQL's trigram index serves)."""
        side = self.database.table(PHONE_TABLE)
        kind, named = side.c.entity_type, side.c.field
        if self._full_text and self._phone_text and op in INDEX_SEARCHED and _findable(Compare("", op, value)):
            query = bindings.bind(value, lambda text: match_expression([(PHONE_COLUMN, op is Op.STARTS_WITH, text)]))
            matched = side.c.id.in_(matching_rowids(text_table_name(PHONE_TABLE), query))
            # The matches drive (`+` keeps an index off the type): SQLite, which plans without statistics, would
            # rather read every number of the entity type and look each up among them.
            kind, named = literal_column(f"+{PHONE_TABLE}.entity_type"), literal_column(f"+{PHONE_TABLE}.field")
        else:
            matched = self._like(side.c.number, op, value, bindings)
        owners = select(side.c.entity_id)
        if live:
            owners = owners.join(self.table, self.table.c.id == side.c.entity_id).where(self.table.c.deleted == false())
        return owners.where(kind == self.entity.name, named == field, matched)

    def _looked_up(self: FilterCompiler, node: Node, bindings: Bindings) -> Select | None:
        """The live ids matching `node` through an index, or None when none finds them."""
        live = self.table.c.deleted == false()
        if self._prefix_searched(node) or self._text_searched(node) or (
                isinstance(node, Compare) and node.attribute == "id" and node.op in (Op.EQ, Op.IN)):
            return select(self.table.c.id).where(self.compile(node, bindings), live)
        if self._phone_searched(node):
            assert isinstance(node, Compare)
            return self.phone_owners(node.attribute, node.op, node.value, bindings, live=True)
        return None

    def _united_ids(self: FilterCompiler, node: Or, bindings: Bindings, *, once: bool = False) -> Select | None:
        """The live ids matching any alternative of `node`, one indexed lookup each (the alternatives SQLite's
        FTS5 table finds: one MATCH together), when every one has an index to find its rows by; None otherwise.
        `once`: each id once (a count), else as the lookups give them (a membership test needs no second
        set of the ids to drop the repeats).
        PostgreSQL looks an OR of its own table's columns up through their indexes by itself: only one with an
        alternative in another table (a phone number) is united there."""
        if not self._live:
            return None
        found: list[Compare] = []
        rest: list[Node] = []
        for item in node.items:
            (found if self._full_text and self._text_searched(item) else rest).append(item)  # type: ignore[arg-type]
        if not self._full_text and not any(self._phone_searched(i) for i in rest):
            return None
        lookups = [self.text_matches(found, bindings)] if found else []
        for item in rest:
            ids = self._looked_up(item, bindings)
            if ids is None:
                return None
            lookups.append(ids)
        return lookups[0] if len(lookups) == 1 else (union if once else union_all)(*lookups)

    def live_ids(self: FilterCompiler, node: Node, bindings: Bindings) -> Any:
        """A select of exactly the ids of the live rows matching `node` when indexes alone answer it (a text
        search, a quick search), which a count reads without the table; None otherwise."""
        if self._full_text and self._text_searched(node):
            return self.text_matches([node], bindings)  # type: ignore[list-item]
        return self._united_ids(node, bindings, once=True) if isinstance(node, Or) else None

    def _among(self: FilterCompiler, ids: Any) -> ColumnElement[bool]:
        """The row's id is one of `ids`; with `text_drives` off, written so that no index serves it (SQLite
        then reads the rows in the order's index and looks each id up among `ids`)."""
        own = self.table.c.id if self._text_drives else self.table.c.id + literal_column("0")
        return own.in_(ids)


def _findable(node: Node) -> bool:
    """A contains or starts-with of a text a trigram index can find: a value lifted as `findable`
    (store.compiler.Slot), or, in a tree not lifted, a text of a trigram or more."""
    if not isinstance(node, Compare) or node.op not in INDEX_SEARCHED:
        return False
    value = node.value
    return len(value) >= TRIGRAM if isinstance(value, str) else getattr(value, "findable", False)


__all__ = ["INDEX_SEARCHED", "TextLookups"]
