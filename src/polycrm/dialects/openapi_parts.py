"""Pieces every dialect's OpenAPI 3.1 document is built of (EspoCRM's `espo/openapi.py`, Concord's
`concord/openapi.py`): JSON content, references into `components`, parameters and nullable types."""

from __future__ import annotations

from typing import Any

SCHEMAS = "#/components/schemas/"


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    """A `content` map of one JSON body."""
    return {"application/json": {"schema": schema}}


def ref(kind: str, name: str) -> dict[str, str]:
    """A reference to `#/components/<kind>/<name>`."""
    return {"$ref": f"#/components/{kind}/{name}"}


def schema_ref(name: str) -> dict[str, str]:
    return {"$ref": SCHEMAS + name}


def path_param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"},
            "description": description}


def query_param(name: str, schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, "description": description, **extra}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` that also takes null (a copy; `type` becomes a list with "null")."""
    kind = schema.get("type")
    if kind is None:
        return schema
    kinds = list(kind) if isinstance(kind, list) else [kind]
    return {**schema, "type": kinds if "null" in kinds else [*kinds, "null"]}
