"""Records as clients see them: stored rows completed with their derived attributes (names of linked
records, link sets, email addresses and phone numbers, followers), in EspoCRM's attribute order, with the
names of records the reader may not read blanked (`core.access`)."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor
from polycrm.core.access import RecordAccess
from polycrm.core.errors import NotFound
from polycrm.core.follows import follower_view
from polycrm.core.values import parse_id
from polycrm.meta import FOLLOWERS, FOLLOWERS_LINK, Entity, LinkStorage
from polycrm.meta.fieldtypes import secret_attributes
from polycrm.meta.model import Link
from polycrm.store.records import ContactPoint, RecordRepository, SideData, merged_links


class RecordAssembler:
    """Completes the stored rows of one entity type into records."""

    def __init__(self, entity: Entity, repository: RecordRepository, repositories: Callable[[str], RecordRepository],
                 access: RecordAccess):
        self.entity = entity
        self.repository = repository
        self.repositories = repositories
        self.access = access
        self.belongs_to = [name for name, link in entity.links.items()
                           if link.storage is LinkStorage.COLUMN and name in entity.fields]
        self.multi_fields = [f.name for f in entity.fields.values() if f.type == "linkMultiple" and f.name in entity.links]
        # Link-multiple fields whose junction rows keep values, shown as `<field>Columns`.
        self.column_fields = frozenset(f for f in self.multi_fields if f"{f}Columns" in entity.attributes)
        self.contact_kinds = [(f.type, f.name) for f in entity.fields.values() if f.type in {"email", "phone"}]
        self._parent_fields = [f.name for f in entity.fields.values() if f.type == "linkParent"]
        self._follow_attributes = [a.name for a in entity.attributes.values() if a.field == FOLLOWERS]
        self._secrets = secret_attributes(entity)  # never shown: core.vault reveals them to who unlocks it

    def load(self, conn: Connection, record_id: Any, viewer: Actor | None,
             related: Sequence[Link] = ()) -> tuple[dict[str, Any], dict[str, list[int]]]:
        """A record with every attribute, derived ones included, and the ids of its live records related
        through `related` links (by link name), read in one statement; or NotFound."""
        parsed = parse_id(record_id)
        record, side = None, None
        if parsed is not None:
            links = merged_links([self.entity.links[f] for f in self.multi_fields]
                                 + self._follower_links(True, viewer), related)
            record, side = self.repository.fetch_with_side_data(
                conn, parsed, name_links=self.belongs_to, links=links, contact_fields=self.contact_kinds)
        if record is None or side is None:
            raise NotFound(f"Record {record_id} does not exist.")
        ids = {name: by_owner.get(record["id"], []) for name, by_owner in side.related_ids(related).items()}
        return self.complete(conn, [record], full=True, side=side, viewer=viewer)[0], ids

    def _follower_links(self, wanted: bool, viewer: Actor | None) -> list[Link]:
        """The followers relation, when a read wants follower data and has a reader to show it to."""
        return [FOLLOWERS_LINK] if wanted and viewer is not None and self.entity.stream else []

    def side_links(self, wanted: set[str] | None, viewer: Actor | None
                   ) -> tuple[list[Link], list[tuple[str, str]]]:
        """The links and contact fields whose side data `complete` shows for these wanted attributes (None:
        a full record), to be read along with the rows."""
        want = (lambda name: True) if wanted is None else wanted.__contains__
        multi, contact, followers = self._side_wanted(want, wanted is None, viewer)
        return [self.entity.links[f] for f in multi] + followers, contact

    def _side_wanted(self, want: Callable[[str], bool], full: bool, viewer: Actor | None
                     ) -> tuple[list[str], list[tuple[str, str]], list[Link]]:
        multi = [f for f in self.multi_fields
                 if full or want(f"{f}Ids") or want(f"{f}Names") or want(f"{f}Columns")]
        contact = [(kind, f) for kind, f in self.contact_kinds if full or want(f"{f}Data")]
        return multi, contact, self._follower_links(full or any(want(a) for a in self._follow_attributes), viewer)

    def complete(self, conn: Connection, records: list[dict[str, Any]], *, full: bool,
                 wanted: set[str] | None = None, side: SideData | None = None,
                 viewer: Actor | None = None) -> list[dict[str, Any]]:
        """Add derived attributes (link names, id lists, contact data, follower data for `viewer`) in EspoCRM's
        attribute order; `side` is the records' side data when it was read with them (every link set and
        contact field, and the followers when there is a viewer). With a viewer, names of records they may
        not read are blanked."""
        if not records:
            return records
        ids = [r["id"] for r in records]
        want = (lambda name: True) if wanted is None else wanted.__contains__
        for link_name in self.belongs_to:
            key = f"{link_name}Name"
            if not want(key) or key in records[0]:
                continue
            names = self.repositories(self.entity.links[link_name].entity or "").names(
                conn, [r.get(f"{link_name}Id") for r in records])
            for record in records:
                record[key] = names.get(record.get(f"{link_name}Id"))
        for field in self._parent_fields:
            if want(f"{field}Name"):
                self._parent_names(conn, field, records)
        multi, contact, followers = self._side_wanted(want, full, viewer)
        if side is None:
            side = self.repository.side_data(conn, ids, [self.entity.links[f] for f in multi] + followers, contact)
        for field in multi:
            related = side.related[field]
            for record in records:
                pairs = related.get(record["id"], [])
                record[f"{field}Ids"] = [i for i, _ in pairs]
                record[f"{field}Names"] = dict(pairs)
            if field in self.column_fields:
                columns = side.columns[field]
                for record in records:
                    record[f"{field}Columns"] = dict(columns.get(record["id"], {}))
        for kind, field in contact:
            points = side.contact_points[field]
            for record in records:
                record[f"{field}Data"] = [contact_point_data(kind, p) for p in points.get(record["id"], [])]
        if followers and viewer is not None:
            for record in records:
                record.update(follower_view(side.related[FOLLOWERS].get(record["id"], []), viewer.user_id))
        if viewer is not None:
            self.access.hide_names(conn, viewer, self.entity, records)
        # Every record of one call has the same keys: put them in definition order, unless they already are
        # (rows come in that order; derived attributes may have been appended).
        first = records[0]
        keys = [k for k in self.entity.attributes
                if k in first and (wanted is None or k in wanted) and k not in self._secrets]
        if keys == list(first):
            return records
        return [{k: record[k] for k in keys} for record in records]

    def _parent_names(self, conn: Connection, field: str, records: list[dict[str, Any]]) -> None:
        by_type: dict[str, list[int]] = {}
        for record in records:
            kind, parent_id = record.get(f"{field}Type"), record.get(f"{field}Id")
            if kind in self.access.registry and parent_id is not None:
                by_type.setdefault(kind, []).append(parent_id)
        names = {kind: self.repositories(kind).names(conn, ids) for kind, ids in by_type.items()}
        for record in records:
            record[f"{field}Name"] = names.get(record.get(f"{field}Type"), {}).get(record.get(f"{field}Id"))


def contact_point_data(kind: str, point: ContactPoint) -> dict[str, Any]:
    """An email address or phone number as an item of `emailAddressData` / `phoneNumberData`."""
    if kind == "email":
        return {"emailAddress": point.value, "lower": point.value.lower(), "primary": point.primary,
                "optOut": point.opt_out, "invalid": point.invalid}
    return {"phoneNumber": point.value, "type": point.type, "primary": point.primary, "optOut": point.opt_out,
            "invalid": point.invalid}
