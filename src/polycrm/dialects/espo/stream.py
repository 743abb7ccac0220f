"""The activity stream on the EspoCRM wire (core/stream.py): notes in EspoCRM's Note form, and the stream's
page parameters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from polycrm.core.errors import BadRequest
from polycrm.core.search import TotalMode
from polycrm.dialects.espo.params import SearchParamsParser
from polycrm.dialects.php_query import php_intval
from polycrm.dialects.espo.render import format_datetime, render_id

REFERENCES = ("parentId", "relatedId", "createdById", "modifiedById")


def render_note(note: dict[str, Any]) -> dict[str, Any]:
    """A core note as EspoCRM shows it; `number` is its place in the order of all notes (EspoCRM's
    autoincrement), which the id is here."""
    rendered = {"id": render_id(note["id"]), "number": note["id"]}
    rendered.update((k, v) for k, v in note.items() if k != "id")
    for name in REFERENCES:
        rendered[name] = render_id(note[name])
    for name in ("createdAt", "modifiedAt"):
        rendered[name] = format_datetime(note[name])
    return rendered


@dataclass(frozen=True, slots=True)
class StreamPage:
    offset: int
    limit: int
    after: datetime | None
    total: TotalMode


def stream_page(query: dict[str, Any], *, no_total: bool) -> StreamPage:
    """`offset` and `maxSize` as in lists (default and cap 200), `after` (notes created after that time)."""
    offset, limit = SearchParamsParser.page_window(php_intval(query.get("offset", 0)), query.get("maxSize"),
                                                   strict=False)
    return StreamPage(offset, limit, _after(query.get("after")), TotalMode.NONE if no_total else TotalMode.COUNT)


def _after(value: Any) -> datetime | None:
    """A datetime in UTC (`YYYY-MM-DD HH:MM:SS`, or ISO 8601 with an offset)."""
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise BadRequest("Bad 'after' parameter.")
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment
