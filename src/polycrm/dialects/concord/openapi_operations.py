"""The parts of the Concord dialect's OpenAPI document (openapi.py) that describe its operations: the shared
components (headers, responses, parameters) and, for each handler of the route table (routes.ROUTES), how its
operation is described at a place (a path of a resource, an association, or none): summary, parameters,
body, its success and the errors it may answer. Schemas are openapi_schemas.py's; the paths and the document
itself openapi.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from polycrm.dialects.concord import (accounts, associations, billables, board, brands, clones, comments,
                                      custom_fields, documents, export, form_fields, imports, lookups, media, profile,
                                      records, saved_filters, search, tag_admin, teams, timeline, timeline_pins,
                                      trash, users, zapier)
from polycrm.dialects.concord.context import DEFAULT_PER_PAGE, MAX_PER_PAGE
from polycrm.dialects.concord.envelope import APP_VERSION, WARNING_HEADER
from polycrm.dialects.concord.mapping import Association, Resource
from polycrm.dialects.concord.openapi_schemas import association_body
from polycrm.dialects.concord.search import MAX_PER_GROUP, PER_GROUP
from polycrm.dialects.openapi_parts import json_content, path_param, query_param, ref, schema_ref


# --- responses and parameters ------------------------------------------------------------------------

def _header(description: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {"description": description, "schema": schema, **({"required": True} if required else {})}


def components_headers() -> dict[str, Any]:
    """The headers answers carry; a `-Required` one is its header as always there (on authenticated successes)."""
    integer = {"type": "integer"}
    return {
        "X-App-Version": _header("The Concord CRM version answered as.", {"type": "string",
                                                                         "const": APP_VERSION}, required=True),
        "X-RateLimit-Limit": _header("Requests a user may make per minute.", integer),
        "X-RateLimit-Remaining": _header("Requests left this minute.", integer),
        "X-RateLimit-Limit-Required": _header("Requests a user may make per minute.", integer, required=True),
        "X-RateLimit-Remaining-Required": _header("Requests left this minute.", integer, required=True),
        "Retry-After": _header("Seconds until a request is allowed again.", integer, required=True),
        "X-RateLimit-Reset": _header("When requests are allowed again (Unix time).", integer, required=True),
        "Allow": _header("The methods the path serves.", {"type": "string"}, required=True),
        WARNING_HEADER: _header("What the request sent and was left aside (unknown keys, unreadable "
                                "association ids); absent when nothing was.", {"type": "string"}),
    }


def _headers(*names: str) -> dict[str, Any]:
    return {name.removesuffix("-Required"): ref("headers", name) for name in ("X-App-Version", *names)}


ERROR_HEADERS = _headers("X-RateLimit-Limit", "X-RateLimit-Remaining")  # with them on authenticated calls


def _error(description: str, schema: dict[str, Any], *headers: str) -> dict[str, Any]:
    extra = _headers(*headers) if headers else {}
    return {"description": description, "headers": {**ERROR_HEADERS, **extra}, "content": json_content(schema)}


def components_responses() -> dict[str, Any]:
    message = schema_ref("Message")
    return {
        "BadRequest": _error("A request the core refuses for another reason.", message),
        "Unauthenticated": {"description": "No token, or not a live one (`Unauthenticated.`).",
                            "headers": _headers(), "content": json_content(message)},
        "Forbidden": _error("The user may not use the API (`error`), may not do this (`message`), or named no "
                            "search field it may search.",
                            {"oneOf": [schema_ref("ApiAccessDenied"), message]}),
        "NotFound": _error("No such resource, path or record (a record's message names its model).", message),
        "MethodNotAllowed": _error("The path does not serve the method.", message, "Allow"),
        "Conflict": _error("An association conflict, or a change the record's state refuses.", message),
        "PayloadTooLarge": _error("The body (or an uploaded file) is larger than the server takes.", message),
        "UnsupportedMediaType": _error("An uploaded file's extension is not one Concord's allowed upload "
                                       "extensions name.", message),
        "Invalid": _error("Validation failed: the first message, and every message by key.",
                          schema_ref("ValidationErrors")),
        "TooManyRequests": _error("Over the rate limit.", message, "Retry-After", "X-RateLimit-Reset",
                                  "X-RateLimit-Limit-Required", "X-RateLimit-Remaining-Required"),
    }


def components_parameters() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "page": query_param("page", {"type": "integer", "minimum": 1, "default": 1},
                            "The page (1 when absent, below 1 or not a number)."),
        "per_page": query_param("per_page", {"type": "integer", "minimum": 0, "maximum": MAX_PER_PAGE,
                                             "default": DEFAULT_PER_PAGE},
                                f"Rows a page (0 or not a number: {DEFAULT_PER_PAGE}; above {MAX_PER_PAGE}: 422)."),
        "q": query_param("q", text, "Search text: a substring of any search column (the field form "
                                    "`email:a@b.c;first_name:Ann` searches each named column)."),
        "search_fields": query_param("search_fields", text, "The columns `q` searches, with a condition each: "
                                                            "`email:like;phones.number:=` (=, like, in)."),
        "search_match": query_param("search_match", {"type": "string", "enum": ["and", "or"]},
                                    "`and`: every searched column must match (default: any)."),
    }


_SAVED_FILTER_PARAMETERS = [
    query_param("filter_id", {"type": "integer", "minimum": 1}, "A saved filter of the resource the "
                "caller sees (`GET /api/filters/{resource}`), applied when `filters` is not given."),
    query_param("with_default_filter", {"type": "string", "enum": ["0", "1", "true", "false"]},
                "1: apply the caller's default saved filter of the resource when `filters` and `filter_id` "
                "are not given."),
]


def _list_parameters(target: Resource, selectable: list[str], *, page: bool, shape: bool,
                     take: int | None) -> list[dict[str, Any]]:
    """The query parameters of a list of `target`'s records."""
    sortable = ", ".join(target.sortable())
    found = [ref("parameters", "q"), ref("parameters", "search_fields"), ref("parameters", "search_match"),
             {"name": "filters", "in": "query", "content": json_content(schema_ref(f"{target.name}.filters")),
              "description": "Rules over the resource's filter rules (`GET /api/{resource}/rules`), as JSON or "
                             "PHP nested parameters (`filters[children][0][query][rule]=...`)."},
             query_param("order", {"type": "string"}, f"`key`, `key|desc`, `a|desc;b`, or `order[0][field]=key&"
                                                      f"order[0][direction]=desc`. Keys: {sortable}.")]
    if page:  # pages of records apply saved filters (a search does not)
        found = [ref("parameters", "page"), ref("parameters", "per_page"), *found, *_SAVED_FILTER_PARAMETERS]
    if shape:
        found += [query_param("select", {"type": "string"}, "Keys to fill, `;`-separated (the others are "
                                                           f"null): {', '.join(selectable)}."),
                  query_param("with", {"type": "string"}, "Association keys whose records each row carries, "
                                                         f"`;`-separated: {', '.join(target.associations)}.")]
    if take is not None:
        found.append(query_param("take", {"type": "integer", "minimum": 1},
                                 f"At most this many records (at most {take})."))
    return found


# --- operations --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Place:
    """Where an operation is: its path's resource, association and the resource that association lists (None
    where the path has none), whether the path has a record id, whether the operation reads a body and is
    served without a token; `selectable` gives each resource's keys `select` may name."""

    resource: Resource | None
    association: Association | None
    target: Resource | None
    has_id: bool
    body: bool
    guest: bool
    selectable: dict[str, list[str]]


def _success(status: str, description: str, schema: dict[str, Any] | None, place: Place,
             warning: bool = False) -> dict[str, Any]:
    headers = _headers("X-RateLimit-Limit", "X-RateLimit-Remaining") if place.guest else _headers(
        "X-RateLimit-Limit-Required", "X-RateLimit-Remaining-Required")  # a guest's: the token route's throttle
    if warning:
        headers[WARNING_HEADER] = ref("headers", WARNING_HEADER)
    response: dict[str, Any] = {"description": description, "headers": headers}
    if schema is not None:
        response["content"] = json_content(schema)
    return {status: response}


def _operation(place: Place, summary: str, success: dict[str, Any], *, body: dict[str, Any] | None = None,
               parameters: list[dict[str, Any]] | None = None, errors: tuple[str, ...] = ()) -> dict[str, Any]:
    """An operation with the errors its place may answer: every authenticated one 400/401/403/422/429, one
    of a resource 404, one with a body 413, and `errors`."""
    codes = ["422", *errors] if place.guest else ["400", "401", "403", "422", "429", *errors]
    if place.resource is not None or place.has_id:
        codes.append("404")
    if place.body:
        codes.append("413")
    names = {"400": "BadRequest", "401": "Unauthenticated", "403": "Forbidden", "404": "NotFound",
             "409": "Conflict", "413": "PayloadTooLarge", "415": "UnsupportedMediaType", "422": "Invalid",
             "429": "TooManyRequests"}
    operation: dict[str, Any] = {"summary": summary}
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": True, "content": json_content(body)}
    operation["responses"] = {**success, **{code: ref("responses", names[code]) for code in sorted(set(codes))}}
    if place.guest:
        operation["security"] = []
    return operation


def _board_summary(place: Place) -> dict[str, Any]:
    return _operation(place, "The board's summary by stage (of one stage when named)", _success(
        "200", "`{<stage id>: {count, value, weighted_value}}`; `[]` when no stage.", {"oneOf": [
            {"type": "object", "additionalProperties": {"type": "object"}}, {"type": "array", "maxItems": 0}]},
        place), errors=("404",))


def _pin(place: Place, summary: str) -> dict[str, Any]:
    """`POST /api/timeline/pin` and `/unpin`: the subject and the entry, by type and id; 200 without a body."""
    number = {"type": "integer", "minimum": 1}
    return _operation(place, summary, _success("200", "Done; no body.", None, place), body={
        "type": "object", "required": ["subject_id", "subject_type", "timelineable_id", "timelineable_type"],
        "properties": {"subject_id": number, "subject_type": {"type": "string", "enum": [
            "contact", "company", "deal"]}, "timelineable_id": number, "timelineable_type": {"type": "string", "enum": [
                "changelog", "activity", "call", "document", "note"]}}}, errors=("404",))


def _deleted(place: Place, summary: str, errors: tuple[str, ...] = ()) -> dict[str, Any]:
    return _operation(place, summary, _success("204", "Done; no body.", None, place), errors=errors)


def _records(place: Place, summary: str, *, take: int | None = None) -> dict[str, Any]:
    """A bare array of index rows (search)."""
    resource = _resource(place)
    rows = {"type": "array", "items": schema_ref(f"{resource.name}.row")}
    return _operation(place, summary, _success("200", "The records.", rows, place),
                      parameters=_list_parameters(resource, place.selectable[resource.name], page=False, shape=False,
                                                  take=take))


def _resource(place: Place) -> Resource:
    assert place.resource is not None, "a resource's operation"
    return place.resource


def _record(place: Place, status: str = "200", warning: bool = False) -> dict[str, Any]:
    return _success(status, "The record, with its associated records.",
                    schema_ref(f"{_resource(place).name}.record"), place, warning)


def _page(place: Place, target: Resource, *, shape: bool = True) -> dict[str, Any]:
    return _operation(place, f"List {target.name}", _success("200", "A page of records.",
                                                             schema_ref(f"{target.name}.page"), place),
                      parameters=_list_parameters(target, place.selectable[target.name], page=True, shape=shape,
                                                  take=None))


def _associated(place: Place) -> dict[str, Any]:
    """`GET /api/{resource}/{id}/{associated}`: a page of the associated resource's records."""
    assert place.association is not None and place.target is not None
    operation = _page(place, place.target)
    operation["summary"] = f"List the {place.association.key} of a record of {_resource(place).name}"
    return operation


def _association_change(how: str) -> Callable[[Place], dict[str, Any]]:
    def describe(place: Place) -> dict[str, Any]:
        return _operation(place, f"{how} associated records", _record(place),
                          body=association_body(_resource(place)), errors=("409",))

    return describe


def _status_change(summary: str) -> Callable[[Place], dict[str, Any]]:
    """`POST /api/documents/{id}/lost|accept|draft`: the document, or Concord's 409 for a change its status
    refuses."""
    def describe(place: Place) -> dict[str, Any]:
        return _operation(place, summary, _success("200", "The document, with its associated records.",
                                                   schema_ref(f"{documents.RESOURCE}.record"), place),
                          errors=("409",))

    return describe


def _billable_read(place: Place) -> dict[str, Any]:
    return _operation(place, "The record's products and totals", _success(
        "200", "Its billable (id null before products were ever saved).", schema_ref("Billable"), place))


def _billable_write(place: Place) -> dict[str, Any]:
    return _operation(place, "Change the record's products (edit access to the record)", _success(
        "200", "Its billable.", schema_ref("Billable"), place, warning=True), body=schema_ref("BillableRequest"))


def _media_upload(place: Place) -> dict[str, Any] | None:
    if _resource(place).media != "always":  # Concord's Mediable resources only
        return None
    operation = _operation(place, "Attach a file to a record (edit rights; one file, in `file`)", _success(
        "201", "The file, as Concord's MediaResource.", schema_ref("Media"), place), errors=("413", "415"))
    operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": {"file": {
            "type": "string", "format": "binary", "description": "The file: an allowed extension, at most "
                                                                  "POLYCRM_MAX_UPLOAD_BYTES (25 MB by default)."}}}}}}
    return operation


def _media_removal(place: Place) -> dict[str, Any] | None:
    if _resource(place).media != "always":
        return None
    return _deleted(place, "Remove a file from a record (edit rights; 404 naming the Media model when the record "
                           "has no such file)")


def _media_content(disposition: str) -> Callable[[Place], dict[str, Any]]:
    def describe(place: Place) -> dict[str, Any]:
        success = {"200": {"description": f"The file's content ({disposition}), as the type it was uploaded as.",
                           "headers": _headers("X-RateLimit-Limit-Required", "X-RateLimit-Remaining-Required"),
                           "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}}
        return _operation(place, f"A record file's content, {disposition} (read rights on its record; PolyCRM's "
                                 "form of Concord's token links)", success)

    return describe


def _tag_write(place: Place, summary: str, status: str, **extra: Any) -> dict[str, Any]:
    """A tag made or changed: the TagResource (a create finding the tag of its name answers 200)."""
    success = _success(status, "The tag.", schema_ref("Tag"), place, warning=True)
    if status == "201":
        success.update(_success("200", "The tag of that name and type, with the colour given.", schema_ref("Tag"),
                                place, warning=True))
    return _operation(place, summary, success, body=schema_ref("TagRequest"), **extra)


def _zapier_subscription(records: str) -> Callable[[Place], dict[str, Any]]:
    def describe(place: Place) -> dict[str, Any]:
        return _operation(place, f"Subscribe a Zapier hook (REST hooks) to {records} records", _success(
            "201", "The hook.", schema_ref("ZapierHook"), place), body=schema_ref("ZapierSubscription"))

    return describe


def _export(place: Place) -> dict[str, Any] | None:
    resource = _resource(place)
    if not resource.export:  # Concord's Exportable resources only
        return None
    dated = [c.key for c in resource.export if c.kind in ("moment", "date") and c.key in resource.rules]
    body = {"type": "object", "properties": {
        "type": {"type": ["string", "null"], "enum": [*export.TYPES, None], "default": "csv"},
        "period": {"description": "A date preset (`last_7_days`, …), {start, end}, or null for every record.",
                   "anyOf": [{"type": "string", "enum": [*export.PERIODS, "all"]}, {"type": "null"}, {
                       "type": "object", "required": ["start", "end"], "additionalProperties": False,
                       "properties": {"start": {"type": "string"}, "end": {"type": "string"}}}]},
        "date_range_field": {"type": ["string", "null"], "enum": [*dated, None], "default": "created_at"},
        "fields": {"type": ["array", "null"], "maxItems": export.MAX_FIELDS, "items": {"type": "string"}},
        "filters": {"anyOf": [schema_ref(f"{resource.name}.filters"), {"type": "null"}]},
        "filter_id": {"type": ["integer", "null"], "minimum": 1, "description": "A saved filter, without `filters`."},
        "with_default_filter": {"type": ["boolean", "null"]}}}
    success = {"200": {"description": f"The records as CSV (`{resource.name}.csv`): Concord's columns, every cell "
                                      "quoted, date-times in UTC and in the caller's zone.",
                       "headers": {**_headers("X-RateLimit-Limit-Required", "X-RateLimit-Remaining-Required"),
                                   "Content-Disposition": _header("`attachment; filename=<resource>.csv`",
                                                                  {"type": "string"})},
                       "content": {"text/csv": {"schema": {"type": "string"}}}}}
    return _operation(place, f"Export {resource.name} as CSV (the records the caller may read)", success, body=body)


_IMPORT = {"type": "object", "required": ["id", "file_name", "mappings", "status", "imported", "skipped",
                                         "duplicates", "revertable"], "description": "Concord's ImportResource."}


def _importing(summary: str, status: str = "200", *, body: bool = False, csv: bool = False) -> Describe:
    """An operation of `/api/{resource}/import...` (contacts and companies: Concord's importable resources
    PolyCRM imports); the upload reads a multipart `file`, `run` the column `mappings`."""
    def describe(place: Place) -> dict[str, Any] | None:
        if _resource(place).name not in imports.DUPLICATE_KEYS:
            return None
        if csv:
            success = {"200": {"description": "The sample CSV (`sample.csv`).", "headers": _headers(
                "X-RateLimit-Limit-Required", "X-RateLimit-Remaining-Required"),
                "content": {"text/csv": {"schema": {"type": "string"}}}}}
            return _operation(place, summary, success, parameters=[{"name": "total_rows", "in": "query", "schema": {
                "type": "integer", "minimum": 0, "maximum": imports.MAX_SAMPLE_ROWS}}])
        shown = None if status == "204" else {"type": "array", "items": _IMPORT} if status == "list" else _IMPORT
        operation = _operation(place, summary, _success("200" if status == "list" else status, "Done.", shown, place,
                                                        warning=body), body={"type": "object", "required": [
            "mappings"], "properties": {"mappings": {"type": "array", "items": {"type": "object"}}}} if body else None,
            errors=("413",) if summary.startswith("Upload") else ("409",) if body else ())
        if summary.startswith("Upload"):
            operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary",
                                                                                "description": "A UTF-8 CSV file."}}}}}}
        return operation

    return describe


Describe = Callable[[Place], dict[str, Any] | None]
# A field object of `GET /api/fields/{group}/...`: its common keys (components add their own).
_FORM_FIELDS = {"type": "array", "items": {
    "type": "object", "required": ["component", "attribute", "label", "isRequired", "customField"],
    "properties": {"component": {"type": "string"}, "attribute": {"type": ["string", "null"]},
                   "label": {"type": ["string", "null"]}, "isRequired": {"type": "boolean"},
                   "readonly": {"type": "boolean"}, "customField": {"type": ["object", "null"]}}}}
# Each handler of routes.ROUTES but the document's own (openapi.DESCRIBED) and how its operation is described.
OPERATIONS: dict[Callable[..., Any], Describe] = {
    accounts.issue_token: lambda p: _operation(
        p, "Exchange an email and password for a token", _success("200", "A new token.",
                                                                  schema_ref("IssuedToken"), p),
        body=schema_ref("TokenRequest"), errors=("429",)),
    accounts.me: lambda p: _operation(p, "The caller", _success("200", "The user.", schema_ref("User"), p)),
    profile.update: lambda p: _operation(p, "Change the caller's profile (every key required)", _success(
        "200", "The user.", schema_ref("User"), p, True), body=schema_ref("ProfileRequest")),
    profile.change_password: lambda p: _operation(p, "Change the caller's password (the current one required)",
                                                  _success("204", "Changed; no body.", None, p),
                                                  body=schema_ref("PasswordRequest")),
    lookups.list_countries: lambda p: _operation(p, "Every country (Concord's ids: ISO 3166-1 numeric codes)", _success(
        "200", "The countries, in id order.", {"type": "array", "items": schema_ref("Country")}, p)),
    lookups.list_timezones: lambda p: _operation(
        p, "Every time zone name (PHP's list: IANA zone.tab and UTC)",
        _success("200", "The names, in order.", {"type": "array", "items": {"type": "string"}}, p)),
    lookups.list_currencies: lambda p: _operation(p, "Every currency PolyCRM accepts (active ISO 4217 codes)", _success(
        "200", "The currencies by code.", {"type": "object", "additionalProperties": schema_ref("Currency")}, p)),
    form_fields.create_fields: lambda p: _operation(p, "The fields of a resource's create form (Concord's UI "
                                                       "field objects, used by Zapier)", _success(
        "200", "Field objects, in form order.", _FORM_FIELDS, p)),
    form_fields.update_fields: lambda p: _operation(p, "The fields of a resource's update form (Concord's UI "
                                                       "field objects, used by Zapier)", _success(
        "200", "Field objects, in form order.", _FORM_FIELDS, p)),
    accounts.list_tokens: lambda p: _operation(p, "The caller's tokens", _success(
        "200", "Token rows.", {"type": "array", "items": schema_ref("TokenRow")}, p)),
    accounts.create_token: lambda p: _operation(p, "Create a token", _success(
        "201", "The token: its row and, once, the token itself.", schema_ref("NewToken"), p),
        body=schema_ref("TokenName")),
    accounts.revoke_token: lambda p: _operation(p, "Revoke one of the caller's tokens {id}",
                                                _success("204", "Revoked.", None, p)),
    users.index: lambda p: _operation(p, "Users (every user reads them)", _success(
        "200", "A page of users.", schema_ref("User.page"), p), parameters=[
            query_param("page", {"type": "integer"}, "The page."),
            query_param("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}, "Users a page."),
            query_param("q", {"type": "string"}, "Search text: name or email."),
            query_param("order", {"type": "string"}, "`name`, `email`, `id`, `created_at`, `updated_at`, `|desc`.")]),
    users.store: lambda p: _operation(p, "Create a user (super admins)", _success(
        "201", "The user.", schema_ref("User"), p, True), body=schema_ref("UserRequest")),
    users.show: lambda p: _operation(p, "A user", _success("200", "The user.", schema_ref("User"), p)),
    users.update: lambda p: _operation(p, "Change a user (super admins)", _success(
        "200", "The user.", schema_ref("User"), p, True), body=schema_ref("UserRequest"), errors=("409",)),
    users.destroy: lambda p: _operation(p, "Delete a user (super admins; not oneself: 409)", _success(
        "204", "Done; no body.", None, p), errors=("409",)),
    search.global_search: lambda p: _operation(
        p, "Search every resource the caller may read", _success(
            "200", "A group per resource.", {"type": "array", "items": schema_ref("SearchGroup")}, p),
        parameters=[query_param("q", {"type": "string"}, "The search text (no text: groups without matches)."),
                    query_param("take", {"type": "integer", "minimum": 1},
                                f"Matches per resource ({PER_GROUP} by default, at most {MAX_PER_GROUP}).")]),
    associations.listing: lambda p: _operation(p, "The records associated with a record", _success(
        "200", "Each association's records.", schema_ref(f"{_resource(p).name}.associated"), p)),
    associations.attach: _association_change("Attach"),
    associations.sync: _association_change("Sync"),
    associations.detach: _association_change("Detach"),
    custom_fields.index: lambda p: _operation(p, "Custom fields (administrators)", _success(
        "200", "A page of fields.", schema_ref("CustomField.page"), p), parameters=[
            query_param("page", {"type": "integer"}, "The page."),
            query_param("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}, "Fields a page.")]),
    custom_fields.store: lambda p: _operation(p, "Create a custom field (a real column)", _success(
        "201", "The field.", schema_ref("CustomField"), p), body=schema_ref("CustomFieldRequest")),
    custom_fields.show: lambda p: _operation(p, "A custom field", _success(
        "200", "The field.", schema_ref("CustomField"), p)),
    custom_fields.update: lambda p: _operation(p, "Change a custom field's label or options", _success(
        "200", "The field.", schema_ref("CustomField"), p), body=schema_ref("CustomFieldRequest")),
    custom_fields.destroy: lambda p: _deleted(p, "Delete a custom field and its column"),
    trash.index: lambda p: _page(p, _resource(p), shape=False),
    trash.search: lambda p: _records(p, "Search deleted records"),
    trash.show: lambda p: _operation(p, "A deleted record", _record(p)),
    trash.restore: lambda p: _operation(p, "Restore a deleted record (the same id)", _record(p)),
    trash.destroy: lambda p: _deleted(p, "Delete a deleted record for good"),
    trash.empty: lambda p: _deleted(p, "Delete every deleted record for good"),
    records.index: lambda p: _page(p, _resource(p)),
    records.store: lambda p: _operation(p, "Create a record", _record(p, "201", warning=True),
                                        body=schema_ref(f"{_resource(p).name}.create"), errors=("409",)),
    records.search: lambda p: _records(p, "Search records (no `q` nor `filters`: none)", take=MAX_PER_PAGE),
    records.rules: lambda p: _operation(p, "The filter rules", _success(
        "200", "The rules `filters` may name.", {"type": "array", "items": schema_ref("FilterRule")}, p)),
    records.show: lambda p: _operation(p, "A record", _record(p)),
    records.update: lambda p: _operation(p, "Change a record", _record(p, warning=True),
                                         body=schema_ref(f"{_resource(p).name}.update"), errors=("409",)),
    records.destroy: lambda p: _deleted(p, "Delete a record (to the trash); a record others depend on may be "
                                           "kept (409: a type in use, the last brand)", errors=("409",)),
    records.associated: _associated,
    board.board: lambda p: _operation(p, "A pipeline's deals by stage (Concord's deals board)", _success(
        "200", "Its stages in display order, each with its deals' summary and first cards.",
        {"type": "array", "items": schema_ref("BoardStage")}, p), parameters=[
            query_param("q", {"type": "string"}, "Search text, as on GET /api/deals."),
            query_param("order", {"type": "string"}, "The cards' order (default: id)."),
            query_param("pages", {"type": "object"}, "`pages[<stage id>]=N`: N pages of 15 cards.")],
        errors=("404",)),
    comments.index: lambda p: None if not _resource(p).comments else _operation(
        p, "A record's comments, oldest first", _success("200", "Every comment.", {
            "type": "array", "items": schema_ref("Comment")}, p), parameters=[
            query_param("via_resource", {"type": "string"}, "The record the comments are read from."),
            query_param("via_resource_id", {"type": "integer"}, "Its id (required for calls and notes).")]),
    comments.store: lambda p: None if not _resource(p).comments else _operation(
        p, "Comment on a record (the caller is the author)", _success("201", "The comment.", schema_ref("Comment"),
                                                                      p), body=schema_ref("CommentRequest")),
    comments.show: lambda p: _operation(p, "A comment (its author or an administrator)", _success(
        "200", "The comment.", schema_ref("Comment"), p), errors=("404",)),
    comments.update: lambda p: _operation(p, "Change a comment (its author or an administrator)", _success(
        "200", "The comment.", schema_ref("Comment"), p), body=schema_ref("CommentRequest"), errors=("404",)),
    comments.destroy: lambda p: _deleted(p, "Delete a comment (its author or an administrator)"),
    timeline.index: lambda p: None if (_resource(p).timeline or {}).get("module") is None else _operation(
        p, "The record's timeline: its changes (its stream) and its activities, calls, notes and documents, "
           "newest first; one page of each", _success("200", "The entries and the resources they come from.",
                                                      schema_ref("Timeline"), p), parameters=[
            ref("parameters", "page"), ref("parameters", "per_page"), ref("parameters", "q"),
            ref("parameters", "search_fields"), ref("parameters", "search_match")]),
    clones.clone: lambda p: None if _resource(p).clone is None else _operation(
        p, "Copy a record (its title marked ` - Copy(a1B2c3)`, six random letters and digits; create rights "
           "needed)", _record(p)),
    brands.index: lambda p: _operation(p, "Brands the caller may read, the default first", _success(
        "200", "Every brand (not paginated).", {"type": "array", "items": schema_ref("Brand")}, p)),
    brands.show: lambda p: _operation(p, "A brand", _success("200", "The brand.", schema_ref("Brand"), p)),
    brands.store: lambda p: _operation(p, "Create a brand (administrators)", _success(
        "201", "The brand.", schema_ref("Brand"), p, warning=True), body=schema_ref("BrandRequest")),
    brands.update: lambda p: _operation(p, "Change a brand (administrators)", _success(
        "200", "The brand.", schema_ref("Brand"), p, warning=True), body=schema_ref("BrandRequest")),
    brands.destroy: lambda p: _deleted(p, "Delete a brand (administrators; not the last one: 409)", errors=("409",)),
    teams.index: lambda p: _operation(p, "Teams the caller may read (without a role on teams: those they are in "
                                         "or manage), by name", _success(
        "200", "The teams (not paginated).", {"type": "array", "items": schema_ref("Team")}, p)),
    teams.show: lambda p: _operation(p, "A team (403 for one the caller is not in)", _success(
        "200", "The team.", schema_ref("Team"), p)),
    teams.store: lambda p: _operation(p, "Create a team (super admins)", _success(
        "201", "The team.", schema_ref("Team"), p, warning=True), body=schema_ref("TeamRequest")),
    teams.update: lambda p: _operation(p, "Change a team (super admins; PUT and PATCH alike)", _success(
        "200", "The team.", schema_ref("Team"), p, warning=True), body=schema_ref("TeamRequest")),
    teams.destroy: lambda p: _deleted(p, "Delete a team (super admins)"),
    tag_admin.store: lambda p: _tag_write(p, "Make a tag without a type (super admins)", "201"),
    tag_admin.store_typed: lambda p: _tag_write(p, "Make a tag of a type, or give the tag of that name its colour "
                                                   "(super admins)", "201", parameters=[path_param(
        "id", "The tag type: `contacts` (contacts and companies) or `deals`.", {"type": "string", "maxLength": 191})]),
    tag_admin.update: lambda p: _tag_write(p, "Change a tag's name, colour and display order (super admins)", "200"),
    tag_admin.destroy: lambda p: _deleted(p, "Delete a tag, detaching it from its records (super admins)"),
    board.move: lambda p: _operation(p, "Move and order deals on the board (each an update of the deal)", _success(
        "200", "Done; no body. Deals the caller may not edit are left as they are (named in the warning).", None,
        p, warning=True), body={"type": "array", "maxItems": 1000, "items": {
            "type": "object", "required": ["id", "stage_id", "board_order", "swatch_color"], "properties": {
                "id": {"type": "integer", "minimum": 1}, "stage_id": {"type": "integer", "minimum": 1},
                "board_order": {"type": "integer", "minimum": -2147483647, "maximum": 2147483647},
                "swatch_color": {"type": ["string", "null"], "maxLength": 7}}}}, errors=("404",)),
    timeline_pins.pin: lambda p: _pin(p, "Pin an entry to the top of a record's timeline (both readable)"),
    timeline_pins.unpin: lambda p: _pin(p, "Unpin an entry of a record's timeline (both readable)"),
    board.load: lambda p: _operation(p, "One stage of the board with a page of its cards (`page`)", _success(
        "200", "The stage, `summary` null.", schema_ref("BoardStage"), p), parameters=[
            query_param("page", {"type": "integer"}, "The page of cards (15 a page).")], errors=("404",)),
    board.summary: _board_summary,
    board.stage_summary: _board_summary,
    tag_admin.reorder: lambda p: _operation(p, "Set tags' display order (super admins)", _success(
        "204", "Done; no body.", None, p), body=schema_ref("TagOrder")),
    documents.mark_lost: _status_change("Mark a document lost (not an accepted one)"),
    documents.mark_accepted: _status_change("Mark a document accepted (by the caller)"),
    documents.mark_draft: _status_change("Mark a document draft again (not one a customer accepted)"),
    **{shown: _billable_read for shown, _ in billables.HANDLERS.values()},
    **{saved: _billable_write for _, saved in billables.HANDLERS.values()},
    export.export: _export,
    imports.index: _importing("The caller's imports of the resource (an administrator's: all), newest first", "list"),
    imports.upload: _importing("Upload a CSV to import (its columns matched to fields)"),
    imports.sample: _importing("A sample CSV of the importable columns", csv=True),
    imports.run: _importing("Import the rows with the column mappings (the import's author)", body=True),
    imports.destroy: _importing("Forget an import (its author); its records stay", "204"),
    imports.revert: _importing("Delete the records an import created (its author, within 24 hours)"),
    saved_filters.index: lambda p: _operation(p, "The saved filters of a resource the caller sees (theirs, shared, the "
                                                 "application's), by name", _success("200", "A bare array.", {
                                                     "type": "array", "items": schema_ref("SavedFilter")}, p)),
    saved_filters.store: lambda p: _operation(p, "Save a filter (its rules checked against the resource's)", _success(
        "201", "The filter.", schema_ref("SavedFilter"), p), body=schema_ref("SavedFilterRequest")),
    saved_filters.update: lambda p: _operation(p, "Change a saved filter (its author or an administrator)", _success(
        "200", "The filter.", schema_ref("SavedFilter"), p), body=schema_ref("SavedFilterRequest"), errors=("404",)),
    saved_filters.destroy: lambda p: _deleted(p, "Delete a saved filter (its author or an administrator)",
                                              errors=("404",)),
    saved_filters.mark_default: lambda p: _operation(p, "Make a filter the caller's default of a view", _success(
        "200", "The filter.", schema_ref("SavedFilter"), p), errors=("404",)),
    saved_filters.unmark_default: lambda p: _operation(p, "Stop filtering a view by default with a filter", _success(
        "200", "The filter.", schema_ref("SavedFilter"), p), errors=("404",)),
    media.store: _media_upload,
    media.destroy: _media_removal,
    media.view: _media_content("inline"),
    media.preview: _media_content("inline"),
    media.download: _media_content("attachment"),
    zapier.subscribe_created: _zapier_subscription("new"),
    zapier.subscribe_updated: _zapier_subscription("changed"),
    zapier.unsubscribe: lambda p: _deleted(p, "Unsubscribe one of the caller's Zapier hooks"),
}


def describe_document(place: Place) -> dict[str, Any]:
    """`GET /api/openapi.json` (openapi.document)."""
    return _operation(place, "This document", _success("200", "An OpenAPI 3.1 document.", {
        "type": "object", "required": ["openapi", "info", "paths"]}, place))
