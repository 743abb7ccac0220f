"""Concord's tags (specs/concord.md §4: `tags` on contacts, companies and deals) over PolyCRM's Tag entity.

A record's `tags` key takes tag names (a list or a comma string, as Concord's Tags field reads them): a name
matches the tag of its type (contacts and companies share `contacts`, deals have `deals`) ignoring case, and
an unknown name makes a tag (display order 1000, no colour, as Concord's `Tag::findOrCreate`) in the record's
transaction. Tags show as Concord's TagResource objects, in display order. Tags are records like any other:
a caller who may not read Tag sees none, and names they may not create are left out (named in a warning).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.query.tree import Compare, Op, Sort, conjunction, disjunction

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi
    from polycrm.dialects.concord.view import ViewSource

TAG_ENTITY = "Tag"
NEW_TAG_ORDER = 1000  # Concord's findOrCreateFromString
MAX_TAGS = 100  # tags in one request
MAX_CHOICES = 1000  # tags a filter rule lists
_SHOWN = ["id", "name", "swatchColor", "displayOrder", "type"]


def tag_resource(tag: dict[str, Any]) -> dict[str, Any]:
    """A tag as Concord's TagResource shows it."""
    return {"id": tag["id"], "name": tag.get("name"), "swatch_color": tag.get("swatchColor"),
            "display_order": tag.get("displayOrder"), "type": tag.get("type")}


def tag_objects(api: ViewSource, actor: Actor, ids: Iterable[Any]) -> dict[int, dict[str, Any]]:
    """The tags among `ids` the caller may read, as TagResource objects by id."""
    wanted = tuple(sorted({int(i) for i in ids}))
    if not wanted:
        return {}
    query = SearchQuery(where=Compare("id", Op.IN, wanted), sorts=[Sort("id")], limit=len(wanted), select=_SHOWN,
                        total=TotalMode.NONE)
    found = api.core.records(TAG_ENTITY).search_visible(actor, query).records
    return {int(tag["id"]): tag_resource(tag) for tag in found}


def tag_choices(api: ViewSource, actor: Actor, tag_type: str | None) -> list[dict[str, Any]]:
    """The tags of a type the caller may read, as the `tags` filter rule lists its choices (Concord's Tags
    filter: value (the id), label (the name), colour), in display order."""
    where = Compare("type", Op.EQ, tag_type) if tag_type else Compare("type", Op.IS_NULL)
    query = SearchQuery(where=where, sorts=[Sort("displayOrder"), Sort("id")], limit=MAX_CHOICES, select=_SHOWN,
                        total=TotalMode.NONE)
    return [{"value": tag["id"], "label": tag.get("name"), "swatch_color": tag.get("swatchColor")}
            for tag in api.core.records(TAG_ENTITY).search_visible(actor, query).records]


def named_tag(api: ViewSource, actor: Actor, tag_type: str | None, name: str) -> dict[str, Any] | None:
    """The tag of a type with a name, ignoring case (as Concord's MySQL collation compares names); the
    oldest when two were made at once."""
    where = conjunction([Compare("type", Op.EQ, tag_type) if tag_type else Compare("type", Op.IS_NULL),
                         Compare("name", Op.EQUALS_TEXT, name)])
    query = SearchQuery(where=where, sorts=[Sort("id")], limit=1, select=_SHOWN, total=TotalMode.NONE)
    found = api.core.records(TAG_ENTITY).search_visible(actor, query).records
    return found[0] if found else None


def ordered(tags: dict[int, dict[str, Any]], ids: Iterable[Any] | None) -> list[dict[str, Any]]:
    """A record's tags (its tag ids) as shown: those the caller reads, in display order."""
    shown = [tags[int(i)] for i in ids or () if int(i) in tags]
    return sorted(shown, key=lambda tag: (tag["display_order"] or 0, tag["id"]))


class TagNames:
    """The tags some names ask for: the ids of those there are, the names to make, found before the write."""

    def __init__(self, api: ConcordApi, request: ConcordRequest, tag_type: str | None, names: list[str]):
        self.api = api
        self.actor = request.user
        self.tag_type = tag_type
        unique: dict[str, str] = {}
        for name in names:
            unique.setdefault(name.lower(), name)
        found: dict[str, int] = {}
        if unique:
            where = conjunction([Compare("type", Op.EQ, tag_type) if tag_type else Compare("type", Op.IS_NULL),
                                 disjunction([Compare("name", Op.EQUALS_TEXT, name) for name in unique.values()])])
            query = SearchQuery(where=where, sorts=[Sort("id")], limit=len(unique) * 10, select=["id", "name"],
                                total=TotalMode.NONE)
            for tag in api.core.records(TAG_ENTITY).search_visible(self.actor, query).records:
                found.setdefault(str(tag.get("name") or "").lower(), int(tag["id"]))
        self.ids = [found[folded] for folded in unique if folded in found]
        self.new = [name for folded, name in unique.items() if folded not in found]
        if self.new and not self.actor.can(TAG_ENTITY, "create"):
            request.warnings.append(f"tags the caller may not create, left out: {', '.join(self.new)}")
            self.new = []

    def within(self, conn: Connection) -> list[int]:
        """Every id asked for, making the new tags in the caller's transaction."""
        records = self.api.core.records(TAG_ENTITY)
        made = [records.create_within(conn, self.actor, {"name": name, "type": self.tag_type,
                                                         "displayOrder": NEW_TAG_ORDER})["id"] for name in self.new]
        return [*self.ids, *made]
