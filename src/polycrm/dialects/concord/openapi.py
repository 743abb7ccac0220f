"""`GET /api/openapi.json`: an OpenAPI 3.1 document of the Concord CRM dialect, served without a token.

Generated on every call from the route table (routes.ROUTES: every route, for every resource and association
of the mapping) and the entities as defined now, so a resource, an association or a custom field with a
`cf_` key shows up as soon as it exists. Each handler of the table has its description here (DESCRIBED); a
route whose handler has none fails the build, so a new route cannot go undocumented. Operations and the
components they refer to are described in openapi_operations.py, schemas built in openapi_schemas.py.

Not described: HEAD (served as GET wherever GET is) and the 405 a path answers for a method it does not
serve (components/responses/MethodNotAllowed, with `Allow`).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Callable

from starlette.responses import Response

from polycrm.dialects.concord import documents
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import APP_VERSION, answer
from polycrm.dialects.concord.custom_types import custom_fields as custom_fields_of, selectable_keys
from polycrm.dialects.concord.mapping import Association, ConcordMapping, Resource
from polycrm.dialects.concord.openapi_operations import (OPERATIONS, Describe, Place, components_headers,
                                                         components_parameters, components_responses,
                                                         describe_document)
from polycrm.dialects.concord.openapi_schemas import body_schemas, filters_schema, record_schemas, shared_schemas
from polycrm.dialects.openapi_parts import path_param
from polycrm.meta import Registry

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

API_BASE = "/api"


def document(api: ConcordApi, request: ConcordRequest) -> Response:
    """`GET /api/openapi.json`."""
    return answer(build_openapi(api.mapping, api.core.registry))


# Each handler of routes.ROUTES and how its operation is described: the document's own beside the others'.
DESCRIBED: dict[Callable[..., Any], Describe] = {**OPERATIONS, document: describe_document}


# --- the document ------------------------------------------------------------------------------------

def _places(shape: tuple[str, ...], mapping: ConcordMapping) -> list[tuple[str, Resource | None,
                                                                          Association | None]]:
    """The paths of a route shape: one per resource for `{resource}`, one per association for `{associated}`."""
    paths: list[tuple[str, Resource | None, Association | None]] = [("", None, None)]
    for segment in shape:
        if segment == "{resource}":
            paths = [(f"{path}/{name}", resource, None) for path, _, _ in paths
                     for name, resource in mapping.resources.items()]
        elif segment == "{associated}":
            paths = [(f"{path}/{key}", resource, association) for path, resource, _ in paths if resource
                     for key, association in resource.associations.items()]
        else:
            paths = [(f"{path}/{segment}", resource, association) for path, resource, association in paths]
    return paths


def _paths(mapping: ConcordMapping, selectable: dict[str, list[str]]) -> dict[str, Any]:
    from polycrm.dialects.concord import routes  # its table names `document`: imported once both are complete

    paths: dict[str, Any] = {}
    for route in routes.ROUTES:
        has_id = "{id}" in route.shape
        for path, resource, association in _places(route.shape, mapping):
            item = paths.setdefault(path, {})
            if has_id:
                what = ID_TEXTS.get(route.shape[0], "A record id (its leading digits, as MySQL casts a string: "
                                                    "`12abc` is 12).")
                item["parameters"] = [path_param("id", what, {"type": "string"} if route.shape[0] == "filters"
                                                 else {"type": "integer", "minimum": 1})]
            if "{media}" in route.shape:
                item["parameters"] = [*item["parameters"], path_param(
                    "media", "A file id of the record.", {"type": "integer", "minimum": 1})]
            if "{pipeline}" in route.shape:
                item["parameters"] = [path_param("pipeline", "A pipeline id.", {"type": "integer", "minimum": 1})]
            if "{stage}" in route.shape:
                item["parameters"] = [*item["parameters"], path_param("stage", "A stage id.", {"type": "integer",
                                                                                            "minimum": 1})]
            if "{view}" in route.shape:
                item["parameters"] = [*item["parameters"], path_param(
                    "view", "The view a filter is the default of (a resource's: `contacts`).", {"type": "string"})]
            if "{group}" in route.shape:
                item["parameters"] = [path_param("group", "A resource name (`contacts`); a name without fields "
                                                          "answers an empty list.", {"type": "string"})]
            target = mapping.resources[association.resource] if association is not None else None
            for method, operation in route.methods.items():
                describe = DESCRIBED.get(operation.handler)
                if describe is None:
                    raise LookupError(f"no OpenAPI description of {operation.handler.__qualname__} "
                                      f"({method} /api/{'/'.join(route.shape)})")
                described = describe(Place(resource, association, target, has_id, operation.body,
                                           operation.guest, selectable))
                if described is None:  # not served for this resource (a route some resources have)
                    continue
                module = operation.handler.__module__.rsplit(".", 1)[-1]
                names = [module, operation.handler.__name__, *(n.name for n in (resource,) if n),
                         *(a.key for a in (association,) if a)]
                if sum(other.handler is operation.handler for other in route.methods.values()) > 1:
                    names.append(method.lower())  # one handler for two methods (a team's PUT and PATCH)
                tag = resource.name if resource is not None else TAGS.get(module, "API")
                item[method.lower()] = {"operationId": ".".join(names), "tags": [tag], **described}
    return {path: item for path, item in paths.items() if set(item) - {"parameters"}}


ID_TEXTS = {"filters": "A saved filter's id; on GET, the identifier (resource name) whose filters to list.",
            "personal-access-tokens": "A token id.", "tags": "A tag id.", "zapier": "A hook id.", "media": "A file id."}
TAGS = {"accounts": "Tokens and users", "users": "Tokens and users", "profile": "Tokens and users",
        "search": "Search", "openapi": "API", "comments": "comments", "documents": documents.RESOURCE,
        "brands": "brands", "teams": "teams", "tag_admin": "tags", "zapier": "Zapier hooks",
        "billables": "Products of deals and documents", "media": "Files of records", "saved_filters": "Saved filters"}


def build_openapi(mapping: ConcordMapping, registry: Registry) -> dict[str, Any]:
    """The whole document, from the mapping and the registry as they are now (custom fields included)."""
    schemas = shared_schemas(mapping)
    selectable = {}
    for name, resource in mapping.resources.items():
        entity = registry.entity(resource.entity_name)
        selectable[name] = selectable_keys(resource, entity)
        schemas.update(record_schemas(mapping, resource, entity))
        schemas.update(body_schemas(mapping, resource, entity))
        schemas[f"{name}.filters"] = filters_schema(list(dict.fromkeys(
            [*resource.rules, *(field.key for field in custom_fields_of(entity))])))
    document = {
        "openapi": "3.1.0",
        "info": {"title": "PolyCRM App CRM (Concord CRM)-compatible API", "version": APP_VERSION,
                 "description": "Concord CRM's REST API (specs/concord.md): JSON both ways, a Sanctum personal "
                                "access token as `Authorization: Bearer <token>`. Every answer carries "
                                "X-App-Version; authenticated ones X-RateLimit-Limit and -Remaining. HEAD is "
                                "served wherever GET is; a method a path does not serve is a 405 "
                                "(components/responses/MethodNotAllowed) naming the ones it does in `Allow`. A "
                                "request line or headers beyond some 64 KB are refused by the HTTP server itself "
                                "(a plain-text 400), before the API sees them."},
        "servers": [{"url": API_BASE}],
        "security": [{"BearerAuth": []}],
        "tags": [{"name": name} for name in [*mapping.resources, *dict.fromkeys(TAGS.values())]],
        "paths": _paths(mapping, selectable),
        "components": {
            "schemas": schemas, "responses": components_responses(), "parameters": components_parameters(),
            "headers": components_headers(),
            "securitySchemes": {"BearerAuth": {"type": "http", "scheme": "bearer", "description": (
                "A personal access token (`{id}|{secret}`): `POST /api/token`, `POST /api/personal-access-"
                "tokens` or `polycrm token create`.")}},
        },
    }
    return copy.deepcopy(document)  # no sharing of the schema constants between documents
