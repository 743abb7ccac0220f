"""The activity stream of records (EspoCRM's `Note`, specs/espocrm.md §1, §8), for the entities with a stream:
the notes written when records are created and changed (`StreamWriter`), user posts, and reading a record's
stream (`StreamService`).

Notes are EspoCRM's, so their `data` is kept in EspoCRM's form: ids as text, datetimes `YYYY-MM-DD HH:MM:SS`.
Who may read a record's stream is who may read the record (roles have no separate stream level, as for
following). Notes of related records (EspoCRM's `superParent`, `CreateRelated`, `Relate`) are not written.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable, Sequence

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor
from polycrm.core.errors import Forbidden, NotFound, ValidationFailure
from polycrm.core.search import SearchResult, TotalMode
from polycrm.core.values import NUL, parse_id
from polycrm.meta import Attribute, Entity, ValueKind
from polycrm.store.database import Database, utcnow
from polycrm.store.notes import NoteRepository
from polycrm.store.records import RecordRepository

if TYPE_CHECKING:  # the record services write notes through StreamWriter from this module
    from polycrm.core.records import RecordService

POST, CREATE, UPDATE, STATUS, ASSIGN = "Post", "Create", "Update", "Status", "Assign"
# A post's text: MySQL's TEXT, where EspoCRM keeps it.
POST_MAX_LENGTH = 65_535
# EspoCRM's styles of status values that their field does not style (Tools/Stream/Service.php).
SUCCESS_STATUSES = frozenset({"Held", "Closed Won", "Closed", "Completed", "Complete", "Sold"})
DANGER_STATUSES = frozenset({"Not Held", "Closed Lost", "Dead"})
# Link-multiple fields are audited in EspoCRM too; their changes are not written as notes here.
UNTRACKED_KINDS = (ValueKind.ID_LIST, ValueKind.NAME_MAP, ValueKind.COLUMN_MAP)
Repositories = Callable[[str], RecordRepository]


def note_value(attribute: Attribute, value: Any) -> Any:
    """An attribute's value as EspoCRM writes it into a note's data."""
    if value is None:
        return None
    if attribute.kind is ValueKind.ID:
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(" ", "seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


class StreamWriter:
    """The notes EspoCRM writes on its own (its stream hooks), in the transaction of the change: `Create` for a
    new record; for an update `Assign` (assigned user changed), `Update` (audited fields changed, with their
    values before and after) and `Status` (the status field changed to a value), in that order."""

    def __init__(self, entity: Entity, notes: NoteRepository, repositories: Repositories):
        self.entity = entity
        self.notes = notes
        self.repositories = repositories
        self.status = entity.fields.get(entity.status_field or "")
        self.assigned = "assignedUserId" in entity.attributes
        # Audited field -> its attributes (the status field has notes of its own).
        self.audited = {field.name: [a for a in entity.attributes.values() if a.field == field.name]
                        for field in entity.fields.values()
                        if field.params.get("audited") and field is not self.status
                        and not any(a.kind in UNTRACKED_KINDS for a in entity.attributes.values()
                                    if a.field == field.name)}

    def created(self, conn: Connection, actor: Actor, records: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """`Create` notes of new records, as (id, values), in one insert; a note bears its record's creation
        time, so the two never differ by a clock tick."""
        names = self._user_names(conn, [values.get("assignedUserId") for _, values in records])
        now = utcnow()
        notes = []
        for record_id, values in records:
            data: dict[str, Any] = {}
            user_id = values.get("assignedUserId")
            if user_id is not None:
                data.update(assignedUserId=str(user_id), assignedUserName=names.get(user_id))
            value = values.get(self.status.name) if self.status is not None else None
            if self.status is not None and value:
                data.update(statusValue=value, statusField=self.status.name,
                            statusStyle=self._style(value))
            notes.append(self._note(CREATE, record_id, data, actor, values.get("createdAt") or now))
        self.notes.insert_many(conn, notes)

    def updated(self, conn: Connection, actor: Actor, before: dict[str, Any], after: dict[str, Any],
                changed: dict[str, Any], into: list[dict[str, Any]] | None = None) -> None:
        """The notes of one record's update (`before` and `after` its values, `changed` what differs): written
        now, or added to `into` for the caller to write with others (`write`). The notes bear the update's
        modification time."""
        now = changed.get("modifiedAt") or utcnow()
        notes = []
        if self.assigned and "assignedUserId" in changed:
            user_id = after.get("assignedUserId")
            data: dict[str, Any] = {"assignedUserId": None}
            if user_id is not None:
                data = {"assignedUserId": str(user_id),
                        "assignedUserName": self._user_names(conn, [user_id]).get(user_id)}
            notes.append(self._note(ASSIGN, before["id"], data, actor, now))
        fields = [name for name, attributes in self.audited.items()
                  if any(a.name in changed for a in attributes if a.column is not None)]
        if fields:
            notes.append(self._note(UPDATE, before["id"], self._update_data(conn, fields, before, after), actor, now))
        if self.status is not None and self.status.name in changed and after.get(self.status.name):
            value = after[self.status.name]
            notes.append(self._note(STATUS, before["id"], {"field": self.status.name, "value": value,
                                                           "style": self._style(value)}, actor, now))
        if into is None:
            self.write(conn, notes)
        else:
            into.extend(notes)

    def write(self, conn: Connection, notes: list[dict[str, Any]]) -> None:
        if notes:
            self.notes.insert_many(conn, notes)

    def _update_data(self, conn: Connection, fields: list[str], before: dict[str, Any],
                     after: dict[str, Any]) -> dict[str, Any]:
        """EspoCRM's `Update` data: the fields, and the values of their attributes before and after (none for
        text fields); link names are looked up, as the records hold only ids."""
        was: dict[str, Any] = {}
        became: dict[str, Any] = {}
        for name in fields:
            field = self.entity.fields[name]
            if field.type in ("text", "wysiwyg"):
                continue
            for attribute in self.audited[name]:
                if attribute.column is not None:
                    was[attribute.name] = note_value(attribute, before.get(attribute.name))
                    became[attribute.name] = note_value(attribute, after.get(attribute.name))
            if field.type in ("link", "linkParent"):
                for values, into in ((before, was), (after, became)):
                    target = field.target if field.type == "link" else values.get(f"{name}Type")
                    linked = values.get(f"{name}Id")
                    into[f"{name}Name"] = (self.repositories(target).names(conn, [linked]).get(linked)
                                           if target and linked is not None else None)
        return {"fields": fields, "attributes": {"was": was, "became": became}}

    def _style(self, value: str) -> str:
        assert self.status is not None
        style = (self.status.params.get("style") or {}).get(value)
        if style:
            return style
        return "success" if value in SUCCESS_STATUSES else "danger" if value in DANGER_STATUSES else "default"

    def _user_names(self, conn: Connection, ids: Sequence[int | None]) -> dict[int, str | None]:
        return self.repositories("User").names(conn, [i for i in ids if i is not None])

    def _note(self, kind: str, record_id: int, data: dict[str, Any], actor: Actor, now: datetime) -> dict[str, Any]:
        return {"type": kind, "data": data, "parentType": self.entity.name, "parentId": record_id,
                "createdAt": now, "createdById": actor.user_id}


class StreamService:
    """Reading records' streams, and users' posts (`Note` with type `Post`) in them."""

    def __init__(self, database: Database, records: Callable[[str], RecordService]):
        self.database = database
        self.records = records
        self.notes = NoteRepository(database)

    # --- a record's stream ------------------------------------------------------------------------

    def stream(self, actor: Actor, entity_name: str, record_id: Any, *, posts_only: bool = False,
               kinds: Sequence[str] = (), after: datetime | None = None, excluding: Sequence[int] = (),
               offset: int = 0, limit: int, total: TotalMode) -> SearchResult:
        """`GET {Entity}/{id}/stream` (and `/posts`, Post notes only; `kinds`: notes of these types only;
        `excluding`: not these notes, shown apart, as Concord's pinned timeline entries): the record's notes,
        newest first. As in EspoCRM: 403 for users' streams, 404 for a record that does not exist, 403 when
        the actor may not read it or its entity has no stream."""
        types = (POST,) if posts_only else tuple(kinds)
        with self.database.connect() as conn:
            parent_id = self._streamed_record(conn, actor, entity_name, record_id)
            notes = self.notes.page(conn, entity_name, parent_id, types=types, after=after, excluding=excluding,
                                    offset=offset, limit=limit + 1)
            has_more = len(notes) > limit
            notes = notes[:limit]
            count = None
            if total is TotalMode.COUNT:
                short_page = offset == 0 and not has_more
                count = len(notes) if short_page else self.notes.count(conn, entity_name, parent_id, types=types,
                                                                        after=after, excluding=excluding)
            return SearchResult(self._complete(conn, notes, actor), count, has_more)

    def _streamed_record(self, conn: Connection, actor: Actor, entity_name: str, record_id: Any) -> int:
        if entity_name == "User":
            raise Forbidden()
        service = self.records(entity_name)
        record = service.load_record(conn, record_id, not_found="Record not found.")
        if not service.entity.stream or not service.allows(conn, actor, "read", record):
            raise Forbidden("No stream access.")
        return int(record["id"])

    # --- notes ------------------------------------------------------------------------------------

    def read(self, actor: Actor, note_id: Any) -> dict[str, Any]:
        """`GET Note/{id}`: a note of a record the actor may read (admins: any note)."""
        with self.database.connect() as conn:
            note = self._note(conn, note_id, "Record {id} does not exist.")
            if not actor.is_admin and not self._may_read_parent(conn, actor, note):
                raise Forbidden("No read access.")
            return self._complete(conn, [note], actor)[0]

    def post(self, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
        """`POST Note`: the actor posts in the stream of a record they may read."""
        kind = data.get("type", POST)
        if kind != POST:
            raise ValidationFailure("Note", "type", "valid")
        text = self._post_text(data.get("post"))
        parent_type, parent_id = data.get("parentType"), data.get("parentId")
        if parent_type is None or parent_id is None:
            raise ValidationFailure("Note", "parent", "required")
        if not isinstance(parent_type, str) or parent_type not in self.database.registry \
                or isinstance(parent_id, bool) or not isinstance(parent_id, (str, int)):
            raise ValidationFailure("Note", "parent", "valid")
        with self.database.transaction() as conn:
            record = self._streamed_record(conn, actor, parent_type, parent_id)
            note_id = self.notes.insert(conn, {"type": POST, "post": text, "data": {}, "parentType": parent_type,
                                               "parentId": record, "createdAt": utcnow(),
                                               "createdById": actor.user_id})
        return self._read_back(note_id, actor)

    def update_post(self, actor: Actor, note_id: Any, data: dict[str, Any]) -> dict[str, Any]:
        """`PUT/PATCH Note/{id}`: the author changes the text of their post (nothing else may change)."""
        with self.database.transaction() as conn:
            note = self._note(conn, note_id, "Record {id} not found.")
            if note["type"] != POST or note["createdById"] != actor.user_id \
                    or not self._may_read_parent(conn, actor, note):
                raise Forbidden("No edit access.")
            if "post" in data:
                text = self._post_text(data["post"])
                if text != note["post"]:
                    self.notes.update(conn, note["id"], {"post": text, "modifiedAt": utcnow(),
                                                         "modifiedById": actor.user_id})
        return self._read_back(note["id"], actor)

    def delete(self, actor: Actor, note_id: Any) -> None:
        """`DELETE Note/{id}`: an admin deletes any note, other users their own posts (soft delete)."""
        with self.database.transaction() as conn:
            note = self._note(conn, note_id, "Record {id} not found.")
            own_post = note["type"] == POST and note["createdById"] == actor.user_id
            if not actor.is_admin and not (own_post and self._may_read_parent(conn, actor, note)):
                raise Forbidden("No delete access.")
            self.notes.soft_delete(conn, note["id"], {"modifiedAt": utcnow(), "modifiedById": actor.user_id})

    # --- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _post_text(value: Any) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValidationFailure("Note", "post", "required")
        if not isinstance(value, str) or NUL in value:
            raise ValidationFailure("Note", "post", "valid")
        if len(value) > POST_MAX_LENGTH:
            raise ValidationFailure("Note", "post", "maxLength")
        return value

    def _note(self, conn: Connection, note_id: Any, not_found: str) -> dict[str, Any]:
        parsed = parse_id(note_id)
        note = None if parsed is None else self.notes.fetch(conn, parsed)
        if note is None:
            raise NotFound(not_found.format(id=note_id))
        return note

    def _may_read_parent(self, conn: Connection, actor: Actor, note: dict[str, Any]) -> bool:
        """Whether the actor may read the live record whose stream holds the note (EspoCRM's Note ACL)."""
        parent_type = note["parentType"]
        if parent_type not in self.database.registry:
            return False
        service = self.records(parent_type)
        try:
            record = service.load_record(conn, note["parentId"], not_found="")
        except NotFound:
            return False
        return service.allows(conn, actor, "read", record)

    def _read_back(self, note_id: int, viewer: Actor) -> dict[str, Any]:
        with self.database.connect() as conn:
            return self._complete(conn, [self._note(conn, note_id, "Record {id} does not exist.")], viewer)[0]

    def _complete(self, conn: Connection, notes: list[dict[str, Any]], viewer: Actor) -> list[dict[str, Any]]:
        """Add the names EspoCRM shows with notes (parentName, relatedName, createdByName, modifiedByName),
        and blank those, and the names in their data, of records the viewer may not read."""
        wanted: dict[str, set[int]] = {}
        for note in notes:
            for prefix in ("parent", "related"):
                if note[f"{prefix}Type"] in self.database.registry and note[f"{prefix}Id"] is not None:
                    wanted.setdefault(note[f"{prefix}Type"], set()).add(note[f"{prefix}Id"])
            wanted.setdefault("User", set()).update(i for i in (note["createdById"], note["modifiedById"]) if i)
        names = {kind: self.records(kind).repository.names(conn, ids) for kind, ids in wanted.items()}
        named = [(note, f"{prefix}Name", note[f"{prefix}Type"] or "", note[f"{prefix}Id"])
                 for note in notes for prefix in ("parent", "related")]
        named += [(note, f"{prefix}Name", "User", note[f"{prefix}Id"]) for note in notes
                  for prefix in ("createdBy", "modifiedBy")]
        for note, key, kind, record_id in named:
            note[key] = names.get(kind, {}).get(record_id)
        # The parent needs no check: whoever sees a note may read its record.
        checked = [item for item in named if item[1] != "parentName"]
        checked += [reference for note in notes for reference in self._data_references(note)]
        asked: dict[str, set[int]] = {}
        for _, _, kind, record_id in checked:
            if record_id is not None:
                asked.setdefault(kind, set()).add(record_id)
        hidden = self.records("User").access.hidden(conn, viewer, asked)
        for holder, key, kind, record_id in checked:
            if record_id in hidden.get(kind, ()):
                holder[key] = None
        return notes

    def _data_references(self, note: dict[str, Any]) -> list[tuple[dict[str, Any], str, str, int | None]]:
        """The names a note's data shows of records, as (the dict holding it, its key, entity type, id): the
        assigned user of Create and Assign notes, the linked records of an Update's `was` and `became`."""
        data = note.get("data") or {}
        holders = [data]
        attributes = data.get("attributes")
        if isinstance(attributes, dict):
            holders += [values for values in attributes.values() if isinstance(values, dict)]
        parent = self.database.registry.entities.get(note["parentType"] or "")
        references = []
        for holder in holders:
            for key in holder:
                field_name = key.removesuffix("Name")
                related = parse_id(holder.get(f"{field_name}Id"))
                if key == field_name or related is None:
                    continue
                field = parent.fields.get(field_name) if parent is not None else None
                kind = "User" if field_name == "assignedUser" else (
                    field.target if field is not None and field.type == "link" else holder.get(f"{field_name}Type"))
                if isinstance(kind, str):
                    references.append((holder, key, kind, related))
        return references
