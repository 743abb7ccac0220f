"""Concord's record timeline (its TimelineController, specs/concord.md §2 "misc"): `GET
/api/{resource}/{id}/timeline` of contacts, companies and deals (the resources whose mapping has a timeline
`module`), `{"data": [...], "resources": [...]}`.

`data` holds one page (`page`, `per_page`, as Concord pages each part alone) of each part of the timeline:
- the record's changelog: the notes of its stream (core/stream.py, EspoCRM's `Note`; no second log), each
  shown as the Concord changelog entry `timeline.json` maps its type to, its properties' attribute names
  turned into the resource's keys (`assignedUserId` -> `user_id`, `assignedUserName` -> `user.name`);
- the records associated with it of each resource whose mapping has a timeline `key` (activities, calls,
  notes, documents), the ones the caller may read, as their index rows with Concord's timeline keys; `q`
  searches them (not the changelog), as in Concord.
Pinned entries (timeline_pins.py) come first, the last pinned first, as Concord orders them: each part shows
its pinned entries the caller may read on the first page, and pages the others; then entries come newest first
(their `created_at`), as Concord's UI orders them.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable, Mapping

from starlette.responses import Response

from polycrm.core.errors import Forbidden, NotFound
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.core.timeline_pins import NOTE
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import answer, not_found
from polycrm.dialects.concord.mapping import LINK_TYPES, Resource
from polycrm.dialects.concord.pages import page_number, page_size
from polycrm.dialects.concord.records import record_id, resource_of, search_condition
from polycrm.dialects.concord.render import concord_datetime
from polycrm.dialects.concord.timeline_pins import pins_of
from polycrm.dialects.concord.view import ResourceView
from polycrm.query.tree import Compare, Op, Sort, conjunction

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

CHANGELOG: dict[str, dict[str, Any]] = json.loads(
    resources.files(__package__).joinpath("timeline.json").read_text())["changelog"]
Pins = Mapping[tuple[str, int], Any]  # (entry type, entry id) -> when it was pinned (timeline_pins.pins_of)
SORT_COLUMN = "created_at"  # every entry's `timeline_sort_column`, as Concord's (its models' creation time)


def index(api: ConcordApi, request: ConcordRequest) -> Response:
    resource = resource_of(request)
    if resource.timeline is None or "module" not in resource.timeline:
        raise not_found()
    owner_id = record_id(request)
    api.core.records(resource.entity_name).read(request.user, owner_id)  # 404 naming the model, 403
    per_page, page = page_size(request), page_number(request)
    parts = _parts(api, resource)
    pins = pins_of(api, request, resource.entity_name, owner_id)
    entries = _changelog(api, request, resource, owner_id, per_page, page, pins)
    for key, target in parts:
        entries += _associated(api, request, resource, owner_id, key, target, per_page, page, pins)
    # Pinned first (the last pinned first), then newest first, as the UI shows them (Concord's server sorts
    # by the sort column's name, not its value, leaving the parts one after the other); the sorts are stable,
    # so entries of one time keep the parts' order.
    entries.sort(key=lambda entry: entry.get(SORT_COLUMN) or "", reverse=True)
    entries.sort(key=lambda entry: (entry["is_pinned"], entry["pinned_date"] or ""), reverse=True)
    shown = [{"name": target.name, "label": target.timeline["label"], "timeline_relation": target.name}
             for _, target in parts if target.timeline is not None]
    return answer({"data": entries, "resources": shown})


def _parts(api: ConcordApi, resource: Resource) -> list[tuple[str, Resource]]:
    """The association keys whose records show in the resource's timeline, by resource name (Concord's
    order: its models' class names)."""
    parts = [(key, api.mapping.resources[association.resource])
             for key, association in resource.associations.items()]
    return sorted(((key, target) for key, target in parts
                   if target.timeline is not None and "key" in target.timeline), key=lambda part: part[1].name)


def _timeline_keys(component: str, relation: str, key: str, pinned: Any = None) -> dict[str, Any]:
    return {"timeline_component": component, "timeline_relation": relation, "timeline_key": key,
            "timeline_sort_column": SORT_COLUMN, "is_pinned": pinned is not None,
            "pinned_date": concord_datetime(pinned) if pinned is not None else None}


def _pinned_ids(pins: Pins, entity_name: str) -> list[int]:
    return [entry_id for entry_type, entry_id in pins if entry_type == entity_name]


def _associated(api: ConcordApi, request: ConcordRequest, resource: Resource, owner_id: int, key: str,
                target: Resource, per_page: int, page: int, pins: Pins) -> list[dict[str, Any]]:
    """One page of the records of an association the caller may read, newest first, as timeline entries;
    the pinned ones on the first page."""
    link = resource.associations[key].link
    ids = tuple(api.core.relations(resource.entity_name).related_ids([owner_id], [link])[link].get(owner_id, []))
    if not ids:
        return []
    view = ResourceView.of(api, target)
    pinned = tuple(set(_pinned_ids(pins, target.entity_name)) & set(ids))
    rest = Compare("id", Op.NOT_IN, pinned) if pinned else None
    records = _visible(api, request, view, conjunction([Compare("id", Op.IN, ids), search_condition(request, view),
                                                        *([rest] if rest is not None else [])]),
                       (page - 1) * per_page, per_page)
    if pinned and page == 1:
        records = _visible(api, request, view, conjunction([Compare("id", Op.IN, pinned),
                                                            search_condition(request, view)]), 0, len(pinned)) + records
    assert target.timeline is not None
    component, key_name = target.timeline["component"], target.timeline["key"]
    return [_placed(row, _timeline_keys(component, target.name, key_name, pins.get((target.entity_name, row["id"]))))
            for row in view.index_rows(request.user, records)]


def _visible(api: ConcordApi, request: ConcordRequest, view: ResourceView, where: Any, offset: int,
             limit: int) -> list[dict[str, Any]]:
    query = SearchQuery(where=where, sorts=[Sort("createdAt", descending=True), Sort("id", descending=True)],
                        offset=offset, limit=limit, select=view.attributes(), total=TotalMode.NONE)
    return api.core.records(view.entity.name).search_visible(request.user, query).records


def _placed(row: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """The row with the timeline keys after its timestamps, where Concord's JsonResource puts them."""
    if "updated_at" not in row:
        return {**row, **extra}
    placed: dict[str, Any] = {}
    for name, value in row.items():
        placed[name] = value
        if name == "updated_at":
            placed.update(extra)
    return placed


# --- the changelog ------------------------------------------------------------------------------------

def _changelog(api: ConcordApi, request: ConcordRequest, resource: Resource, owner_id: int, per_page: int,
               page: int, pins: Pins) -> list[dict[str, Any]]:
    """One page of the record's stream notes (of the types `timeline.json` maps), as changelog entries; the
    pinned ones on the first page."""
    pinned = _pinned_ids(pins, NOTE)
    notes = api.core.stream.stream(request.user, resource.entity_name, owner_id, kinds=tuple(CHANGELOG),
                                   excluding=pinned, offset=(page - 1) * per_page, limit=per_page,
                                   total=TotalMode.NONE).records
    if pinned and page == 1:
        notes = _pinned_notes(api, request, resource, owner_id, pinned) + notes
    keys = _attribute_keys(ResourceView.of(api, resource))
    assert resource.timeline is not None
    module = resource.timeline["module"]
    entries = []
    for note in notes:
        spec = CHANGELOG[note["type"]]
        became, was = VALUES[spec["values"]](note.get("data") or {})
        attributes, old = _keyed(became, keys), _keyed(was, keys)
        if spec["values"] != "create" and not attributes and not old:
            continue  # only fields Concord does not show changed: Concord logs no empty change
        properties: dict[str, Any] = {"attributes": attributes}
        if spec["old"]:
            properties["old"] = old
        entries.append({"id": note["id"], "description": spec["description"],
                        "causer_name": note.get("createdByName"), "properties": properties, "module": module,
                        "created_at": concord_datetime(note.get("createdAt")),
                        "updated_at": concord_datetime(note.get("modifiedAt") or note.get("createdAt")),
                        **_timeline_keys(spec["component"], "changelog", "changelog", pins.get((NOTE, note["id"]))),
                        "was_recently_created": False})
    return entries


def _pinned_notes(api: ConcordApi, request: ConcordRequest, resource: Resource, owner_id: int,
                  pinned: list[int]) -> list[dict[str, Any]]:
    """The pinned notes of the record's changelog, as the stream shows them (a deleted one is left out)."""
    notes = []
    for note_id in pinned:
        try:
            note = api.core.stream.read(request.user, note_id)
        except (NotFound, Forbidden):
            continue
        if note.get("type") in CHANGELOG and note.get("parentType") == resource.entity_name \
                and str(note.get("parentId")) == str(owner_id):
            notes.append(note)
    return notes


def _create_values(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    became = {name: data[name] for name in ("assignedUserId", "assignedUserName") if name in data}
    if data.get("statusField"):
        became[data["statusField"]] = data.get("statusValue")
    return became, {}


def _update_values(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    values = data.get("attributes") if isinstance(data.get("attributes"), dict) else {}
    was, became = values.get("was"), values.get("became")
    return (became if isinstance(became, dict) else {}), (was if isinstance(was, dict) else {})


def _assign_values(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    # The note keeps the new user only: the old one is not known.
    return {"assignedUserId": data.get("assignedUserId"), "assignedUserName": data.get("assignedUserName")}, {}


def _status_values(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return ({data["field"]: data.get("value")} if isinstance(data.get("field"), str) else {}), {}


# What each kind of note data holds, as (values after, values before) by attribute name.
VALUES: dict[str, Callable[[Mapping[str, Any]], tuple[dict[str, Any], dict[str, Any]]]] = {
    "create": _create_values, "update": _update_values, "assign": _assign_values, "status": _status_values}


def _attribute_keys(view: ResourceView) -> dict[str, tuple[str, Callable[[Any], Any]]]:
    """Attribute name -> (the key Concord's changelog shows it under, how its value shows there): a link's
    id under its key (`user_id`, as a number) and its name under `<relation>.name`, as Concord logs both; a
    list's name (an industry, a country) under `<relation>.name`; an option under the value Concord knows."""
    keys: dict[str, tuple[str, Callable[[Any], Any]]] = {}
    for item in view.resource.fields:
        relation = item.key.removesuffix("_id")
        if item.type in LINK_TYPES:
            keys[f"{item.field}Id"] = (item.key, _number)
            keys[f"{item.field}Name"] = (f"{relation}.name", _same)
        elif item.type == "lookup":
            keys[item.field] = (f"{relation}.name", _same)
        elif item.type not in ("phones", "tags", "guests"):
            back = {canonical: concord for concord, canonical in (item.values or {}).items()}
            keys[item.field] = (item.key, (lambda value, back=back: back.get(value, value)) if back else _same)
    for custom in view.custom:
        keys.setdefault(custom.field, (custom.key, _same))
        keys.setdefault(f"{custom.field}Id", (custom.key, _number))
    return keys


def _same(value: Any) -> Any:
    return value


def _number(value: Any) -> Any:
    """A note's id (EspoCRM writes ids as text) as Concord's integer."""
    return int(value) if isinstance(value, str) and value.isdigit() else value


def _keyed(values: Mapping[str, Any], keys: Mapping[str, tuple[str, Callable[[Any], Any]]]) -> dict[str, Any]:
    """Note values by Concord key; attributes Concord does not show are left out."""
    return {keys[name][0]: keys[name][1](value) for name, value in values.items() if name in keys}
