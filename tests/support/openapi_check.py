"""Check real responses against an OpenAPI 3.1 document (the EspoCRM and Concord dialects' `build_openapi`).

    validator = ResponseValidator(build_openapi(registry))
    validator.validate("GET", "/api/v1/Account/12/contacts", 200, response.content, response.headers["content-type"])
    validator.check(response)  # the same for an httpx / Starlette TestClient response, headers included

Any mismatch raises AssertionError naming the operation, the status and what is wrong. `unmatched` names, by
status, the component response that answers a path or method the document lacks (Concord's 404 and 405).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Mapping
from urllib.parse import unquote, urlparse

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:polycrm:openapi"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class ResponseValidator:
    """Finds the operation of a concrete request path and validates status and JSON body."""

    def __init__(self, spec: dict[str, Any], *, unmatched: Mapping[int, str] | None = None):
        self.spec = spec
        self.unmatched = dict(unmatched or {})
        servers = spec.get("servers") or [{"url": "/"}]
        self.base_path = urlparse(servers[0]["url"]).path.rstrip("/")
        self._registry = Registry().with_resource(SPEC_URI, Resource.from_contents(
            spec, default_specification=DRAFT202012))
        self._templates = [(template, self._segments(template)) for template in spec.get("paths", {})]
        self._validators: dict[str, Draft202012Validator] = {}

    @staticmethod
    def _segments(path: str) -> list[str]:
        stripped = path.strip("/")
        return stripped.split("/") if stripped else []

    # --- lookup -----------------------------------------------------------------------------------

    def match_paths(self, path: str) -> list[tuple[str, dict[str, str]]]:
        """Templates matching a concrete path (with or without the server base), best first: literal
        segments beat parameters, earlier segments weigh more (first match in the route table wins)."""
        path = urlparse(path).path
        if self.base_path and (path == self.base_path or path.startswith(self.base_path + "/")):
            path = path[len(self.base_path):]
        concrete = [unquote(s) for s in self._segments(path)]
        found = []
        for template, segments in self._templates:
            if len(segments) != len(concrete):
                continue
            params: dict[str, str] = {}
            for pattern, value in zip(segments, concrete):
                if pattern.startswith("{") and pattern.endswith("}"):
                    if not value:
                        break
                    params[pattern[1:-1]] = value
                elif pattern != value:
                    break
            else:
                rank = tuple(s.startswith("{") for s in segments)
                found.append((rank, template, params))
        found.sort(key=lambda item: item[0])
        return [(template, params) for _, template, params in found]

    def find_operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        """(template, operation) for a request, or AssertionError if the document has none."""
        candidates = self.match_paths(path)
        for template, _ in candidates:
            operation = self.spec["paths"][template].get(method.lower())
            if operation is not None:
                return template, operation
        if candidates:
            raise AssertionError(f"{method.upper()} {path}: path matches {[t for t, _ in candidates]} but no "
                                 f"documented operation has method {method.upper()}")
        raise AssertionError(f"{method.upper()} {path}: no documented path matches")

    def _resolve(self, node: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
        """Follow local `$ref`s of non-schema objects (responses, parameters), keeping the JSON pointer."""
        seen = set()
        while "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/") or ref in seen:
                raise AssertionError(f"unresolvable reference {ref!r} at {pointer}")
            seen.add(ref)
            pointer = ref[1:]
            node = self.spec
            for token in pointer[1:].split("/"):
                node = node[token.replace("~1", "/").replace("~0", "~")]
        return node, pointer

    def _validator(self, pointer: str) -> Draft202012Validator:
        validator = self._validators.get(pointer)
        if validator is None:
            validator = Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=self._registry)
            self._validators[pointer] = validator
        return validator

    # --- validation -------------------------------------------------------------------------------

    def validate(self, method: str, path: str, status: int, body: bytes | None, content_type: str | None,
                 headers: Mapping[str, str] | None = None) -> None:
        """Status and body; with `headers`, also that the documented required headers are there."""
        if status in (401, 404, 405) and not self.match_paths(path) and not (body or b"").strip():
            return  # an undocumented path (unknown entity type or link) may only answer with a bare error
        if status == 405 and not (body or b"").strip() and not any(
                method.lower() in self.spec["paths"][template] for template, _ in self.match_paths(path)):
            return  # a method the path does not take: a bare 405, its Allow header naming the ones it does
        try:
            template, operation = self.find_operation(method, path)
        except AssertionError:
            if status not in self.unmatched:
                raise
            name = self.unmatched[status]
            response, pointer = self._resolve(self.spec["components"]["responses"][name], f"/components/responses/{name}")
            self._check(f"{method.upper()} {path} (undocumented, status {status})", response, pointer, status,
                        body, content_type, headers)
            return
        where = f"{method.upper()} {path} (operation {operation.get('operationId', template)!r}, status {status})"
        responses = operation.get("responses", {})
        key = next((k for k in (str(status), f"{status // 100}XX", "default") if k in responses), None)
        if key is None:
            raise AssertionError(f"{where}: status {status} is not documented (documented: {sorted(responses)})")
        pointer = f"/paths/{_escape(template)}/{method.lower()}/responses/{key}"
        response, pointer = self._resolve(responses[key], pointer)
        self._check(where, response, pointer, status, body, content_type, headers)

    def _check(self, where: str, response: dict[str, Any], pointer: str, status: int, body: bytes | None,
               content_type: str | None, headers: Mapping[str, str] | None) -> None:
        if headers is not None:
            for name, header in (response.get("headers") or {}).items():
                header, _ = self._resolve(header, pointer)
                if header.get("required") and name.lower() not in {key.lower() for key in headers}:
                    raise AssertionError(f"{where}: required header {name} is missing")
        content = response.get("content") or {}
        empty = body is None or not body.strip()
        if empty:
            if content and status < 400:
                raise AssertionError(f"{where}: empty body, expected {sorted(content)}")
            return  # error bodies are optional: only some errors carry one
        if not content:
            raise AssertionError(f"{where}: the response has a body but none is documented: {body[:200]!r}")
        media = (content_type or "").split(";")[0].strip().lower()
        if media not in content:  # a media range (`*/*`, `text/*`) documents any type it covers
            media = next((r for r in (f"{media.split('/')[0]}/*", "*/*") if r in content), media)
        if media not in content:
            raise AssertionError(f"{where}: content type {content_type!r} is not documented ({sorted(content)})")
        if "schema" not in content[media]:
            return
        if media != "application/json" and not media.endswith("+json"):
            return
        try:
            value = json.loads(body)
        except ValueError as exc:
            raise AssertionError(f"{where}: body is not valid JSON ({exc}): {body[:200]!r}") from None
        schema_pointer = f"{pointer}/content/{_escape(media)}/schema"
        error = best_match(self._validator(schema_pointer).iter_errors(value))
        if error is not None:
            location = "".join(f"[{p!r}]" for p in error.absolute_path) or "(root)"
            raise AssertionError(f"{where}: body{location}: {error.message} "
                                 f"(schema path {'/'.join(map(str, error.absolute_schema_path))})")

    def check(self, response: Any) -> None:
        """Validate an httpx (or Starlette TestClient) response against the document."""
        request = response.request
        self.validate(request.method, request.url.path, response.status_code, response.content,
                      response.headers.get("content-type"), response.headers)


# Validators by document builder and the custom fields their registry has (`validator_for`).
_VALIDATORS: dict[tuple, ResponseValidator] = {}


def validator_for(registry: Any, build: Callable[[Any], dict[str, Any]], *,
                  unmatched: Mapping[int, str] | None = None) -> ResponseValidator:
    """The validator of the document `build` makes of this registry: built once per builder and set of custom
    fields (the built-in document, which most tests see, once per test process)."""
    fingerprint = (build, tuple(sorted(
        (e.name, f.name, f.type, orjson.dumps(f.params, option=orjson.OPT_SORT_KEYS),
         orjson.dumps(f.api_names, option=orjson.OPT_SORT_KEYS)) for e, f in registry.custom_fields())))
    validator = _VALIDATORS.get(fingerprint)
    if validator is None:
        validator = _VALIDATORS[fingerprint] = ResponseValidator(build(registry), unmatched=unmatched)
    return validator


# --- the document itself --------------------------------------------------------------------------

def walk_refs(node: Any) -> list[str]:
    """Every `$ref` in a document."""
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in walk_refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in walk_refs(value)]
    return []


def pointer(spec: dict[str, Any], ref: str) -> Any:
    """What a local reference (`#/components/...`) points at; KeyError if nothing."""
    node: Any = spec
    for token in ref[2:].split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def resolved(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    return pointer(spec, node["$ref"]) if "$ref" in node else node


def assert_valid_openapi(spec: dict[str, Any]) -> None:
    """The document is OpenAPI 3.1 by the specification's own meta-schema (the one Schemathesis ships), its
    schemas are JSON Schemas, every reference resolves, operation ids are unique and every path's
    template parameters are declared, as path parameters, by each of its operations."""
    from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR  # here: a second's import otherwise

    errors = [f"{list(error.instance_path)}: {error}"[:300] for error in OPENAPI_31_VALIDATOR.iter_errors(spec)]
    assert not errors, "\n".join(errors[:10])
    for schema in spec.get("components", {}).get("schemas", {}).values():
        Draft202012Validator.check_schema(schema)
    for ref in set(walk_refs(spec)):
        assert ref.startswith("#/"), ref
        pointer(spec, ref)  # resolves
    ids = []
    for path, item in spec["paths"].items():
        at_path = {resolved(spec, p)["name"] for p in item.get("parameters", []) if resolved(spec, p)["in"] == "path"}
        template = set(re.findall(r"{(\w+)}", path))
        for method, operation in item.items():
            if method not in METHODS:
                continue
            ids.append(operation["operationId"])
            declared = at_path | {resolved(spec, p)["name"] for p in operation.get("parameters", [])
                                  if resolved(spec, p)["in"] == "path"}
            assert declared == template, (path, method, declared)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
