"""Canonical records as Concord CRM's JSON resources (specs/concord.md §4, §9 "§4 Record JSON").

Key order is Concord's: `id` (then the keys the resource's `afterId` names), `display_name`, `path`, the
timestamps, `authorizations`,
`was_recently_created`, the fields in the resource's order with the association counts among them (where the
resource's `countsAfter` says), the custom fields (`cf_*`), then, on single records, the nested associations,
`actions` and `associations_count`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable, Mapping

from polycrm.dialects.concord.custom_types import CustomField, custom_fields
from polycrm.dialects.concord.mapping import CREATED, DAY_TYPES, UPDATED, ConcordMapping, Resource
from polycrm.dialects.concord.purify import purify
from polycrm.dialects.concord.tags import ordered
from polycrm.meta import Entity

# The authorizations Concord shows on contacts, companies and deals, and the ACL action behind each.
AUTHORIZATIONS = (("viewAny", "read"), ("view", "read"), ("create", "create"), ("update", "edit"),
                  ("delete", "delete"), ("bulkDelete", "delete"), ("export", "read"))


def concord_datetime(value: Any) -> str | None:
    """Laravel's serialised datetime: `2024-05-01T10:00:00.000000Z` (UTC; MySQL keeps whole seconds)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%dT00:00:00.000000Z")
    return str(value)


def _value(kind: str, value: Any, phone_types: Mapping[str, str], values: Mapping[str, str] | None) -> Any:
    if kind == "active":  # active while not archived
        return value is None
    if kind == "flag":
        return value is not None and value == (values or {}).get("true")
    if value is None:
        return None
    if kind == "datetimeOptional":  # Concord's activity dates: a day as written, a moment as Laravel's JSON
        return concord_datetime(value) if isinstance(value, datetime) else \
            value.isoformat() if isinstance(value, date) else str(value)
    if kind in ("date", "datetime"):
        return concord_datetime(value)
    if kind in ("decimal", "numeric"):  # PHP's json_encode writes a whole float without its fraction: 100
        number = float(value)
        return int(number) if number.is_integer() else number
    if kind == "enum" and values:
        return next((shown for shown, canonical in values.items() if canonical == value), value)
    if kind == "phones":
        return [{"id": position, "number": item["phoneNumber"], "type": phone_types.get(item.get("type") or "", "other")}
                for position, item in enumerate(value, start=1)]
    return value


def _option_id(field: CustomField, value: Any) -> int | None:
    """A Select or Radio value: its option's id (None for a value no option has now)."""
    return next((option.id for option in field.options if option.name == value), None)


def _option_objects(field: CustomField, value: Any) -> list[dict[str, Any]]:
    """A MultiSelect or Checkbox value as Concord 1.5.1 resolves it: its options, in their order."""
    chosen = set(value or ())
    return [option.shown() for option in field.options if option.name in chosen]


# Custom field values by how they render (custom_types.ConcordType.value); others show as stored. Dates are
# MySQL's text, as Concord shows a custom column it does not cast.
CUSTOM_RENDERERS: dict[str, Callable[[CustomField, Any], Any]] = {
    "date": lambda _, value: value.isoformat() if isinstance(value, date) else value,
    "datetime": lambda _, value: value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value,
    "numeric": lambda _, value: float(value) if isinstance(value, (int, float)) else value,
    "option": _option_id,
    "options": _option_objects,
}


def render_custom(field: CustomField, value: Any) -> Any:
    renderer = CUSTOM_RENDERERS.get(field.type.value)
    if renderer is None or (value is None and field.type.value != "options"):
        return value
    return renderer(field, value)


class RecordRenderer:
    """Renders one resource's records; `attributes` says what a read must fetch for it."""

    def __init__(self, mapping: ConcordMapping, resource: Resource, entity: Entity):
        self.mapping = mapping
        self.resource = resource
        self.entity = entity
        self.custom = custom_fields(entity)
        self._attributes: list[str] | None = None

    def attributes(self) -> list[str]:
        """What a read fetches to render a record (made once: a renderer lives as long as its fields)."""
        if self._attributes is None:
            self._attributes = self._wanted()
        return list(self._attributes)

    def _wanted(self) -> list[str]:
        wanted = ["id", self.resource.title, "createdAt", "modifiedAt"]
        if self.entity.owner_attribute:
            wanted.append(self.entity.owner_attribute)
        for item in self.resource.fields:
            wanted.extend([f"{item.field}Data"] if item.type == "phones" else item.attributes)
            if item.type in DAY_TYPES:
                wanted.append(f"{item.field}Date")
        wanted += [item.field for item in self.custom]
        if self.resource.shape is not None and self.resource.shape.primary is not None:
            wanted.append(self.resource.shape.primary)
        return list(dict.fromkeys(a for a in wanted if a == "id" or a in self.entity.attributes))

    def render(self, record: Mapping[str, Any], *, authorizations: Mapping[str, bool],
               counts: Mapping[str, int] | None = None, created: bool = False,
               associations: Mapping[str, list[dict[str, Any]]] | None = None,
               lookups: Mapping[str, Mapping[str, int]] | None = None,
               tags: Mapping[int, dict[str, Any]] | None = None,
               single: bool | None = None, comments: int | None = None,
               guests: Mapping[str, Mapping[int, list[dict[str, Any]]]] | None = None,
               objects: Mapping[str, Mapping[int, Any]] | None = None,
               thread: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """One record; `associations` adds the nested arrays, and on single records (by default when there are
        associations) `actions` and `associations_count`; `lookups` gives a lookup key's id by the name the
        record holds; `tags` are the tags its `tags` keys may show, by id; `comments` its `comments_count`
        (where its resource takes comments: after `id`, as Concord puts it); `guests` each guests key's
        guests by record id; `objects` each nested key's records by id (view.nested_objects: the keys left out
        are not shown); `thread` the `comments` array `with=comments` asks for."""
        single = associations is not None if single is None else single
        if self.resource.shape is not None:
            return self._model(record, authorizations, created, associations, single, lookups, tags, guests)
        resource = self.resource
        shown: dict[str, Any] = {"id": record.get("id")}
        if resource.comments:
            if thread is not None:
                shown["comments"] = thread
            shown["comments_count"] = comments or 0
        shown["display_name"] = record.get(resource.title)
        shown["path"] = resource.path(record.get("id"))
        shown[CREATED] = concord_datetime(record.get("createdAt"))
        shown[UPDATED] = concord_datetime(record.get("modifiedAt"))
        keys = resource.authorizations
        shown["authorizations"] = {key: allowed for key, allowed in authorizations.items()
                                   if keys is None or key in keys}
        shown["was_recently_created"] = created
        fields = resource.with_counts(self._fields(record, lookups, tags, guests, objects), {} if counts is None else {
            **{f"{key}_count": counts.get(key, 0) for key in resource.associations},
            **{key: counts.get(key, 0) for key in resource.link_counts}})
        if resource.after_id:  # keys Concord's resource puts first (counts it loads apart, an activity's creator)
            shown = {"id": shown.pop("id"), **{key: fields.pop(key) for key in resource.after_id if key in fields},
                     **shown}
        shown.update(fields)
        shown.update(self._custom(record))
        if associations is not None:
            shown.update(associations)
        if single:
            _single(shown, associations)
        return shown

    def _fields(self, record: Mapping[str, Any], lookups: Mapping[str, Mapping[str, int]] | None,
                tags: Mapping[int, dict[str, Any]] | None,
                guests: Mapping[str, Mapping[int, list[dict[str, Any]]]] | None,
                objects: Mapping[str, Mapping[int, Any]] | None = None) -> dict[str, Any]:
        phone_types = self.mapping.phone_types_back
        shown = {}
        for item in self.resource.fields:
            raw = record.get(f"{item.field}Data" if item.type == "phones" else item.attribute)
            if item.type in DAY_TYPES and record.get(f"{item.field}Date") is not None:
                raw = record[f"{item.field}Date"]  # all day: the day, not its (EspoCRM's next-day) moment
            if item.type == "lookup":
                shown[item.key] = (lookups or {}).get(item.key, {}).get(raw)
            elif item.type == "tags":
                shown[item.key] = ordered(tags or {}, raw)
            elif item.type == "guests":
                shown[item.key] = (guests or {}).get(item.key, {}).get(record.get("id"), [])
            elif item.html and isinstance(raw, str):
                shown[item.key] = purify(raw)
            else:
                shown[item.key] = _value(item.type, raw, phone_types, item.values)
            if item.nested is not None and objects is not None and item.nested in objects:
                shown[item.nested] = objects[item.nested].get(raw) if raw is not None else None
        return shown

    def _custom(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return {item.key: render_custom(item, record.get(item.field)) for item in self.custom}

    def _model(self, record: Mapping[str, Any], authorizations: Mapping[str, bool], created: bool,
               associations: Mapping[str, list[dict[str, Any]]] | None, single: bool,
               lookups: Mapping[str, Mapping[str, int]] | None, tags: Mapping[int, dict[str, Any]] | None,
               guests: Mapping[str, Mapping[int, list[dict[str, Any]]]] | None) -> dict[str, Any]:
        """A model's own JSON (mapping.ModelShape)."""
        shape = self.resource.shape
        assert shape is not None
        shown: dict[str, Any] = {"id": record.get("id"), **self._fields(record, lookups, tags, guests),
                                 **self._custom(record),
                                 **(associations or {})}
        if shape.primary is not None:
            shown["is_primary"] = record.get(shape.primary) is not None
        shown[CREATED] = concord_datetime(record.get("createdAt"))
        shown[UPDATED] = concord_datetime(record.get("modifiedAt"))
        if shape.authorizations:
            shown["authorizations"] = {key: authorizations.get(key, False) for key in shape.authorizations}
        shown["was_recently_created"] = created
        if single:
            _single(shown, associations)
        return shown


def _single(shown: dict[str, Any], associations: Mapping[str, list[dict[str, Any]]] | None) -> None:
    """What a single record adds: `actions` (Concord's UI actions, field metadata no API client reads: §10)
    and `associations_count`."""
    shown["actions"] = []
    shown["associations_count"] = sum(len(items) for items in (associations or {}).values())


def authored(viewer: Any, comment: Mapping[str, Any]) -> bool:
    """Whether the viewer may see, change and delete the comment: its author or an administrator."""
    return bool(viewer.is_admin or comment.get("createdById") == viewer.user_id)


def comment_json(comment: Mapping[str, Any], viewer: Any, *, created: bool = False) -> dict[str, Any]:
    """A comment as Concord's CommentResource shows it without its `creator` (a record's `comments`, which
    Concord loads without their authors; comments.py adds the author to its own answers); the body cleaned as
    Concord's CommentResource cleans it. Its author or an
    administrator may view, change and delete it (`authored`, Concord's CommentPolicy)."""
    mine = authored(viewer, comment)
    body = comment.get("body")
    return {"id": comment["id"], "body": purify(body) if isinstance(body, str) else body, "created_by": comment.get("createdById"),
            "created_at": concord_datetime(comment.get("createdAt")),
            "updated_at": concord_datetime(comment.get("modifiedAt")),
            "authorizations": {"view": mine, "update": mine, "delete": mine}, "was_recently_created": created}


def authorizations(levels: Mapping[str, bool]) -> dict[str, bool]:
    """Concord's `authorizations` from what the caller may do (ACL action -> allowed) with the record."""
    return {key: levels.get(action, False) for key, action in AUTHORIZATIONS}
