"""Concord's field metadata (specs/concord.md §2 "field metadata (used by Zapier)"): `GET /api/fields/{group}/create`
and `GET /api/fields/{group}/update`, the Vue field objects Concord's forms (and Zapier's Concord app) are built
from, as Concord CRM 1.4.1 answers them.

All of it is data: `form_components.json` holds the keys every field object has and what each component adds;
each resource's `form` (resources/*.json) lists its fields in Concord's order with what differs from their
component, their labels coming from the resource's `fields` (or the associated resource's label). Values only a
running store knows (the caller as the default owner, the users, sources, pipelines and their stages, countries,
today's date) are placeholders filled here; custom fields (`cf_`) join with their type's component and
`customField` as `GET /api/custom-fields` shows the field.

As Concord: a group without fields (documents, users, an unknown name) is an empty list; every user sees the
same fields (a limited user too: Concord marks none read-only), the owner's default being the caller.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import datetime, timezone
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any, Iterator

from starlette.responses import Response

from polycrm.auth.acl import Actor
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.core.users import USER_ENTITY, directory_reader
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.custom_fields import CUSTOM_FIELD_RESOURCES, render as render_custom_field
from polycrm.dialects.concord.custom_types import CustomField, custom_fields
from polycrm.dialects.concord.envelope import answer
from polycrm.dialects.concord.lookups import countries, currencies, timezones
from polycrm.dialects.concord.mapping import Resource, load_spec
from polycrm.dialects.concord.users import gravatar
from polycrm.dialects.concord.view import ResourceView
from polycrm.query.tree import Compare, Op, Sort

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

CREATE, UPDATE, IMPORT = "create", "update", "import"
# The keys that put a field on a view's form (Concord's filterForCreation()->visibleOnCreate() and the update pair).
_SHOWN = {CREATE: ("applicableForCreation", "showOnCreation"), UPDATE: ("applicableForUpdate", "showOnUpdate"),
          IMPORT: ()}  # every field of the form, those shown on demand included (Concord's fieldsForImport)
_MAX_OPTIONS = 1000  # records listed as a select's options (Concord lists every one)
# Concord's user options are loaded without their e-mail address, so each shows the Gravatar of "".
_NO_ADDRESS_AVATAR = f"https://www.gravatar.com/avatar/{hashlib.md5(b'', usedforsecurity=False).hexdigest()}?s=40"


def create_fields(api: ConcordApi, request: ConcordRequest) -> Response:
    return answer(form_fields(api, request.user, request.params["group"], CREATE))


def update_fields(api: ConcordApi, request: ConcordRequest) -> Response:
    return answer(form_fields(api, request.user, request.params["group"], UPDATE))


def form_fields(api: ConcordApi, actor: Actor, group: str, view: str) -> list[dict[str, Any]]:
    """The field objects of `group`'s create or update form, in Concord's order."""
    form = _forms().get(group)
    resource = api.mapping.resources.get(group)
    if form is None or resource is None:
        return []
    labels = _labels(api, resource)
    filler = _Filler(api, actor, resource)
    shown = []
    for field in _composed(api, resource, form, labels):
        if all(field[key] for key in _SHOWN[view]):
            shown.append(filler.fill(field))
    return shown


# --- composing a field from the data ---------------------------------------------------------------------


@cache
def _components() -> dict[str, Any]:
    return json.loads(files("polycrm.dialects.concord").joinpath("form_components.json").read_text())


@cache
def _forms() -> dict[str, dict[str, Any]]:
    return {name: spec["form"] for name, spec in load_spec()["resources"].items() if "form" in spec}


def _labels(api: ConcordApi, resource: Resource) -> dict[str, str]:
    """A key's label: its field's, else (an association) the associated resource's."""
    labels = {item.key: item.label for item in resource.fields}
    for key, association in resource.associations.items():
        target = api.mapping.resources.get(association.resource)
        if target is not None:
            labels.setdefault(key, target.label_plural)
    return labels


def _composed(api: ConcordApi, resource: Resource, form: dict[str, Any],
              labels: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Every field of the form, the custom fields where Concord puts them (before `customBefore`, else last)."""
    extra: list[dict[str, Any]] = []
    if resource.name in CUSTOM_FIELD_RESOURCES:
        entity = api.core.records(resource.entity_name).entity
        extra = [_custom_entry(resource, item) for item in custom_fields(entity)
                 if item.type.name and item.custom_id is not None]
    placed = False
    for entry in form["fields"]:
        if entry["attribute"] == form.get("customBefore") and not placed:
            yield from (compose(item, labels) for item in extra)
            placed = True
        yield compose(entry, labels)
    if not placed:
        yield from (compose(item, labels) for item in extra)


def _custom_entry(resource: Resource, item: CustomField) -> dict[str, Any]:
    component = _components()["customTypes"][item.type.name]
    shown = render_custom_field(resource, item)
    shown["is_unique"] = None  # Concord's column when the field was made not unique
    return {"attribute": item.key, "component": component, "label": item.label, "customField": shown,
            "$custom": item}


def compose(entry: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """One field object: the base keys, the component's defaults, the entry's values; then the component's own
    keys (in the entry's `extraKeys` order when it has one), the entry's values over theirs."""
    data = _components()
    name = entry["component"]
    component = data["components"][name]
    field: dict[str, Any] = {"component": name,
                             "formComponent": component.get("formComponent", f"form-{name}"),
                             "detailComponent": component.get("detailComponent", f"detail-{name}"),
                             "indexComponent": component.get("indexComponent", f"index-{name}")}
    field.update(data["base"])
    field.update(component.get("defaults", {}))
    field["label"] = labels.get(entry["attribute"]) if entry["attribute"] is not None else None
    own = component["extra"]
    for key, value in entry.items():
        if key in field:
            field[key] = value
    if isinstance(field["inlineEditWith"], list):
        field["inlineEditWith"] = [compose(item, labels) for item in field["inlineEditWith"]]
    elif isinstance(field["inlineEditWith"], dict):
        field["inlineEditWith"] = compose(field["inlineEditWith"], labels)
    order = entry["extraKeys"] if "extraKeys" in entry else [*own, *(key for key in entry if key not in field and key not in own
                                              and key not in ("extraKeys", "$custom"))]
    for key in order:
        field[key] = entry[key] if key in entry else own[key]
    if "$custom" in entry:
        field["$custom"] = entry["$custom"]
    return field


# --- filling placeholders -----------------------------------------------------------------------------


class _Filler:
    """Fills a composed field's placeholders ({"$": name, ...}) for one caller, each list read once."""

    def __init__(self, api: ConcordApi, actor: Actor, resource: Resource):
        self.api = api
        self.actor = actor
        self.resource = resource
        self.now = datetime.now(timezone.utc)
        self._read: dict[str, Any] = {}

    def fill(self, field: dict[str, Any]) -> dict[str, Any]:
        custom = field.pop("$custom", None)
        return {key: self._value(value, custom) for key, value in field.items()}

    def _value(self, value: Any, custom: CustomField | None) -> Any:
        if isinstance(value, list):
            return [self._value(item, custom) for item in value]
        if not isinstance(value, dict):
            return value
        name = value.get("$")
        if name is None:
            return {key: self._value(item, custom) for key, item in value.items()} if \
                "component" not in value else self.fill(value)
        if name == "customOptions":
            return [option.shown() for option in custom.options] if custom is not None else []
        return getattr(self, f"_{name}")(value)

    def _once(self, key: str, read: Any) -> Any:
        if key not in self._read:
            self._read[key] = read()
        return self._read[key]

    def _me(self, _: dict[str, Any]) -> dict[str, Any]:
        user = next((row for row in self._users_read() if row["id"] == self.actor.user_id), None)
        if user is None:
            return {"id": self.actor.user_id, "name": None, "avatar_url": None}
        return {"id": user["id"], "name": user.get("name"), "avatar_url": gravatar(user.get("emailAddress"))}

    def _users(self, _: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"id": row["id"], "name": row.get("name"), "avatar_url": _NO_ADDRESS_AVATAR}
                for row in self._users_read()]

    def _users_read(self) -> list[dict[str, Any]]:
        def read() -> list[dict[str, Any]]:
            query = SearchQuery(sorts=[Sort("name"), Sort("id")], limit=_MAX_OPTIONS,
                                select=["id", "name", "emailAddress"], total=TotalMode.NONE)
            return self.api.core.records(USER_ENTITY).search(directory_reader(self.actor), query).records
        return self._once("users", read)

    def _countries(self, _: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"name": row["name"], "id": row["id"]} for row in sorted(countries(), key=_by_name)]

    def _rows(self, name: str) -> list[dict[str, Any]]:
        """The records of resource `name` the caller may read, as its index rows, by title (as MySQL orders
        text: case aside)."""
        def read() -> list[dict[str, Any]]:
            view = ResourceView.of(self.api, self.api.mapping.resources[name])
            query = SearchQuery(sorts=[Sort("id")], limit=_MAX_OPTIONS, select=view.attributes(),
                                total=TotalMode.NONE)
            found = self.api.core.records(view.entity.name).search_visible(self.actor, query).records
            # A key the row lacks is the model's own column of that name (a source's `flag`).
            rows = [{**record, **row} for record, row in zip(found, view.index_rows(self.actor, found))]
            return sorted(rows, key=_by_name)
        return self._once(name, read)

    def _records(self, value: dict[str, Any]) -> list[dict[str, Any]]:
        return [_kept(row, value["keys"]) for row in self._rows(value["resource"])]

    def _defaultRecord(self, value: dict[str, Any]) -> int | None:  # noqa: N802 (the placeholder's name)
        """The id a create takes when the link `key` is left out (the mapping field's `defaultRecord`)."""
        spec = self.resource.by_key[value["key"]]
        assert spec.default_record is not None, f"{value['key']} names no default record"
        target = self.api.core.records(self.resource.entity_name).entity.links[spec.field].entity
        query = SearchQuery(where=Compare(spec.default_record, Op.EQ, True), sorts=[Sort("id")], limit=1,
                            select=["id"], total=TotalMode.NONE)
        found = self.api.core.records(target).search_visible(self.actor, query).records
        return found[0]["id"] if found else None

    def _pipelines_read(self) -> list[dict[str, Any]]:
        return self._rows("pipelines")

    def _default_pipeline_row(self) -> dict[str, Any] | None:
        rows = sorted(self._pipelines_read(), key=lambda row: row["id"])
        return next((row for row in rows if row.get("is_primary")), rows[0] if rows else None)

    def _defaultPipeline(self, value: dict[str, Any]) -> dict[str, Any] | None:  # noqa: N802
        row = self._default_pipeline_row()
        return None if row is None else _pipeline(row, value["keys"], value["stageKeys"])

    def _pipelines(self, value: dict[str, Any]) -> list[dict[str, Any]]:
        return [_pipeline(row, value["keys"], value["stageKeys"]) for row in self._pipelines_read()]

    def _stages(self, value: dict[str, Any]) -> list[dict[str, Any]]:
        row = self._default_pipeline_row()
        return [] if row is None else [_kept(stage, value["keys"]) for stage in row.get("stages") or []]

    def _defaultStage(self, value: dict[str, Any]) -> dict[str, Any] | None:  # noqa: N802
        stages = self._stages(value)
        return stages[0] if stages else None

    def _now(self, _: dict[str, Any]) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def _endOfMonth(self, _: dict[str, Any]) -> str:  # noqa: N802
        following = self.now.replace(day=28).toordinal() + 4  # a day of the next month
        first_next = datetime.fromordinal(following).replace(day=1)
        return datetime.fromordinal(first_next.toordinal() - 1).strftime("%Y-%m-%d")

    def _currency(self, value: dict[str, Any]) -> dict[str, Any]:
        shown = dict(currencies()[value["code"]])
        symbol = shown["symbol"]
        # Concord's Currency object: the list's keys with `rate` after `code`, then its prefix and suffix.
        ordered = {"name": shown.pop("name"), "code": shown.pop("code"), "rate": 1, **shown}
        first = bool(shown.get("symbol_first"))
        return {**ordered, "prefix": symbol if first else "", "suffix": "" if first else symbol,
                "iso_code": value["code"]}

    def _timezones(self, _: dict[str, Any]) -> list[str]:
        return list(timezones())


def _by_name(row: dict[str, Any]) -> tuple[str, int]:
    """MySQL's order of names (utf8mb4_unicode_ci: case and accents aside, `Åland` among the A's)."""
    name = unicodedata.normalize("NFKD", str(row.get("name") or ""))
    return "".join(char for char in name if not unicodedata.combining(char)).casefold(), row["id"]


def _kept(row: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {key: row.get(key) for key in keys}


def _pipeline(row: dict[str, Any], keys: list[str], stage_keys: list[str]) -> dict[str, Any]:
    shown = _kept(row, keys)
    if "stages" in shown:
        shown["stages"] = [_kept(stage, stage_keys) for stage in row.get("stages") or []]
    return shown
