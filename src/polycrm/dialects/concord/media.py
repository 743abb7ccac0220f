"""Concord's record attachments (specs/concord.md §2, Concord's MediaController and MediaResource):
`POST /api/{resource}/{id}/media` (multipart, the file in `file`) and `DELETE /api/{resource}/{id}/media/{media}`
on its Mediable resources (contacts, companies, deals, activities: their files say `"media": "always"`), and
the `media` array of their single records (of calls and notes when `with` names it).

The files are the core's (core/files.py): the same rows InflowCRM lists as a record's files, whichever
protocol attached them. An upload is checked as Concord 1.4.1's media uploader checks it: the caller must
edit the record (403), the extension must be one of Concord's allowed upload extensions (415), the file must
fit POLYCRM_MAX_UPLOAD_BYTES (413); its name is cleaned as Concord cleans it, and a name the record's files
already have gets `-1`, `-2`, ... as Concord's per-record media folder gives it.

Concord's `view_url`, `preview_url` and `download_url` are web pages anyone holding the link may open
(`/media/{uuid}`, no login). PolyCRM shows API paths instead, `/api/media/{id}` (inline), `/preview`
(inline) and `/download` (attachment), served with the caller's Bearer token to a user who may read the
record: a customer's document is not public to whoever learns a link.
"""

from __future__ import annotations

import json
import mimetypes
import re
import unicodedata
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.responses import FileResponse, Response

from polycrm.core.errors import Forbidden, NotFound
from polycrm.core.files import MissingFile, NewFile, clean_mime_type
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import (BASE_HEADERS, ConcordError, answer, forbidden, invalid_field,
                                               no_content, not_found, record_not_found)
from polycrm.dialects.concord.mapping import Resource
from polycrm.dialects.concord.records import path_number, record_id, resource_of
from polycrm.dialects.concord.media_view import media_json
from polycrm.dialects.multipart import FormContent, Upload

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

MODEL = "Modules\\Core\\App\\Models\\Media"
FIELD = "file"  # the form field Concord reads the upload from
_RULES = json.loads(resources.files(__package__).joinpath("media.json").read_text(encoding="utf-8"))
ALLOWED_EXTENSIONS: tuple[str, ...] = tuple(_RULES["allowedExtensions"])
# laravel-mediable's File::sanitizeFileName: runs of other characters become one `-`, trimmed off the ends.
_UNSAFE = re.compile(r"[^a-zA-Z0-9\-_.%]+")
# Inline content must not run as a page of the API's origin (an uploaded .svg or .html).
INLINE_HEADERS = {"Content-Security-Policy": "default-src 'none'; img-src 'self'; media-src 'self'; "
                                             "style-src 'unsafe-inline'; sandbox",
                  "X-Content-Type-Options": "nosniff"}


def store(api: ConcordApi, request: ConcordRequest) -> Response:
    """Concord's order: a Mediable resource (404), the record (404), the right to edit it (403), the file."""
    resource = _mediable(request)
    owner_id = _editable(api, request, resource)
    upload = the_file(request.body)
    extension = _extension(upload)
    if extension not in ALLOWED_EXTENSIONS:
        allowed = "`, `".join(ALLOWED_EXTENSIONS)
        raise ConcordError(415, {"message": f"Cannot upload file with extension `{extension}`. "
                                            f"Only the `{allowed}` extension(s) are permitted."}, pretty=False)
    name = f"{_clean_stem(upload.filename)}.{extension}"
    new = NewFile(None, name, upload.content_type, upload.size, upload.path)
    stored = api.core.files.add_attachments(request.user, resource.entity_name, owner_id, [new],
                                            distinct_names=True)
    return answer(media_json(request.base_url, resource, stored[0], created=True), 201)


def destroy(api: ConcordApi, request: ConcordRequest) -> Response:
    resource = _mediable(request)
    owner_id = _editable(api, request, resource)
    media_id = path_number(request.params["media"], MODEL)
    try:
        api.core.files.remove_attachment(request.user, resource.entity_name, owner_id, media_id)
    except MissingFile:
        raise record_not_found(MODEL, request.params["media"]) from None
    return no_content()


def view(api: ConcordApi, request: ConcordRequest) -> Response:
    """`GET /api/media/{id}`: the content, inline (Concord's is a page showing it)."""
    return _content(api, request, "inline")


def preview(api: ConcordApi, request: ConcordRequest) -> Response:
    return _content(api, request, "inline")


def download(api: ConcordApi, request: ConcordRequest) -> Response:
    return _content(api, request, "attachment")


def _mediable(request: ConcordRequest) -> Resource:
    resource = resource_of(request)
    if resource.media != "always":
        raise not_found()
    return resource


def _editable(api: ConcordApi, request: ConcordRequest, resource: Resource) -> int:
    """The record's id once the caller was found to edit it (404 naming its model, 403). The core checks
    again as it writes; this check comes first so that a refused caller's file is not looked at, as in
    Concord."""
    owner_id = record_id(request)
    service = api.core.records(resource.entity_name)
    record = service.read(request.user, owner_id)
    if not service.permitted(request.user, "edit", [record])[0]:
        raise forbidden()
    return owner_id


def the_file(form: Any) -> Upload:
    """The `file` part of the form; 422 when there is none (Concord answers 500: `Could not recognize
    source`)."""
    uploads = [u for u in form.uploads if u.field == FIELD] if isinstance(form, FormContent) else []
    if uploads:
        return uploads[0]
    if isinstance(form, FormContent) and any(name == FIELD for name, _ in form.fields):
        raise invalid_field(FIELD, "The file field must be a file.")
    raise invalid_field(FIELD, "The file field is required.")


def _extension(upload: Upload) -> str:
    """The client's file name's extension, lower case; without one, the usual one of the type it was sent
    as (Concord guesses it from the content)."""
    base = re.split(r"[\\/]", upload.filename)[-1]
    stem, dot, extension = base.rpartition(".")
    if dot and extension:  # PHP's pathinfo: `.txt` has the extension `txt`
        return extension.lower()
    guessed = mimetypes.guess_extension(clean_mime_type(upload.content_type)) or ""
    return guessed.lstrip(".").lower()


def _clean_stem(filename: str) -> str:
    """The file name without its extension, as Concord stores it: ASCII, unsafe runs as `-`."""
    base = re.split(r"[\\/]", filename)[-1]
    stem, dot, _ = base.rpartition(".")
    stem = stem if dot and stem else base
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    return _UNSAFE.sub("-", ascii_stem).strip("-")[:200] or "file"


def _content(api: ConcordApi, request: ConcordRequest, disposition: str) -> Response:
    raw = request.record_id
    try:
        stored, path = api.core.files.open(request.user, path_number(raw, MODEL))
    except (NotFound, Forbidden):
        raise record_not_found(MODEL, raw) from None
    headers = {**BASE_HEADERS, "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(stored.name, safe='')}",
               "X-Content-Type-Options": "nosniff"}
    if disposition == "inline":
        headers.update(INLINE_HEADERS)
    return FileResponse(path, headers=headers, media_type=stored.mime_type)
