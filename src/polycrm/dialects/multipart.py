"""Streaming `multipart/form-data` parsing with hard limits, for dialects that take file uploads.

Unlike a generic form parser, this one enforces the limits while the body streams in: files go straight to
files in a staging directory (never whole into memory), a file over its size limit or one file too many
stops parsing at once, and the body as a whole is bounded. Text fields are small and kept in memory.
The caller owns the staged files: it attaches them or calls `FormContent.discard`.
"""

from __future__ import annotations

import codecs
import os
import tempfile
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path
from typing import IO

import anyio
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from polycrm.core.values import parse_non_negative
from polycrm.dialects.http import BodyTooLarge

MAX_FIELDS = 1000
MAX_FIELD_BYTES = 1024 * 1024


class MalformedForm(ValueError):
    """The body is not valid multipart/form-data (or a part lacks its name)."""


class FileTooLarge(ValueError):
    """One uploaded file exceeds the per-file limit; `field` is its form field name."""

    def __init__(self, field: str, limit: int):
        super().__init__(f"File '{field}' exceeds the maximum size of {limit // (1024 * 1024)} MB")
        self.field = field


class TooManyFiles(ValueError):
    """More files than allowed in one request."""


@dataclass(slots=True)
class Upload:
    """One uploaded file, written to the staging directory."""

    field: str
    filename: str
    content_type: str
    size: int
    path: Path


@dataclass(slots=True)
class FormContent:
    fields: list[tuple[str, str]] = dataclass_field(default_factory=list)
    uploads: list[Upload] = dataclass_field(default_factory=list)

    def nul_location(self) -> str | None:
        """The name of the first field or file part whose name, value, file name or content type holds a
        NUL character (shown as `\\0` in the name itself), or None: see `http.body_nul_location`."""
        for name, value in self.fields:
            if "\x00" in name or "\x00" in value:
                return name.replace("\x00", "\\0")
        for upload in self.uploads:
            if "\x00" in upload.field or "\x00" in upload.filename or "\x00" in upload.content_type:
                return upload.field.replace("\x00", "\\0")
        return None

    def discard(self) -> None:
        """Remove staged files that were not attached (attaching moves them away)."""
        for upload in self.uploads:
            upload.path.unlink(missing_ok=True)


@dataclass(slots=True)
class _Part:
    headers: list[tuple[bytes, bytes]] = dataclass_field(default_factory=list)
    name: str = ""
    data: bytearray = dataclass_field(default_factory=bytearray)
    upload: Upload | None = None
    handle: IO[bytes] | None = None


class _StreamingForm:
    """python-multipart callbacks collecting fields and streaming files to the staging directory."""

    def __init__(self, staging_dir: Path, charset: str, *, max_files: int, max_file_bytes: int):
        self.staging_dir = staging_dir
        self.charset = charset
        self.max_files = max_files
        self.max_file_bytes = max_file_bytes
        self.content = FormContent()
        self.part = _Part()
        self.pending: list[tuple[_Part, bytes]] = []  # file data to write after the parser returns
        self.finished: list[_Part] = []
        self._header_name = b""
        self._header_value = b""

    def _decode(self, raw: bytes) -> str:
        try:
            return raw.decode(self.charset)
        except UnicodeDecodeError:
            return raw.decode("latin-1")

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers.append((self._header_name.lower(), self._header_value))
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        headers = dict(self.part.headers)
        _, options = parse_options_header(headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise MalformedForm('Every form part needs a Content-Disposition "name".')
        self.part.name = self._decode(options[b"name"])
        if b"filename" not in options:
            if len(self.content.fields) >= MAX_FIELDS:
                raise MalformedForm(f"At most {MAX_FIELDS} form fields are allowed.")
            return
        if len(self.content.uploads) >= self.max_files:
            raise TooManyFiles(f"At most {self.max_files} files may be uploaded per request")
        descriptor, path = tempfile.mkstemp(dir=self.staging_dir, prefix="upload-")
        content_type = self._decode(headers.get(b"content-type", b"application/octet-stream"))
        self.part.upload = Upload(self.part.name, self._decode(options[b"filename"]), content_type, 0, Path(path))
        self.part.handle = os.fdopen(descriptor, "wb")
        self.content.uploads.append(self.part.upload)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        upload = self.part.upload
        if upload is None:
            if len(self.part.data) + len(chunk) > MAX_FIELD_BYTES:
                raise MalformedForm(f"Form field '{self.part.name}' is larger than {MAX_FIELD_BYTES} bytes.")
            self.part.data.extend(chunk)
            return
        upload.size += len(chunk)
        if upload.size > self.max_file_bytes:
            raise FileTooLarge(upload.field, self.max_file_bytes)
        self.pending.append((self.part, chunk))

    def on_part_end(self) -> None:
        if self.part.upload is None:
            self.content.fields.append((self.part.name, self._decode(bytes(self.part.data))))
        else:
            self.finished.append(self.part)

    def callbacks(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in (
            "on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_headers_finished",
            "on_part_data", "on_part_end")}

    def flush(self) -> None:
        """Write collected file data and close finished files (run in a worker thread: disk I/O)."""
        for part, chunk in self.pending:
            assert part.handle is not None
            part.handle.write(chunk)
        for part in self.finished:
            assert part.handle is not None
            part.handle.close()
        self.pending.clear()
        self.finished.clear()

    def close_all(self) -> None:
        for upload_part in [self.part, *self.finished]:
            if upload_part.handle is not None and not upload_part.handle.closed:
                upload_part.handle.close()


async def parse_multipart(request: Request, staging_dir: Path, *, max_files: int, max_file_bytes: int,
                          max_body_bytes: int) -> FormContent:
    """Parse a multipart body within the limits; on any failure the staged files are removed and the error
    (MalformedForm, FileTooLarge, TooManyFiles, BodyTooLarge) propagates."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise MalformedForm("multipart/form-data needs a boundary.")
    declared = request.headers.get("content-length")
    declared_size = parse_non_negative(declared) if declared is not None else None
    if declared_size is not None and declared_size > max_body_bytes:
        raise BodyTooLarge()
    charset = params.get(b"charset", b"utf-8").decode("latin-1")
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "latin-1"
    form = _StreamingForm(staging_dir, charset, max_files=max_files, max_file_bytes=max_file_bytes)
    parser = MultipartParser(boundary, form.callbacks())  # type: ignore[arg-type]
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_body_bytes:
                raise BodyTooLarge()
            parser.write(chunk)
            if form.pending or form.finished:
                await anyio.to_thread.run_sync(form.flush)
        parser.finalize()
        await anyio.to_thread.run_sync(form.flush)
        if form.part.handle is not None and not form.part.handle.closed:
            raise MalformedForm("The multipart body ended inside a part.")
    except BaseException as exc:
        form.close_all()
        form.content.discard()
        if isinstance(exc, (FormParserError, ValueError)) and not isinstance(exc, (MalformedForm, FileTooLarge,
                                                                                   TooManyFiles)):
            raise MalformedForm("The body is not valid multipart/form-data.") from exc
        raise
    return form.content
