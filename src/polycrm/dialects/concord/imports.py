"""`/api/{resource}/import...` (Concord's ImportController): CSV imports of contacts and companies.

As Concord 1.4.1 answers them (checked against a running one): `POST .../import/upload` (multipart, the CSV in
`file`) keeps an Import with the file's headings matched to the resource's fields (`mappings`: `original`,
`detected_attribute`, `attribute`, `preview`, `skip`, `auto_detected`; a heading is matched by label, case
aside, by attribute, or by position when it contains the label) in status `mapping`; `POST .../import/{id}`
(`{"mappings": [...]}`, the author only) imports the rows: a row that fails validation is skipped and counted
(Concord writes it to a "skip file"), a row naming an existing record by e-mail address updates it
(`duplicates`), the others create records; `DELETE .../import/{id}/revert` deletes the records it created
(within 24 hours, 500 a call: `limit`), `DELETE .../import/{id}` forgets the import (204), `GET .../import`
lists the caller's imports (an administrator's: all), newest first, and `GET .../import/sample` is a CSV of
the importable columns with `total_rows` sample rows.

PolyCRM reads the file once, at upload: it must be UTF-8 (a BOM is dropped), at most MAX_KILOBYTES, with a
heading row naming each column once and at most MAX_ROWS rows (Concord's `MAX_IMPORT_ROWS`, whose excess Concord finds only when importing, answering 500);
any other file is a 422 and no Import is kept. The rows are kept in the Import's `data` until it runs and the
staged file is removed with the request (Concord keeps the file on its disk), so any instance of a cluster
can run the import. Every row is checked first, as a create or update of the resource through its API body
is (the same reader, lookups and unique rules); the rows that pass are then written through the core (ACL,
defaults, webhooks, the stream) in one transaction with the Import's counts, so a failure at that stage
(the core refusing one row) leaves nothing of the batch written, answering 422 with the row. As Concord, a
call imports one batch of BATCH_ROWS rows (`status` `in-progress`, `next_batch` and `progress` tell the
client to call again; the last batch finishes the import): a batch's transaction is short, so a large file
does not hold SQLite's one write lock for seconds while other requests wait. Concord writes row by row
without a transaction.
"""

from __future__ import annotations

import csv
import io
import secrets
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from polycrm.core.errors import NotFound, ValidationFailure
from polycrm.core.imports import IMPORT_ENTITY, claim_within, import_author, import_finder
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.core.users import with_levels
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import (BASE_HEADERS, ConcordError, answer, conflict, forbidden, invalid,
                                               invalid_field, no_content, not_found, record_not_found)
from polycrm.dialects.concord.form_fields import IMPORT, form_fields
from polycrm.dialects.concord.lookups import Lookups
from polycrm.dialects.concord.mapping import Resource
from polycrm.dialects.concord.media import FIELD, the_file
from polycrm.dialects.concord.records import path_number, resource_of
from polycrm.dialects.concord.render import concord_datetime
from polycrm.dialects.concord.users import shown_user, users_by_id
from polycrm.dialects.concord.values import core_failure
from polycrm.dialects.concord.view import ResourceView
from polycrm.dialects.concord.writes import complete_new, unique_taken
from polycrm.query.tree import Compare, Op, Sort, conjunction

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

MODEL = "Modules\\Core\\App\\Models\\Import"
MAX_ROWS = 4000  # Concord's core.import.max_rows default
MAX_KILOBYTES = 10240  # a file's size (its rows are kept in the Import until it runs)
MAX_SAMPLE_ROWS = 100
BATCH_ROWS = 500  # rows a run call imports, each batch in one transaction (Concord's 501 lines with the heading)
REVERT_LIMIT = 500  # records a revert call deletes (Concord's `limit` default)
REVERTABLE = timedelta(hours=24)  # Concord's core.import.revertable_hours
# Resources Concord imports that PolyCRM imports, with the key a row names an existing record by (Concord's
# lookupForDuplicatesUsing: then by phones for a contact, by address for a company, which PolyCRM does not).
DUPLICATE_KEYS = {"contacts": "email", "companies": "email"}
_UNIMPORTED_TYPES = frozenset({"phones", "tags"})  # values a CSV cell does not give as the API takes them
_PREVIEW_ROWS = 100  # rows the preview of a column is taken from (Concord's HeadingsMapper limit)
_MAPPING_KEYS = ("attribute", "auto_detected", "original", "skip", "detected_attribute")
_AUTHORIZATIONS = ("import", "delete", "revert", "uploadFixedSkipFile", "downloadSkipFile")


# --- routes --------------------------------------------------------------------------------------------


def index(api: ConcordApi, request: ConcordRequest) -> Response:
    resource = _importable(request)
    actor = request.user
    where: list[Any] = [Compare("resourceName", Op.EQ, resource.name)]
    if not actor.is_admin:
        where.append(Compare("createdById", Op.EQ, actor.user_id))
    query = SearchQuery(where=conjunction(where), sorts=[Sort("createdAt", "desc"), Sort("id", "desc")],
                        limit=1000, total=TotalMode.NONE)
    found = api.core.records(IMPORT_ENTITY).search(import_finder(actor), query).records
    fields = _fields(api, request, resource)
    users = users_by_id(api, actor, {r["createdById"] for r in found if r.get("createdById")})
    return answer([_shown(api, request, r, fields, users) for r in found])


def upload(api: ConcordApi, request: ConcordRequest) -> Response:
    resource = _importable(request)
    view = ResourceView.of(api, resource)
    if not request.user.can(view.entity.name, "create"):
        raise forbidden()
    upload_file = the_file(request.body)
    name = upload_file.filename.replace("\\", "/").rsplit("/", 1)[-1][:191]
    if name.rpartition(".")[2].lower() not in ("csv", "txt") or "." not in name:
        raise invalid_field(FIELD, "The file field must be a file of type: csv, txt.")
    if upload_file.size > MAX_KILOBYTES * 1024:
        raise invalid_field(FIELD, f"The file field must not be greater than {MAX_KILOBYTES} kilobytes.")
    headings, rows = _read_csv(upload_file.path.read_bytes())
    data = {"headings": headings, "rows": rows, "mappings": _detect(headings, rows, _importable_fields(api, request,
                                                                                                          resource)),
            "record_ids": [], "failures": []}
    service = api.core.records(IMPORT_ENTITY)
    created = service.create(import_author(request.user), {"fileName": name or "import.csv",
                                                           "resourceName": resource.name, "status": "mapping",
                                                           "imported": 0, "skipped": 0, "duplicates": 0,
                                                           "data": data})
    return _answer(api, request, resource, created["id"], recent=True)


def run(api: ConcordApi, request: ConcordRequest) -> Response:
    resource = _importable(request)
    record = _own_import(api, request, resource)
    if record["status"] == "finished":  # Concord answers a finished import as it is
        return _answer(api, request, resource, record["id"])
    view = ResourceView.of(api, resource)
    if not request.user.can(view.entity.name, "create"):
        raise forbidden()
    data = dict(record["data"])
    data["mappings"] = _mappings(request.body, data["headings"], _importable_fields(api, request, resource))
    api.core.records(IMPORT_ENTITY).update(import_author(request.user), record["id"], {"data": data})
    _Run(api, request, view, record["id"], data).perform()
    return _answer(api, request, resource, record["id"])


def destroy(api: ConcordApi, request: ConcordRequest) -> Response:
    resource = _importable(request)
    record = _own_import(api, request, resource)
    api.core.records(IMPORT_ENTITY).delete(import_author(request.user), record["id"])
    return no_content()


def revert(api: ConcordApi, request: ConcordRequest) -> Response:
    resource = _importable(request)
    record = _find(api, request, resource)
    if not _revertable(api, request, record):
        raise not_found()
    if record.get("createdById") != request.user.user_id:
        raise forbidden()
    limit = request.text("limit")
    count = int(limit) if limit is not None and limit.isdigit() and 0 < int(limit) <= REVERT_LIMIT else REVERT_LIMIT
    data = dict(record["data"])
    ids = _live(api, request, resource, data["record_ids"])
    chosen, kept = ids[:count], ids[count:]
    records = api.core.records(resource.entity_name)
    author = import_author(request.user)
    with api.core.transaction() as conn:
        for record_id in chosen:
            records.delete_within(conn, request.user, record_id)
        data["record_ids"] = kept
        api.core.records(IMPORT_ENTITY).update_within(conn, author, record["id"], {
            "data": data, "imported": max(0, int(record["imported"] or 0) - len(chosen))})
    records.committed()
    return _answer(api, request, resource, record["id"])


def sample(api: ConcordApi, request: ConcordRequest) -> Response:
    """The importable columns (Concord's labels) and `total_rows` rows of sample values."""
    resource = _importable(request)
    raw = request.text("total_rows")
    total = int(raw) if raw is not None and raw.isdigit() else 1
    if not 0 <= total <= MAX_SAMPLE_ROWS:
        raise invalid_field("total_rows", f"The total rows field must not be greater than {MAX_SAMPLE_ROWS}.")
    fields = _importable_fields(api, request, resource)
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow([f["label"] for f in fields])
    for _ in range(total):
        writer.writerow([f"{secrets.token_hex(6)}@example.com" if f.get("inputType") == "email" else "Sample Data"
                         for f in fields])
    headers = {**BASE_HEADERS, "Content-Disposition": "attachment; filename=sample.csv"}
    return Response(out.getvalue().encode(), media_type="text/csv; charset=UTF-8", headers=headers)


# --- the import ----------------------------------------------------------------------------------------


class _Run:
    """One import's rows checked, then written in one transaction with the Import's counts."""

    def __init__(self, api: ConcordApi, request: ConcordRequest, view: ResourceView, import_id: int,
                 data: dict[str, Any]):
        self.api, self.request, self.view, self.import_id, self.data = api, request, view, import_id, data
        self.records = api.core.records(view.entity.name)
        self.lookups = Lookups(api, request.user)
        self.duplicate_key = DUPLICATE_KEYS[view.resource.name]
        self.failures: list[dict[str, Any]] = []

    def perform(self) -> None:
        """The next batch of rows (BATCH_ROWS of them, Concord's), checked, then written in one transaction."""
        headings = self.data["headings"]
        columns = [(headings.index(m["original"]), m["attribute"]) for m in self.data["mappings"]
                   if not m["skip"] and m["attribute"]]
        start = self.data.get("position", 0)
        batch = self.data["rows"][start:start + BATCH_ROWS]
        writes = []
        for number, row in batch:
            values = {attribute: (row[index] or None) for index, attribute in columns}
            prepared = self._prepared(number, values)
            if prepared is not None:
                writes.append(prepared)
        self._write(writes, start, start + len(batch))

    def _prepared(self, number: int, values: dict[str, Any]) -> tuple[int, str | None, int | None, dict] | None:
        """(row number, duplicate key value, existing record id, canonical data), or None: the row skipped."""
        key_value = values.get(self.duplicate_key)
        existing = self._existing(key_value) if isinstance(key_value, str) else None
        parsed = self.view.reader.read(values, creating=existing is None)
        self.lookups.store_names(parsed)
        if existing is not None and not parsed.errors:
            self.view.reader.settle(parsed, existing)
        if existing is not None and not self.records.permitted(self.request.user, "edit", [existing])[0]:
            parsed.fail(self.duplicate_key, "This action is unauthorized.")
        for spec in self.view.resource.fields:
            if spec.unique and spec.key != self.duplicate_key and parsed.data.get(spec.field) and unique_taken(
                    self.api, self.view, spec.field, parsed.data[spec.field], existing and existing["id"]):
                parsed.fail(spec.key, spec.unique)
        if existing is None and not parsed.errors and key_value and self.api.directory.user_id_by_email(
                str(key_value)) is not None:
            parsed.fail(self.duplicate_key, self.view.resource.by_key[self.duplicate_key].unique or "")
        if not parsed.errors and existing is None:
            try:
                complete_new(self.api, self.request, self.view, parsed.data)
            except ConcordError as error:  # a 422 naming the field (no default record): the row's failure
                parsed.errors.update(error.body.get("errors") or {"row": [str(error)]})
        if parsed.errors:
            self.failures.append({"row": number, "errors": parsed.errors, "values": values})
            return None
        return number, (key_value.lower() if isinstance(key_value, str) else None), \
            existing["id"] if existing else None, parsed.data

    def _existing(self, value: str) -> dict[str, Any] | None:
        """The live record holding the row's duplicate key (Concord also finds trashed ones and restores them)."""
        field = self.view.resource.by_key[self.duplicate_key].field
        query = SearchQuery(where=Compare(field, Op.EQUALS_TEXT, value.strip()), sorts=[Sort("id")], limit=1,
                            total=TotalMode.NONE)
        finder = with_levels(self.request.user, self.view.entity.name, {"read": "all"})
        found = self.records.search_visible(finder, query).records if value.strip() else []
        return self.records.read_without_acl(found[0]["id"]) if found else None

    def _write(self, writes: list[tuple[int, str | None, int | None, dict]], start: int, end: int) -> None:
        actor, waived = self.request.user, self.view.resource.not_required
        # A duplicate key's record made earlier in this batch: later rows update it (an earlier batch's record
        # is committed, so `_existing` finds it).
        created: dict[str, int] = {}
        record_ids, duplicates = [], 0
        imports = self.api.core.records(IMPORT_ENTITY)
        with self.api.core.transaction() as conn:
            claimed = claim_within(imports, conn, self.import_id, start)
            if claimed is None:
                raise conflict("The import is already running or finished.")
            for number, key, existing, data in writes:
                target = existing if existing is not None else created.get(key or "")
                try:
                    if target is not None:
                        self.records.update_within(conn, actor, target, data, waived=waived)
                        duplicates += 1
                    else:
                        new_id = self.records.create_within(conn, actor, data, waived=waived)["id"]
                        record_ids.append(new_id)
                        if key:
                            created[key] = new_id
                except ValidationFailure as failure:
                    entity = self.api.core.registry.entity(self.view.entity.name)
                    errors = core_failure(self.view.resource, entity, failure)
                    raise invalid({f"rows.{number}.{k}": v for k, v in errors.items()}) from None
            stored = claimed["data"] or {}
            total_rows = len(self.data["rows"])
            finished = end >= total_rows
            all_ids = [*stored.get("record_ids", []), *record_ids]
            failures = [*stored.get("failures", []), *self.failures]
            processed = stored.get("total_batches_processed", 0) + 1
            data = {**self.data, "rows": [] if finished else self.data["rows"], "position": end,
                    "record_ids": all_ids, "failures": failures,
                    "total_batches": max(1, -(-total_rows // BATCH_ROWS)), "total_batches_processed": processed,
                    "next_batch": None if finished else processed + 1}
            values = {"status": "finished" if finished else "in-progress", "imported": len(all_ids),
                      "duplicates": (claimed["duplicates"] or 0) + duplicates, "skipped": len(failures), "data": data}
            if finished:
                values["completedAt"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            imports.update_within(conn, import_author(actor), self.import_id, values)
        self.records.committed()
        if self.failures:
            shown = "; ".join(f"row {f['row']}: " + ", ".join(f"{k}: {' '.join(v)}" for k, v in f["errors"].items())
                              for f in self.failures[:5])
            self.request.warnings.append(f"{len(self.failures)} rows skipped ({shown})")


# --- reading the file and the mappings -----------------------------------------------------------------


def _read_csv(raw: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The heading row and the non-empty rows (with their line number in the file, the headings' being 1),
    each as long as the headings; 422 for a file that is not UTF-8 CSV with headings within MAX_ROWS."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise invalid_field(FIELD, "The file must be a UTF-8 encoded CSV file.") from None
    if "\x00" in text:
        raise invalid_field(FIELD, "The file must be a UTF-8 encoded CSV file.")
    try:
        lines = [(number, row) for number, row in enumerate(csv.reader(io.StringIO(text, newline=""), strict=True), 1)]
    except csv.Error:
        raise invalid_field(FIELD, "The file is not a valid CSV file.") from None
    if not lines:
        raise invalid_field(FIELD, "The file has no heading row.")
    headings = [h.strip() for h in lines[0][1]]
    if not any(headings) or any(not h for h in headings):
        raise invalid_field(FIELD, "The file's heading row must name every column.")
    if len(set(headings)) != len(headings):
        raise invalid_field(FIELD, "The file's heading row must not name a column twice.")
    rows = [(n, (row + [""] * len(headings))[:len(headings)]) for n, row in lines[1:] if any(c.strip() for c in row)]
    if len(rows) > MAX_ROWS:
        raise invalid_field(FIELD, f"The file has more than {MAX_ROWS} rows.")
    if not rows:
        raise invalid_field(FIELD, "The file has no rows to import.")
    return headings, rows


def _detect(headings: list[str], rows: list[tuple[int, list[str]]], fields: list[dict[str, Any]]
            ) -> list[dict[str, Any]]:
    """Concord's HeadingsMapper: each heading's field, if any (never one field for two headings)."""
    mapped: set[str] = set()
    mappings = []
    for index, heading in enumerate(headings):
        field = next((f for position, f in enumerate(fields) if f["attribute"] not in mapped and (
            f["label"].lower() == heading.lower() or f["attribute"] == heading
            or (position == index and f["label"] in heading))), None)
        attribute = field["attribute"] if field else None
        if attribute:
            mapped.add(attribute)
        preview = [row[index] for _, row in rows[:_PREVIEW_ROWS] if row[index]][:3]
        mappings.append({"original": heading, "detected_attribute": attribute, "attribute": attribute,
                         "preview": ", ".join(preview), "skip": not attribute, "auto_detected": bool(attribute)})
    return mappings


def _mappings(body: Any, headings: list[str], fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The body's `mappings`, checked with Concord's rules (and against the file's headings and the
    importable fields); the kept mapping of each heading."""
    if not isinstance(body, dict) or not body.get("mappings") or not isinstance(body["mappings"], list):
        raise invalid_field("mappings", "The mappings field is required." if not isinstance(body, dict)
                            or not body.get("mappings") else "The mappings field must be an array.")
    errors: dict[str, list[str]] = {}
    attributes = {f["attribute"] for f in fields}
    seen: dict[str, int] = {}
    by_heading: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(body["mappings"][:len(headings) + 1]):
        item = item if isinstance(item, dict) else {}
        key = f"mappings.{i}"

        def fail(name: str, message: str) -> None:
            errors.setdefault(f"{key}.{name}", []).append(message.replace(":key", f"{key}.{name}"))

        original, attribute = item.get("original"), item.get("attribute")
        # In the order of Concord's rules: attribute, auto_detected, original, skip, detected_attribute.
        if attribute is not None and not isinstance(attribute, str):
            fail("attribute", "The :key field must be a string.")
        elif attribute is not None and attribute not in attributes:
            fail("attribute", "The selected :key is invalid.")
        elif attribute is not None and attribute in seen:
            errors.setdefault(f"mappings.{seen[attribute]}.attribute", []).append(
                f"The mappings.{seen[attribute]}.attribute field has a duplicate value.")
            fail("attribute", "The :key field has a duplicate value.")
        if isinstance(attribute, str):
            seen.setdefault(attribute, i)
        _flag(item.get("auto_detected"), "auto_detected", fail)
        if original is None or original == "":
            fail("original", "The :key field is required.")
        elif not isinstance(original, str):
            fail("original", "The :key field must be a string.")
        elif original not in headings:
            fail("original", "The selected :key is invalid.")
        _flag(item.get("skip"), "skip", fail)
        if "detected_attribute" not in item:
            fail("detected_attribute", "The :key field must be present.")
        if isinstance(original, str):
            by_heading[original] = {k: item.get(k) for k in _MAPPING_KEYS} | {"preview": item.get("preview", "")}
    if len(body["mappings"]) > len(headings):
        errors.setdefault("mappings", []).append(f"The mappings field must not have more than {len(headings)} items.")
    if errors:
        raise invalid(errors)
    return [{**by_heading[h], "skip": by_heading[h]["skip"] in (True, 1, "1"),
                             "auto_detected": by_heading[h]["auto_detected"] in (True, 1, "1")} if h in by_heading else {
        "original": h, "detected_attribute": None, "attribute": None, "preview": "", "skip": True,
        "auto_detected": False} for h in headings]


def _flag(value: Any, name: str, fail: Any) -> None:
    """Laravel's `required|boolean`: true, false, 0, 1, "0" or "1"."""
    if value is None or value == "":
        fail(name, "The :key field is required.")
    elif value not in (True, False, 0, 1, "0", "1"):
        fail(name, "The :key field must be true or false.")


# --- the Import record ---------------------------------------------------------------------------------


def _importable(request: ConcordRequest) -> Resource:
    resource = resource_of(request)
    if resource.name not in DUPLICATE_KEYS:
        raise not_found()
    return resource


def _find(api: ConcordApi, request: ConcordRequest, resource: Resource) -> dict[str, Any]:
    import_id = path_number(request.record_id, MODEL)
    try:
        record = api.core.records(IMPORT_ENTITY).read(import_finder(request.user), import_id)
    except NotFound:
        raise record_not_found(MODEL, request.record_id) from None
    if record["resourceName"] != resource.name:
        raise record_not_found(MODEL, request.record_id)
    return record


def _own_import(api: ConcordApi, request: ConcordRequest, resource: Resource) -> dict[str, Any]:
    record = _find(api, request, resource)
    if record.get("createdById") != request.user.user_id:
        raise forbidden()
    return record


def _live(api: ConcordApi, request: ConcordRequest, resource: Resource, ids: list[int]) -> list[int]:
    """The records among `ids` that still exist (not deleted since the import), whoever reads them."""
    if not ids:
        return []
    query = SearchQuery(where=Compare("id", Op.IN, tuple(ids)), sorts=[Sort("id")], limit=len(ids), select=["id"],
                        total=TotalMode.NONE)
    finder = with_levels(request.user, resource.entity_name, {"read": "all"})
    return [r["id"] for r in api.core.records(resource.entity_name).search_visible(finder, query).records]


def _revertable(api: ConcordApi, request: ConcordRequest, record: dict[str, Any]) -> bool:
    completed = record.get("completedAt")
    if record["status"] != "finished" or not completed:
        return False
    if isinstance(completed, str):
        completed = datetime.fromisoformat(completed.replace("Z", "+00:00"))
    if completed.tzinfo is None:
        completed = completed.replace(tzinfo=timezone.utc)
    if datetime.now(timezone.utc) - completed > REVERTABLE:
        return False
    resource = api.mapping.resources[record["resourceName"]]
    return bool(_live(api, request, resource, record["data"].get("record_ids") or []))


def _importable_fields(api: ConcordApi, request: ConcordRequest, resource: Resource) -> list[dict[str, Any]]:
    """The create form's fields a CSV cell fills (Concord's fieldsForImport less phones and tags)."""
    wanted = {spec.key for spec in resource.fields if spec.type not in _UNIMPORTED_TYPES}
    return [f for f in _fields(api, request, resource) if f["attribute"] in wanted]


def _fields(api: ConcordApi, request: ConcordRequest, resource: Resource) -> list[dict[str, Any]]:
    return form_fields(api, request.user, resource.name, IMPORT)


def _answer(api: ConcordApi, request: ConcordRequest, resource: Resource, import_id: int, *,
            recent: bool = False) -> Response:
    record = api.core.records(IMPORT_ENTITY).read(import_finder(request.user), import_id)
    users = users_by_id(api, request.user, [record["createdById"]] if record.get("createdById") else [])
    shown = _shown(api, request, record, _fields(api, request, resource), users)
    shown["was_recently_created"] = recent
    return answer(shown)


def _progress(data: dict[str, Any]) -> int:
    """Concord's: the share of the file's batches imported, in percent."""
    total = data.get("total_batches") or 0
    return int(data.get("total_batches_processed", 0) * 100 / total) if total else 0


def _shown(api: ConcordApi, request: ConcordRequest, record: dict[str, Any], fields: list[dict[str, Any]],
           users: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Concord's ImportResource."""
    author = record.get("createdById")
    mine = author == request.user.user_id
    user = users.get(author) if author else None
    finished = record["status"] == "finished"
    data = record.get("data") or {}
    return {
        "id": record["id"], "file_name": record["fileName"], "skip_file_filename": None,
        "mappings": data.get("mappings", []), "resource_name": record["resourceName"],
        "status": record["status"], "imported": record["imported"] or 0, "skipped": record["skipped"] or 0,
        "duplicates": record["duplicates"] or 0, "progress": 100 if finished else _progress(data), "fields": fields,
        "user_id": author, "user": shown_user(api, request.user, user) if user else None,
        "next_batch": None if finished else data.get("next_batch"),
        "completed_at": concord_datetime(record.get("completedAt")),
        "revertable": _revertable(api, request, record), "created_at": concord_datetime(record.get("createdAt")),
        "updated_at": concord_datetime(record.get("modifiedAt")),
        "authorizations": {name: mine for name in _AUTHORIZATIONS}, "was_recently_created": False,
    }
