"""`GET Metadata` and `GET App/user`: EspoCRM's views of the live definitions and of the current user."""

from __future__ import annotations

from typing import Any

from polycrm.auth.acl import Actor
from polycrm.core.errors import NotFound
from polycrm.core.service import Core
from polycrm.meta import Entity


def _entity_defs(core: Core) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    for entity in core.registry.entities.values():
        fields = {}
        for field in entity.fields.values():
            fields[field.name] = dict(field.params, type=field.type) | ({"isCustom": True} if field.custom else {})
        links = {name: {k: v for k, v in (("type", link.type), ("entity", link.entity), ("foreign", link.foreign))
                        if v is not None} for name, link in entity.links.items()}
        defs[entity.name] = {"fields": fields, "links": links,
                             "collection": {"orderBy": entity.order_by, "order": entity.order,
                                            "textFilterFields": entity.text_filter_fields}}
    return defs


def _select_defs(entity: Entity) -> dict[str, list[str]]:
    """The filters an entity's lists take by name; `followed` where its records can be followed."""
    followed = ["followed"] if entity.stream else []
    return {"primaryFilterList": list(entity.primary_filters) + followed,
            "boolFilterList": ["onlyMy", "onlyMyTeam"] + followed}


def _currency_metadata(core: Core) -> dict[str, Any]:
    settings = core.currency.current()
    return {"list": list(settings.currency_list), "default": settings.default, "base": settings.base,
            "rates": dict(settings.rates)}


def metadata(core: Core, actor: Actor, key: str | None) -> Any:
    """The metadata object, or the value at a dotted `key` (404 when the path does not exist)."""
    readable = [core.registry.entity(e) for e in core.registry.names() if actor.can(e, "read")]
    defs = _entity_defs(core)
    data: dict[str, Any] = {
        "entityDefs": {e.name: defs[e.name] for e in readable},
        "scopes": {e.name: {"entity": True, "object": True, "acl": True, "customizable": True,
                            "stream": e.stream, "disabled": False,
                            **({"statusField": e.status_field} if e.status_field else {})} for e in readable},
        "app": {"currency": _currency_metadata(core)},
        "selectDefs": {e.name: _select_defs(e) for e in readable},
    }
    if not key:
        return data
    value: Any = data
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise NotFound("Metadata key does not exist.")
        value = value[part]
    return value


def app_user(core: Core, actor: Actor, user: dict[str, Any], token: str | None) -> dict[str, Any]:
    entities = core.registry.names()
    table: dict[str, Any] = {}
    for name, levels in actor.acl_table(entities).items():
        # Following needs read access (core/follows.py): the stream level of an entity with a stream.
        stream = levels["read"] if core.registry.entity(name).stream else "no"
        table[name] = {"create": levels["create"], "read": levels["read"], "edit": levels["edit"],
                       "delete": levels["delete"], "stream": stream}
    user = dict(user, isAdmin=actor.is_admin)
    return {
        "user": user,
        "acl": {"table": table, "fieldTable": {}, "assignmentPermission": "all" if actor.is_admin else "team",
                "massUpdatePermission": actor.is_admin or actor.mass_update},
        "preferences": {"timeZone": "UTC", "language": "en_US"},
        "token": token,
        "settings": {**core.currency.current().to_json(), "recordsPerPage": 20, "timeZone": "UTC"},
        "language": "en_US",
        "appParams": {"maxUploadSize": None},
    }
