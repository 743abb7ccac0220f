"""InflowCRM-compatible REST API (`/api/*`, specs/inflowcrm.md §4), and its deprecated `/integration/*`
aliases (§12). Routes, request parsing, rendering, the error envelope, the auth scheme and the rate-limit
policy; records are read and written through the core."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl, quote

import orjson
from limits import RateLimitItem
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from polycrm.auth.acl import Actor
from polycrm.auth.directory import UserDirectory
from polycrm.auth.schemes import CredentialVerifier
from polycrm.core.errors import NotFound, PolyError
from polycrm.core.files import NewFile
from polycrm.core.search import SearchQuery
from polycrm.core.service import Core
from polycrm.dialects.http import (BodyTooLarge, JSONResponse, bind_user, body_nul_location, client_address,
                                   log_auth_failure, read_body)
from polycrm.dialects.inflow.context import InflowRequest, Reply, grouped, paging
from polycrm.dialects.inflow.describe import describe_field, make_fields, sample_record
from polycrm.dialects.inflow.envelope import (OPERATION_RATE_LIMITED, RATE_LIMITED, SUNSET_HTTP_DATE, VALIDATION_ERROR,
                                              InflowError, Page, deprecation, error_body, from_core, invalid,
                                              invalid_fields)
from polycrm.dialects.inflow.filters import FilterParser
from polycrm.dialects.inflow.ids import FILE_KIND, TENANT_KIND, InvalidObjectId, decode_id, encode_id
from polycrm.dialects.inflow.mapping import FieldType, InflowMapping, Module, ModuleSpec
from polycrm.dialects.inflow.records import RecordData, file_item, needed_attributes, render_record
from polycrm.dialects.inflow.webhooks import InflowWebhookApi
from polycrm.dialects.multipart import (MAX_FIELDS, FileTooLarge, FormContent, MalformedForm, TooManyFiles,
                                        parse_multipart)
from polycrm.dialects.ratelimit import RateDecision, RateLimiter
from polycrm.query.tree import FALSE, Compare, Op

log = logging.getLogger("polycrm.inflow")
MAX_FILES = 10
MAX_FILE_BYTES = 15 * 1024 * 1024
STANDALONE = "standaloneAttachments"
HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
MAX_USERS = 1000  # getUserList is not paginated
USER_TYPES = {"admin": "admin", "regular": "user", "api": "api"}
Handler = Callable[[InflowRequest], "Reply | Response"]


class Body(enum.Enum):
    NONE = "none"  # the body is ignored
    JSON = "json"  # a JSON object, or nothing
    RECORD = "record"  # JSON, multipart/form-data (with files) or a urlencoded form


@dataclass(frozen=True, slots=True)
class Operation:
    handler: Handler
    body: Body = Body.NONE
    key_in_body: bool = False  # v0 validateApiKey: `{"apiKey": ...}` when the header is absent
    budget: str | None = None  # a budget of its own besides the global one (webhook management, §3)


class InflowApi:
    """The handlers and the request pipeline: rate limit, authentication, body, handler, envelope."""

    def __init__(self, core: Core, directory: UserDirectory, limiter: RateLimiter, rate: RateLimitItem, *,
                 max_body_bytes: int, mapping: InflowMapping | None = None,
                 webhooks: InflowWebhookApi | None = None, budgets: dict[str, RateLimitItem] | None = None):
        self.core = core
        self.directory = directory
        self.verifier = CredentialVerifier(directory)
        self.limiter = limiter
        self.rate = rate
        self.budgets = budgets or {}
        self.max_body_bytes = max_body_bytes
        self.mapping = mapping or InflowMapping.load()
        self.webhooks = webhooks

    # --- pipeline ---------------------------------------------------------------------------------

    def endpoint(self, operations: dict[str, Operation], replacement: str | None = None) -> Callable[..., Any]:
        """An ASGI endpoint serving `operations` by method; `replacement` marks a deprecated alias."""

        async def serve(request: Request) -> Response:
            decision: RateDecision | None = None
            form: FormContent | None = None
            try:
                decision = await run_in_threadpool(self._count, request, None)
                if not decision.allowed:
                    raise InflowError(429, "RATE_LIMIT_EXCEEDED", RATE_LIMITED)
                operation = operations.get(request.method)
                if operation is None:
                    raise InflowError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here")
                if operation.budget is not None:
                    decision = await run_in_threadpool(self._count, request, operation.budget)
                    if not decision.allowed:
                        raise InflowError(429, "RATE_LIMIT_EXCEEDED", OPERATION_RATE_LIMITED)
                body: dict[str, Any] = {}
                key_in_body = operation.key_in_body and "x-api-key" not in request.headers
                if key_in_body:
                    body = await self._json_body(request)
                actor = await run_in_threadpool(self._authenticate, request,
                                                body.get("apiKey") if key_in_body else request.headers.get("x-api-key"))
                # Bound here, in the request's own context: the threads of the later steps see it too.
                bind_user(request.scope, actor.user_name, actor.user_id)
                if operation.body is Body.JSON and not key_in_body:
                    body = await self._json_body(request)
                elif operation.body is Body.RECORD:
                    body, form = await self._record_body(request)
                context = InflowRequest(request, actor, body, form)
                response = await run_in_threadpool(self._handle, operation.handler, context, replacement)
            except InflowError as exc:
                response = JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status)
                if exc.status < 500 and exc.status != 401 and log.isEnabledFor(logging.DEBUG):
                    log.debug("request refused", extra={"status": exc.status, "code": exc.code,
                                                        "reason": exc.message, "details": exc.details})
            except Exception:  # noqa: BLE001 - last line of defence: log it, never leak internals
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                response = JSONResponse(error_body("INTERNAL_SERVER_ERROR", "Internal server error"), status_code=500)
            finally:
                if form is not None:
                    form.discard()
            if decision is not None:
                response.headers.update(decision.headers())
            if replacement is not None:
                response.headers.update({"Deprecation": "true", "Sunset": SUNSET_HTTP_DATE,
                                         "Link": f'<{replacement}>; rel="successor-version"'})
            return response

        return serve

    def _count(self, request: Request, budget: str | None) -> RateDecision:
        """One request against a budget (the global one, or an operation's) of its API key (as a keyed
        hash) and client address."""
        key = request.headers.get("x-api-key", "")
        identity = self.directory.keyring.lookup_hash(key)[:32] if key else "-"
        client = client_address(request)
        if budget is None:
            return self.limiter.hit(self.rate, "inflow", identity, client)
        return self.limiter.hit(self.budgets[budget], f"inflow-{budget}", identity, client)

    def _authenticate(self, request: Request, key: Any) -> Actor:
        login = self.verifier.api_key(key.strip()) if isinstance(key, str) and key.strip() else None
        actor = self.directory.actor(login.user_id) if login is not None else None
        if actor is None:
            # As on the EspoCRM API: no key at all is worth a debug line, a wrong one a warning.
            log_auth_failure("authentication failed", "inflow-api-key" if key else "none", None,
                             client_address(request),
                             level=logging.WARNING if key else logging.DEBUG)
            raise InflowError(401, "UNAUTHORIZED", "Invalid API key")
        return actor

    async def _json_body(self, request: Request) -> dict[str, Any]:
        raw = await self._read(request)
        if not raw.strip():
            return {}
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise InflowError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json")
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise InflowError(400, VALIDATION_ERROR, "The body is not valid JSON") from None
        if not isinstance(value, dict):
            raise InflowError(400, VALIDATION_ERROR, "The body must be a JSON object")
        _refuse_nul(body_nul_location(raw, value, json=True))
        return value

    async def _read(self, request: Request) -> bytes:
        try:
            return await read_body(request, self.max_body_bytes)
        except BodyTooLarge:
            raise InflowError(413, "PAYLOAD_TOO_LARGE", "The request body is too large") from None

    async def _record_body(self, request: Request) -> tuple[dict[str, Any], FormContent | None]:
        """createRecord / updateRecord: JSON `{module, data}`, or every field top-level in a form (§8)."""
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media == "multipart/form-data":
            try:
                form = await parse_multipart(request, self.core.files.staging_dir, max_files=MAX_FILES,
                                             max_file_bytes=MAX_FILE_BYTES,
                                             max_body_bytes=MAX_FILES * MAX_FILE_BYTES + self.max_body_bytes)
            except FileTooLarge as exc:
                raise invalid(exc.field, str(exc)) from None
            except TooManyFiles as exc:
                raise invalid("files", str(exc)) from None
            except MalformedForm as exc:
                raise InflowError(400, VALIDATION_ERROR, str(exc)) from None
            except BodyTooLarge:
                raise InflowError(413, "PAYLOAD_TOO_LARGE", "The request body is too large") from None
            location = form.nul_location()
            if location is not None:
                form.discard()  # the caller never gets this form, so it cannot discard it
                _refuse_nul(location)
            return {}, form
        if media == "application/x-www-form-urlencoded":
            raw = await self._read(request)
            try:
                fields = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
            except (UnicodeDecodeError, ValueError):
                raise InflowError(400, VALIDATION_ERROR, "The form body cannot be decoded") from None
            form = FormContent(fields=fields)
            _refuse_nul(form.nul_location())
            return {}, form
        return await self._json_body(request), None

    def _handle(self, handler: Handler, context: InflowRequest, replacement: str | None) -> Response:
        try:
            reply = handler(context)
        except InflowError:
            raise
        except PolyError as exc:
            raise from_core(exc) from None
        except Exception:  # noqa: BLE001 - last line of defence: log it, never leak internals
            log.exception("unhandled error on %s %s", context.request.method, context.request.url.path)
            raise InflowError(500, "INTERNAL_SERVER_ERROR", "Internal server error") from None
        if isinstance(reply, Response):
            return reply
        if not reply.meta:
            return JSONResponse({"data": reply.data}, status_code=reply.status, headers=reply.headers)
        meta: dict[str, Any] = {}
        if reply.page is not None:
            meta["pagination"] = reply.page.meta()
        meta["deprecation"] = deprecation(replacement) if replacement else None
        return JSONResponse({"data": reply.data, "meta": meta}, status_code=reply.status, headers=reply.headers)

    # --- modules ----------------------------------------------------------------------------------

    def _spec(self, name: Any, actor: Actor, *, in_path: bool = False) -> ModuleSpec:
        """The module a request names, if it is in the actor's bundle (modules they may read)."""
        if not isinstance(name, str) or not name.strip():
            raise invalid("module", "module is required")
        spec = self.mapping.resolve(name.strip())
        if spec is None:
            message = f"Module '{name[:64]}' not found"
            if in_path:
                raise InflowError(404, "NOT_FOUND", message)
            raise invalid("module", message)
        if not actor.can(spec.entity, "read"):
            raise InflowError(403, "FORBIDDEN", "Module not available in your bundle")
        return spec

    def _module(self, name: Any, actor: Actor, *, in_path: bool = False) -> Module:
        spec = self._spec(name, actor, in_path=in_path)
        return self.mapping.module(spec, self.core.records(spec.entity).entity)

    def _users(self) -> Module:
        return self.mapping.module(self.mapping.users, self.core.records("User").entity)

    @staticmethod
    def _record_id(module: Module, value: str) -> int:
        """The canonical id behind a path id: 400 if malformed, 404 if it is not one of this module."""
        try:
            canonical = decode_id(module.entity.name, value)
        except InvalidObjectId:
            raise invalid("id", "Invalid ObjectId format") from None
        if canonical is None:
            raise NotFound("Record not found")
        return canonical

    def _render(self, module: Module, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        files = self.core.files.files_of(module.entity.name, [r["id"] for r in records]) if records else {}
        return [render_record(module, r, files.get(r["id"], [])) for r in records]

    def _search(self, context: InflowRequest, module: Module, query: SearchQuery) -> list[dict[str, Any]]:
        result = self.core.records(module.entity.name).search(context.actor, query)
        return self._render(module, result.records)

    # --- modules and users ------------------------------------------------------------------------

    def bundle(self, context: InflowRequest) -> Reply:
        return Reply([{"moduleName": s.name, "singular": s.singular, "plural": s.plural,
                       "systemModuleName": s.name}
                      for s in self.mapping.specs if context.actor.can(s.entity, "read")])

    def user_list(self, context: InflowRequest) -> Reply:
        return Reply(self._active_users(context.actor))

    def _active_users(self, actor: Actor) -> list[dict[str, Any]]:
        """Active users as `{id, systemLabel, email}`, by name (read access to users applies)."""
        users = self._users()
        query = SearchQuery(where=Compare("isActive", Op.EQ, True), sorts=FilterParser(users).sorts({"systemLabel": 1}),
                            limit=MAX_USERS, select=needed_attributes(users) + ["userName"])
        records = self.core.records("User").search(actor, query).records
        return [{key: value for key, value in self._render_user(users, r).items()
                 if key in ("id", "systemLabel", "email")} for r in records]

    @staticmethod
    def _render_user(users: Module, record: dict[str, Any]) -> dict[str, Any]:
        """A user; `systemLabel` and `email` are always strings, as InflowCRM users always have both."""
        rendered = render_record(users, record, timestamps=False)
        rendered["systemLabel"] = rendered.get("systemLabel") or record.get("userName") or ""
        rendered["email"] = rendered.get("email") or ""
        return rendered

    def validate_key(self, context: InflowRequest) -> Reply:
        actor = context.actor
        return Reply({"valid": True, "userId": encode_id("User", actor.user_id),
                      "companyId": encode_id(TENANT_KIND, 1), "userType": USER_TYPES.get(actor.user_type, "user")})

    def user(self, context: InflowRequest) -> Reply:
        users = self._users()
        user_id = self._record_id(users, context.path("id"))
        return Reply(self._render_user(users, self._read_user(context.actor, user_id)))

    def _read_user(self, actor: Actor, user_id: int) -> dict[str, Any]:
        """Users may read themselves whatever their roles say about users (auth.acl.MANDATORY_READ)."""
        record = self.core.records("User").read(actor, user_id)
        if not record.get("isActive", True):
            raise NotFound("User not found")
        return record

    def update_user(self, context: InflowRequest) -> Reply:
        users = self._users()
        user_id = self._record_id(users, context.path("id"))
        if not context.body:
            raise invalid("body", "Send at least one field to update")
        data = RecordData(users).parse({k: [v] for k, v in context.body.items()}, form=False)
        if not data:
            raise invalid("body", "No updatable field was given")
        self._read_user(context.actor, user_id)
        record, _ = self.core.records("User").update(context.actor, user_id, data)
        return Reply(self._render_user(users, record))

    def processes(self, context: InflowRequest) -> Reply:
        spec = self._spec(context.body.get("module"), context.actor)
        if not spec.processes:
            raise invalid("module", f"Module '{spec.name}' has no processes")
        entity = self.core.records(spec.entity).entity
        return Reply([{"id": encode_id(f"Process:{spec.name}", position),
                       "systemLabel": process.label,
                       "stagesNames": [o for o in entity.fields[process.stage_field].options or [] if o]}
                      for position, process in enumerate(spec.processes, start=1)])

    def module_fields(self, context: InflowRequest) -> Reply:
        module = self._module(context.body.get("module"), context.actor)
        return Reply([describe_field(module, f, self.mapping.module_name) for f in module.fields.values()])

    def make_module_fields(self, context: InflowRequest) -> Reply:
        module = self._module(context.body.get("module"), context.actor)
        request_type = context.body.get("requestType", "createRecord")
        if not isinstance(request_type, str):
            raise invalid("requestType", "requestType must be a string such as createRecord")
        return Reply(make_fields(module, request_type, lambda: self._user_options(context.actor)), meta=False)

    def _user_options(self, actor: Actor) -> list[dict[str, str]] | None:
        if not actor.can("User", "read"):
            return None
        return [{"value": u["id"], "label": u.get("email") or u.get("systemLabel") or u["id"]}
                for u in self._active_users(actor)]

    # --- records ----------------------------------------------------------------------------------

    def create(self, context: InflowRequest) -> Reply:
        module, data, uploads = self._write_request(context)
        service = self.core.records(module.entity.name)
        try:
            if uploads:
                record = self.core.files.create_record(service, context.actor, data, uploads,
                                                       skip_duplicate_check=True)
            else:
                record = service.create(context.actor, data, skip_duplicate_check=True)
        except PolyError as exc:
            raise from_core(exc, module.api_names) from None
        return Reply(self._render(module, [record])[0], status=201)

    def update(self, context: InflowRequest) -> Reply:
        module, data, uploads = self._write_request(context)
        record_id = self._record_id(module, context.path("id"))
        service = self.core.records(module.entity.name)
        try:
            if uploads:
                record = self.core.files.update_record(service, context.actor, record_id, data, uploads)
            else:
                record, _ = service.update(context.actor, record_id, data)
        except PolyError as exc:
            raise from_core(exc, module.api_names) from None
        return Reply(self._render(module, [record])[0])

    def _write_request(self, context: InflowRequest) -> tuple[Module, dict[str, Any], list[NewFile]]:
        """(module, canonical attributes, uploads) of a create or update, JSON or form."""
        form = context.form
        if form is None:
            module = self._module(context.body.get("module"), context.actor)
            data = context.body.get("data")
            if not isinstance(data, dict):
                raise invalid("data", "data must be an object of API field names and values")
            return module, self._parser(module).parse({k: [v] for k, v in data.items()}, form=False), []
        items = grouped(form.fields)
        modules = items.pop("module", [])
        if len(modules) != 1:
            raise invalid("module", "module is required (once)")
        module = self._module(modules[0], context.actor)
        if "data" in items and "data" not in module.fields:
            raise invalid("data", "In multipart/form-data every field is top-level: do not nest fields under data")
        attributes = self._parser(module).parse(items, form=True)
        return module, attributes, self._uploads(module, form)

    def _parser(self, module: Module) -> RecordData:
        stages = [p.stage_field for p in module.spec.processes]
        return RecordData(module, stages)

    @staticmethod
    def _uploads(module: Module, form: FormContent) -> list[NewFile]:
        """Files under file-field API names (one each) or the reserved `standaloneAttachments` key."""
        errors: dict[str, list[str]] = {}
        uploads, seen = [], set()
        for upload in form.uploads:
            key = upload.field
            api_field = module.fields.get(key) if key != STANDALONE else None
            if key != STANDALONE and (api_field is None or api_field.type is not FieldType.FILE):
                errors[key] = [f"'{key}' is not a file field of {module.name}"]
                continue
            if api_field is not None and api_field.read_only:
                errors[key] = [f"{key} is read-only"]
                continue
            if key != STANDALONE and key in seen:
                errors[key] = [f"Only one file may be sent for '{key}'"]
                continue
            seen.add(key)
            uploads.append(NewFile(None if api_field is None else api_field.field.name, upload.filename,
                                   upload.content_type, upload.size, upload.path))
        if errors:
            raise invalid_fields(errors)
        return uploads

    def search(self, context: InflowRequest) -> Reply:
        module = self._module(context.body.get("module"), context.actor)
        parser = FilterParser(module)
        where = parser.parse(context.body.get("filters"), context.body.get("advancedFilters"))
        sorts = parser.sorts(context.body.get("sort"))
        page, limit = paging(context.body)
        result = self.core.records(module.entity.name).search(context.actor, SearchQuery(
            where=where, sorts=sorts, offset=(page - 1) * limit, limit=limit, select=needed_attributes(module)))
        return Reply(self._render(module, result.records), page=Page(page, limit, result.total or 0))

    def find(self, context: InflowRequest) -> Reply:
        """The newest matching record (or the first by `sort`); `data: null` when nothing matches."""
        module = self._module(context.body.get("module"), context.actor)
        parser = FilterParser(module)
        where = parser.parse(context.body.get("filters"), context.body.get("advancedFilters"))
        found = self._search(context, module, SearchQuery(where=where, sorts=parser.sorts(context.body.get("sort")),
                                                          limit=1, select=needed_attributes(module)))
        return Reply(found[0] if found else None)

    def count(self, context: InflowRequest) -> Reply:
        module = self._module(context.body.get("module"), context.actor)
        where = FilterParser(module).parse(context.body.get("filters"), context.body.get("advancedFilters"))
        result = self.core.records(module.entity.name).search(context.actor, SearchQuery(where=where, limit=0,
                                                                                         select=["id"]))
        return Reply({"count": result.total or 0})

    def by_ids(self, context: InflowRequest) -> Reply:
        module = self._module(context.body.get("module"), context.actor)
        parser = FilterParser(module)
        ids = parser.ids(context.body.get("ids"))
        page, limit = paging(context.body)
        where = Compare("id", Op.IN, tuple(ids)) if ids else FALSE
        result = self.core.records(module.entity.name).search(context.actor, SearchQuery(
            where=where, sorts=parser.sorts(context.body.get("sort")), offset=(page - 1) * limit, limit=limit,
            select=needed_attributes(module)))
        return Reply(self._render(module, result.records), page=Page(page, limit, result.total or 0))

    def sample(self, context: InflowRequest) -> Reply:
        """The newest record the caller can see, or a synthetic one showing the module's fields."""
        module = self._module(context.body.get("module"), context.actor)
        found = self._search(context, module, SearchQuery(sorts=FilterParser(module).sorts(None), limit=1,
                                                          select=needed_attributes(module)))
        return Reply(found[0] if found else sample_record(module))

    def read(self, context: InflowRequest) -> Reply:
        module = self._module(context.path("module"), context.actor, in_path=True)
        record_id = self._record_id(module, context.path("id"))
        record = self.core.records(module.entity.name).read(context.actor, record_id)
        return Reply(self._render(module, [record])[0])

    def delete(self, context: InflowRequest) -> Response:
        module = self._module(context.path("module"), context.actor, in_path=True)
        self.core.records(module.entity.name).delete(context.actor, self._record_id(module, context.path("id")))
        return Response(status_code=204)

    # --- files ------------------------------------------------------------------------------------

    def record_files(self, context: InflowRequest) -> Reply:
        module = self._module(context.path("module"), context.actor, in_path=True)
        record_id = self._record_id(module, context.path("id"))
        files = self.core.files.record_files(context.actor, module.entity.name, record_id)
        return Reply([file_item(f, module) for f in files])

    def download(self, context: InflowRequest) -> Response:
        try:
            file_id = decode_id(FILE_KIND, context.path("id"))
        except InvalidObjectId:
            raise invalid("fileId", "Invalid ObjectId format") from None
        if file_id is None:
            raise NotFound("File not found")
        stored, path = self.core.files.open(context.actor, file_id)
        headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(stored.name, safe='')}",
                   "Content-Length": str(stored.size), "X-Content-Type-Options": "nosniff",
                   "Cache-Control": "no-cache, no-store, must-revalidate"}
        return FileResponse(path, headers=headers, media_type=stored.mime_type)

    def not_found(self, context: InflowRequest) -> Response:
        raise InflowError(404, "NOT_FOUND", "No such endpoint")

    # --- routes -----------------------------------------------------------------------------------

    def operations(self) -> list[tuple[str, dict[str, Operation]]]:
        """Every path with its operations; literal paths before `/{module}/{id}` (§4.12 routing note)."""
        return [
            ("/getBundleModuleNames", {"GET": Operation(self.bundle)}),
            ("/getUserList", {"GET": Operation(self.user_list)}),
            ("/validateApiKey", {"POST": Operation(self.validate_key, Body.JSON, key_in_body=True)}),
            ("/getProcessesForModule", {"POST": Operation(self.processes, Body.JSON)}),
            ("/createRecord", {"POST": Operation(self.create, Body.RECORD)}),
            ("/updateRecord/{id}", {"PATCH": Operation(self.update, Body.RECORD)}),
            ("/searchRecords", {"POST": Operation(self.search, Body.JSON)}),
            ("/findRecord", {"POST": Operation(self.find, Body.JSON)}),
            ("/getModuleFields", {"POST": Operation(self.module_fields, Body.JSON)}),
            ("/make/getModuleFields", {"POST": Operation(self.make_module_fields, Body.JSON)}),
            ("/getSampleData", {"POST": Operation(self.sample, Body.JSON)}),
            ("/records/count", {"POST": Operation(self.count, Body.JSON)}),
            ("/records/getByIds", {"POST": Operation(self.by_ids, Body.JSON)}),
            ("/getUser/{id}", {"GET": Operation(self.user)}),
            ("/updateUser/{id}", {"PATCH": Operation(self.update_user, Body.JSON)}),
            ("/files/{id}/download", {"GET": Operation(self.download)}),
            ("/{module}/{id}/files", {"GET": Operation(self.record_files)}),
            ("/{module}/{id}", {"GET": Operation(self.read), "DELETE": Operation(self.delete)}),
        ]

    def webhook_operations(self) -> list[tuple[str, dict[str, Operation]]]:
        """`/webhooks*` (§11.1), each group with its own budget, and PolyCRM's delivery log."""
        hooks = self.webhooks
        if hooks is None:
            return []
        return [
            ("/webhooks/subscribe", {"POST": Operation(hooks.subscribe, Body.JSON, budget="subscribe")}),
            ("/webhooks", {"GET": Operation(hooks.list, budget="list")}),
            ("/webhooks/", {m: Operation(hooks.missing_id, budget="item") for m in ("GET", "DELETE")}),
            ("/webhooks/{id}", {"GET": Operation(hooks.read, budget="item"),
                                "DELETE": Operation(hooks.delete, budget="item")}),
            ("/webhooks/{id}/deliveries", {"GET": Operation(hooks.deliveries, budget="item")}),
            ("/webhooks/{id}/deliveries/{deliveryId}/redeliver",
             {"POST": Operation(hooks.redeliver, budget="item")}),
        ]


def _refuse_nul(location: str | None) -> None:
    """400 VALIDATION_ERROR naming where a body holds a NUL character (`http.body_nul_location`)."""
    if location is not None:
        field = location or "body"
        raise invalid(field, f"{field} must not contain NUL characters")


def inflow_routes(api: InflowApi) -> list[Route]:
    """`/api/*`, the deprecated `/integration/*` aliases and `/webhooks*`; anything else under them is a
    404 envelope. Mount these after `/api/v1` (EspoCRM) so that they never shadow it."""
    fallback = {method: Operation(api.not_found) for method in HTTP_METHODS}
    routes = []
    for path, operations in api.operations():
        # Every method reaches the endpoint, which answers 405 in the envelope for the ones not served.
        routes.append(Route(f"/api{path}", api.endpoint(operations), methods=HTTP_METHODS))
        routes.append(Route(f"/integration{path}", api.endpoint(operations, f"/api{path}"), methods=HTTP_METHODS))
    routes += [Route(path, api.endpoint(operations), methods=HTTP_METHODS)
               for path, operations in api.webhook_operations()]
    routes += [Route(f"{prefix}/{{path:path}}", api.endpoint(fallback), methods=HTTP_METHODS)
               for prefix in ("/api", "/integration", "/webhooks")]
    return routes
