"""Concord's activity guests (specs/concord.md §5 "Activities": `guests`, Concord's GuestsSelect field) over the
Task's many-to-many links to the users and contacts invited (the resource file's `guests`: `guestUsers`,
`guestContacts`), so `/api/v1/Task` shows and writes the same guests (`guestUsersIds`, `guestContactsIds`).

A write names the whole set, as Concord's `saveGuests` detaches every guest, of either kind, that it does not
name. Each id must name a live record the caller may read: otherwise 422 at its position, and nothing is
written (Concord drops such ids silently). Guests the caller may not read stay, as the association arrays keep
what a caller cannot see. Records show the guests the caller may read as Concord's GuestResource objects, by
kind in the resource file's order (contacts, then users: the order Concord's UI sends them in), each by id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import invalid
from polycrm.dialects.concord.mapping import GUEST_FIELDS, ResourceField
from polycrm.dialects.concord.field_readers import Parsed
from polycrm.query.tree import Compare, Op, Sort

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi
    from polycrm.dialects.concord.view import ResourceView, ViewSource


def _readable(api: ViewSource, actor: Actor, entity: str, ids: Iterable[int], fields: Sequence[str] = ()
              ) -> dict[int, dict[str, Any]]:
    """The records among `ids` of an entity that the caller may read, by id (with `fields`)."""
    wanted = tuple(sorted(set(ids)))
    if not wanted:
        return {}
    query = SearchQuery(where=Compare("id", Op.IN, wanted), sorts=[Sort("id")], limit=len(wanted),
                        select=["id", *fields], total=TotalMode.NONE)
    return {int(row["id"]): row for row in api.core.records(entity).search_visible(actor, query).records}


class GuestSets:
    """The guests a body names (link -> ids), checked against the store before the write."""

    def __init__(self, api: ConcordApi, request: ConcordRequest, view: ResourceView, parsed: Parsed):
        self.relations = api.core.relations(view.entity.name)
        self.actor = request.user
        self.links: dict[str, list[int]] = {}
        errors: dict[str, list[str]] = {}
        for key, chosen in parsed.guests.items():
            spec = view.resource.by_key[key]
            for name, ids in chosen.items():
                link = spec.guests[name]
                found = _readable(api, self.actor, view.entity.links[link].entity or "", ids)
                for position, guest in enumerate(ids):
                    if guest not in found:
                        errors[f"{key}.{name}.{position}"] = [f"The selected {key}.{name}.{position} is invalid."]
                self.links[link] = list(dict.fromkeys(ids))
        if errors:
            raise invalid(errors)

    def within(self, conn: Connection, record_id: int | None) -> dict[str, list[int]]:
        """The link attributes to write (`guestUsersIds`, ...) in the caller's transaction: an update's keep
        the guests the caller may not read."""
        return {f"{link}Ids": ids if record_id is None else
                [*ids, *self.relations.unseen_within(conn, self.actor, record_id, link)]
                for link, ids in self.links.items()}


def guest_objects(api: ViewSource, actor: Actor, spec: ResourceField, link_entities: Mapping[str, str],
                  records: Sequence[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Record id -> its guests the caller may read, as Concord's GuestResource objects; `link_entities` is
    the entity each of the key's links leads to. One read per kind for all the records."""
    found = {link: _readable(api, actor, link_entities[link],
                             (int(i) for record in records for i in record.get(f"{link}Ids") or ()), GUEST_FIELDS)
             for link in spec.guests.values()}
    shown: dict[int, list[dict[str, Any]]] = {}
    for record in records:
        guests = shown[record["id"]] = []
        for name, link in spec.guests.items():
            for guest_id in sorted({int(i) for i in record.get(f"{link}Ids") or ()}):
                guest = found[link].get(guest_id)
                if guest is not None:
                    guests.append({"id": guest_id, "guest_email": guest.get("emailAddress"),
                                   "guest_display_name": guest.get("name"), "resource_name": name})
    return shown
