"""Files of records as Concord's MediaResource shows them (dialects/concord/media.py serves the routes): on
single records, and in Zapier payloads, which Concord builds with the same display query."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import TYPE_CHECKING, Any

from polycrm.core.files import StoredFile
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.mapping import Resource
from polycrm.dialects.concord.render import concord_datetime

if TYPE_CHECKING:
    from polycrm.dialects.concord.view import ViewSource

AGGREGATE_TYPES: dict[str, dict[str, list[str]]] = json.loads(
    resources.files(__package__).joinpath("media.json").read_text(encoding="utf-8"))["aggregateTypes"]


def shown_media(api: ViewSource, request: ConcordRequest, record: dict[str, Any]) -> None:
    """A single record's `media`: always on a Mediable resource, on calls and notes when `with` names it."""
    resource = request.resource
    if resource is not None and resource.media is not None and (
            resource.media == "always" or "media" in (request.text("with") or "").split(";")):
        add_media(api, resource, record, request.base_url)


def add_media(api: ViewSource, resource: Resource, record: dict[str, Any], base_url: str) -> None:
    """The record's files as its `media` key, where Concord has it: after the resource's own keys, before the
    common ones from `display_name` on; their URLs on `base_url` (scheme://host)."""
    files = api.core.files.files_of(resource.entity_name, [record["id"]]).get(record["id"], [])
    shown = [media_json(base_url, resource, stored) for stored in files]
    keys = list(record)
    at = keys.index("display_name") if "display_name" in keys else len(keys)
    moved = {key: record.pop(key) for key in keys[at:]}
    record["media"] = shown
    record.update(moved)


def media_json(base_url: str, resource: Resource, stored: StoredFile, *, created: bool = False) -> dict[str, Any]:
    """A file as Concord's MediaResource shows it."""
    extension = stored.name.rpartition(".")[2].lower() if "." in stored.name else ""
    folder = re.sub(r"(?<!^)(?=[A-Z])", "-", resource.model.rpartition("\\")[2]).lower()  # Str::kebab
    base = f"/api/media/{stored.id}"
    paths = {"view": base, "preview": f"{base}/preview", "download": f"{base}/download"}
    shown: dict[str, Any] = {"id": stored.id, "file_name": stored.name, "extension": extension,
                             "size": stored.size, "disk_path": f"media/{folder}/{stored.record_id}/{stored.name}",
                             "mime_type": stored.mime_type, "aggregate_type": aggregate_type(stored.mime_type,
                                                                                             extension)}
    for kind, path in paths.items():
        shown[f"{kind}_url"] = base_url + path
        shown[f"{kind}_path"] = path
    stamp = concord_datetime(stored.created_at)
    shown.update(via_text_attribute=False, created_at=stamp, updated_at=stamp, was_recently_created=created)
    return shown


def aggregate_type(mime_type: str, extension: str) -> str:
    """laravel-mediable's inferAggregateType, not strict, unrecognised types allowed."""
    by_mime = [name for name, spec in AGGREGATE_TYPES.items() if mime_type in spec["mimeTypes"]]
    by_extension = [name for name, spec in AGGREGATE_TYPES.items() if extension in spec["extensions"]]
    both = [name for name in by_mime if name in by_extension]
    if both:
        return both[0]
    return (by_mime + by_extension + ["other"])[0]
