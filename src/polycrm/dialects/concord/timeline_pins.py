"""Concord's timeline pins (its TimelinePinController): `POST /api/timeline/pin` and `/api/timeline/unpin` with
`subject_id`, `subject_type` (`contact`, `company`, `deal`: the record whose timeline it is, a resource's
timeline `subject`), `timelineable_id` and `timelineable_type` (`changelog`, or a timeline `key`: `activity`,
`call`, `document`, `note`). Pins are TimelinePin records (core/timeline_pins.py); the timeline (timeline.py)
shows them first. Answers are Concord's: 200 without a body; an unknown type 404 `{"message": ""}`.

Concord checks no permission and no record here; PolyCRM requires that the caller may read both records (404
naming the model of one that does not exist, 403 for one they may not read), and a changelog entry must be a
note of the subject's stream. Pinning twice keeps one pin (Concord adds a second row); unpinning what is not
pinned does nothing, as in Concord.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from polycrm.core.errors import NotFound
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.core.timeline_pins import NOTE, TIMELINE_PIN, pin_keeper
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import ConcordResponse, invalid, not_found, record_not_found
from polycrm.dialects.concord.field_readers import as_integer
from polycrm.dialects.concord.mapping import Resource
from polycrm.query.tree import Compare, Op, Sort, conjunction

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

CHANGELOG = "changelog"  # a changelog entry's timeline_key: a stream note
CHANGELOG_MODEL = "Modules\\Core\\App\\Models\\Changelog"
MAX_ID = 2**63 - 1
MAX_PINS = 1000  # pins shown on one record's timeline


def pin(api: ConcordApi, request: ConcordRequest) -> Response:
    subject, entry = _pinned(api, request)
    records = api.core.records(TIMELINE_PIN)
    keeper = pin_keeper(request.user)
    with api.core.transaction() as conn:
        if not _existing(api, keeper, subject, entry):
            records.create_within(conn, keeper, {"subjectType": subject[0], "subjectId": subject[1],
                                                 "timelineableType": entry[0], "timelineableId": entry[1]})
    records.committed()
    return ConcordResponse(None, 200)


def unpin(api: ConcordApi, request: ConcordRequest) -> Response:
    subject, entry = _pinned(api, request)
    records = api.core.records(TIMELINE_PIN)
    keeper = pin_keeper(request.user)
    with api.core.transaction() as conn:
        for pin_id in _existing(api, keeper, subject, entry):
            records.delete_within(conn, keeper, pin_id)
    records.committed()
    return ConcordResponse(None, 200)


def pins_of(api: ConcordApi, request: ConcordRequest, entity_name: str, record_id: int
            ) -> dict[tuple[str, int], datetime | str]:
    """The pins of a record's timeline: (entry type, entry id) -> when it was pinned (for a caller who reads
    the record: pins are shared)."""
    query = SearchQuery(where=conjunction([Compare("subjectType", Op.EQ, entity_name),
                                           Compare("subjectId", Op.EQ, record_id)]),
                        sorts=[Sort("createdAt", descending=True), Sort("id", descending=True)], limit=MAX_PINS,
                        select=["id", "timelineableType", "timelineableId", "createdAt"], total=TotalMode.NONE)
    rows = api.core.records(TIMELINE_PIN).search(pin_keeper(request.user), query).records
    pins: dict[tuple[str, int], Any] = {}
    for row in rows:
        pins.setdefault((row["timelineableType"], int(row["timelineableId"])), row["createdAt"])
    return pins


def _pinned(api: ConcordApi, request: ConcordRequest) -> tuple[tuple[str, int], tuple[str, int]]:
    """(subject entity, id) and (entry entity, id) of the body, both read by the caller: 422, 404, 403."""
    body = request.body if isinstance(request.body, dict) else {}
    errors: dict[str, list[str]] = {}
    values = {key: _read(errors, body, key, integer=key.endswith("_id"))
              for key in ("subject_id", "subject_type", "timelineable_id", "timelineable_type")}
    if errors:
        raise invalid(errors)
    subject = _subject(api, values["subject_type"])
    entry = None if values["timelineable_type"] == CHANGELOG else _entry(api, values["timelineable_type"])
    if subject is None or (entry is None and values["timelineable_type"] != CHANGELOG):
        raise not_found()  # as Concord's abort_if: a type it pins nothing of
    subject_id, entry_id = values["subject_id"], values["timelineable_id"]
    try:
        api.core.records(subject.entity_name).read(request.user, subject_id)
    except NotFound:
        raise record_not_found(subject.model, subject_id) from None
    if entry is not None:
        try:
            api.core.records(entry.entity_name).read(request.user, entry_id)
        except NotFound:
            raise record_not_found(entry.model, entry_id) from None
        return (subject.entity_name, subject_id), (entry.entity_name, entry_id)
    try:
        note = api.core.stream.read(request.user, entry_id)
    except NotFound:
        raise record_not_found(CHANGELOG_MODEL, entry_id) from None
    if note.get("parentType") != subject.entity_name or str(note.get("parentId")) != str(subject_id):
        raise record_not_found(CHANGELOG_MODEL, entry_id)  # not an entry of this record's changelog
    return (subject.entity_name, subject_id), (NOTE, entry_id)


def _read(errors: dict[str, list[str]], body: dict[str, Any], key: str, *, integer: bool) -> Any:
    """One key as the controller's rules read it (`required|int`, `required|string`)."""
    value, label = body.get(key), key.replace("_", " ")
    if value is None or (isinstance(value, str) and not value.strip()) or value in ([], {}):
        errors[key] = [f"The {label} field is required."]
        return None
    if integer:
        number = as_integer(value)
        if number is None or not 0 < number <= MAX_ID:
            errors[key] = [f"The {label} field must be an integer."]
        return number
    if not isinstance(value, str):
        errors[key] = [f"The {label} field must be a string."]
        return None
    return value.strip()


def _subject(api: ConcordApi, name: str) -> Resource | None:
    return next((resource for resource in api.mapping.resources.values()
                 if resource.timeline is not None and resource.timeline.get("subject") == name), None)


def _entry(api: ConcordApi, name: str) -> Resource | None:
    return next((resource for resource in api.mapping.resources.values()
                 if resource.timeline is not None and resource.timeline.get("key") == name), None)


def _existing(api: ConcordApi, keeper: Any, subject: tuple[str, int], entry: tuple[str, int]) -> list[int]:
    query = SearchQuery(where=conjunction([
        Compare("subjectType", Op.EQ, subject[0]), Compare("subjectId", Op.EQ, subject[1]),
        Compare("timelineableType", Op.EQ, entry[0]), Compare("timelineableId", Op.EQ, entry[1])]),
        sorts=[Sort("id")], limit=MAX_PINS, select=["id"], total=TotalMode.NONE)
    return [int(row["id"]) for row in api.core.records(TIMELINE_PIN).search(keeper, query).records]
