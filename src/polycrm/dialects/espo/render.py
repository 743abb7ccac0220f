"""Records in EspoCRM's wire form: ids as opaque strings, `YYYY-MM-DD HH:MM:SS` UTC datetimes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable

from polycrm.meta import Entity, ValueKind

def format_datetime(value: datetime | None) -> str | None:
    """`YYYY-MM-DD HH:MM:SS` (isoformat with a space is several times faster than strftime)."""
    return None if value is None else value.isoformat(" ", "seconds")


def format_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def render_id(value: Any) -> str | None:
    """The EspoCRM form of a canonical id (decimal string; reversible through `core.values.parse_id`)."""
    return None if value is None else str(value)


def _id_list(value: Any) -> list[str]:
    return [str(i) for i in value or []]


def _name_map(value: Any) -> dict[str, Any]:
    return {str(k): v for k, v in (value or {}).items()}


def _column_map(value: Any) -> dict[str, Any]:
    return {str(k): dict(v) for k, v in (value or {}).items()}


_CONVERTERS: dict[ValueKind, Callable[[Any], Any]] = {
    ValueKind.ID: render_id,
    ValueKind.DATETIME: format_datetime,
    ValueKind.DATE: format_date,
    ValueKind.ID_LIST: _id_list,
    ValueKind.NAME_MAP: _name_map,
    ValueKind.COLUMN_MAP: _column_map,
}


class RecordRenderer:
    """Converts core records of one entity; the per-attribute converter table is built once."""

    def __init__(self, entity: Entity):
        self._converters = [(name, _CONVERTERS[a.kind]) for name, a in entity.attributes.items()
                            if a.kind in _CONVERTERS]

    def render(self, record: dict[str, Any]) -> dict[str, Any]:
        # Only the few attributes that need converting are visited, not every key of the record.
        rendered = dict(record)
        for name, convert in self._converters:
            if name in rendered:
                rendered[name] = convert(rendered[name])
        return rendered

    def render_many(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.render(r) for r in records]
