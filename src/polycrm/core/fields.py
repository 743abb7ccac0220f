"""Runtime custom fields: validated here, stored as real columns by the store."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Collection, Iterable, Mapping

import orjson
from sqlalchemy.engine import Connection

from polycrm.core.errors import BadRequest, Conflict, Forbidden, NotFound
from polycrm.core.files import FILE_FIELD_TYPES
from polycrm.core.values import RecordInput, nul_location
from polycrm.events.subscriptions import remove_field_subscriptions
from polycrm.meta.fieldtypes import CUSTOM_FIELD_TYPES, expand
from polycrm.meta.model import Entity, Field
from polycrm.meta.registry import CustomFieldDefinition
from polycrm.store.database import ColumnsStillPresent, Database
from polycrm.store.files import FileRepository
from polycrm.store.schema import MAX_IDENTIFIER_LENGTH

NAME_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9]{0,39}$")
API_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Per dialect: entity name -> API names its built-in fields (and the protocol itself) already use.
ReservedApiNames = Callable[[str], Collection[str]]
ALLOWED_PARAMS = {"options", "default", "required", "maxLength", "min", "max", "readOnly", "tooltip", "label",
                  "optionIds", "dialectParams"}
# Parameters a field keeps for life: its column is made from them.
FIXED_PARAMS = ("maxLength",)
# Types whose values are chosen among `options`; each option has a stable number (`optionIds`, see option_ids).
OPTION_FIELD_TYPES = frozenset({"enum", "multiEnum", "checklist"})
OPTION_IDS = "optionIds"
# What a protocol keeps about a field for itself, by dialect (Concord's field type, its options' colours):
# stored and shown with the field, never read by the core.
DIALECT_PARAMS = "dialectParams"
MAX_DIALECT_PARAMS = 20_000  # characters of a field's dialectParams as JSON


@dataclass(frozen=True, slots=True)
class RemovedField:
    """What went with a removed custom field besides its column: webhook subscriptions to its updates and
    the files stored as its values."""

    field: Field
    webhook_ids: list[int]
    file_count: int


def custom_field_name(name: str) -> str:
    """EspoCRM names custom fields with a `c` prefix: `loyalty` -> `cLoyalty` (kept if already prefixed)."""
    if not NAME_PATTERN.match(name or ""):
        raise BadRequest("Field name must start with a letter and hold only letters and digits (max 40).")
    if re.match(r"^c[A-Z]", name):
        return name
    return "c" + name[0].upper() + name[1:]


def option_ids(field: Field) -> dict[str, int]:
    """Every option an option field has had -> its number (1, 2, ... in the order options were added, never
    reused), for protocols that name options by number (Concord's option ids); values stay option names.
    A field stored before numbers were kept has its options numbered by position."""
    stored = field.params.get(OPTION_IDS)
    if isinstance(stored, dict):
        return dict(stored)
    return {option: position for position, option in enumerate(field.options or (), start=1)}


def _numbered(params: dict[str, Any], previous: Mapping[str, int]) -> dict[str, Any]:
    """`params` with `optionIds` numbering every option: known ones keep their number (removed ones keep
    theirs too, so it is never given again), new ones take the next."""
    ids = dict(previous)
    last = max(ids.values(), default=0)
    for option in params["options"]:
        if option not in ids:
            last += 1
            ids[option] = last
    return dict(params, **{OPTION_IDS: ids})


def _check_dialect_params(value: Any) -> None:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, dict) for k, v in value.items()):
        raise BadRequest(f"'{DIALECT_PARAMS}' must be an object of objects by dialect.")
    try:
        size = len(orjson.dumps(value))
    except TypeError:
        raise BadRequest(f"'{DIALECT_PARAMS}' must be JSON.") from None
    if size > MAX_DIALECT_PARAMS:
        raise BadRequest(f"'{DIALECT_PARAMS}' must hold at most {MAX_DIALECT_PARAMS} characters of JSON.")


def _check_params(field_type: str, params: dict[str, Any]) -> dict[str, Any]:
    unknown = set(params) - ALLOWED_PARAMS
    if unknown:
        raise BadRequest(f"Unknown field parameter '{sorted(unknown)[0]}'.")
    location = nul_location(params)
    if location is not None:
        raise BadRequest(f"Field parameter '{location}' must not contain NUL characters.")
    options = params.get("options")
    if field_type in OPTION_FIELD_TYPES:
        if not isinstance(options, list) or not options or not all(isinstance(o, str) and len(o) <= 255
                                                                   for o in options):
            raise BadRequest(f"A {field_type} field needs 'options': a non-empty list of strings.")
        if len(set(options)) != len(options):
            raise BadRequest("Options must be unique.")
    elif options is not None and field_type != "array":
        raise BadRequest(f"A {field_type} field takes no options.")
    if OPTION_IDS in params and field_type not in OPTION_FIELD_TYPES:
        raise BadRequest(f"A {field_type} field has no '{OPTION_IDS}'.")
    if DIALECT_PARAMS in params:
        _check_dialect_params(params[DIALECT_PARAMS])
    if field_type == "file" and params.get("required"):
        raise BadRequest("A file field cannot be required: files are attached after the record exists.")
    if "label" in params and (not isinstance(params["label"], str) or not 1 <= len(params["label"]) <= 255):
        raise BadRequest("'label' must be a string of 1..255 characters.")
    if "tooltip" in params and params["tooltip"] is not None and (
            not isinstance(params["tooltip"], str) or len(params["tooltip"]) > 4000):
        raise BadRequest("'tooltip' must be a string of at most 4000 characters.")
    for key in ("required", "readOnly"):
        if key in params and not isinstance(params[key], bool):
            raise BadRequest(f"'{key}' must be true or false.")
    if "maxLength" in params:
        limit = params["maxLength"]
        if field_type != "varchar" or isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 4000:
            raise BadRequest("'maxLength' applies to varchar fields and must be 1..4000.")
    for key in ("min", "max"):
        if key in params and (field_type not in {"int", "float", "currency"} or isinstance(params[key], bool)
                              or not isinstance(params[key], (int, float))):
            raise BadRequest(f"'{key}' applies to number fields and must be a number.")
    return params


def add_custom_field(database: Database, entity_name: str, name: str, field_type: str,
                     params: dict[str, Any] | None = None, api_names: dict[str, str] | None = None, *,
                     reserved: Mapping[str, ReservedApiNames] | None = None) -> Field:
    """Create a custom field (a real, indexed column) and return it. `name` is final (already prefixed)."""
    if entity_name not in database.registry:
        raise BadRequest(f"Unknown entity type '{entity_name}'.")
    if field_type not in CUSTOM_FIELD_TYPES:
        raise BadRequest(f"Field type '{field_type}' is not supported; use one of {', '.join(CUSTOM_FIELD_TYPES)}.")
    params = _check_params(field_type, dict(params or {}))
    if OPTION_IDS in params:
        raise BadRequest(f"'{OPTION_IDS}' are given by PolyCRM: a new field's options are numbered in their order.")
    if field_type in OPTION_FIELD_TYPES:
        params = _numbered(params, {})
    api_names = dict(api_names or {})
    entity = database.registry.entity(entity_name)
    candidate = Field(name, field_type, dict(params, type=field_type), custom=True)
    _check_default(entity, candidate)

    def check(stored: Entity) -> None:
        # Against the entity as stored, inside the transaction that adds the column (see Database).
        check_field_names(stored, candidate)
        check_api_names(stored, name, api_names, reserved or {})

    try:
        database.add_custom_field(CustomFieldDefinition(entity_name, name, field_type, params, api_names), check)
    except ColumnsStillPresent as exc:
        raise Conflict(str(exc)) from None
    return database.registry.entity(entity_name).fields[name]


def _check_default(entity: Entity, field: Field) -> None:
    """A default must be a value the field accepts (ValidationFailure otherwise)."""
    if field.params.get("default") is None:
        return
    checker = RecordInput(entity)
    for attribute in expand(field):
        if attribute.name == field.name:
            checker.convert(attribute, field, field.params["default"])


def custom_field(database: Database, entity_name: str, field_name: str, action: str) -> Field:
    """A custom field that is to be `action`ed (changed, removed): NotFound for an unknown entity or field,
    Forbidden for a built-in one."""
    if entity_name not in database.registry:
        raise NotFound(f"Entity type '{entity_name}' does not exist.")
    field = database.registry.entity(entity_name).fields.get(field_name)
    if field is None:
        raise NotFound(f"No field '{field_name}' on {entity_name}.")
    if not field.custom:
        raise Forbidden(f"'{field_name}' is a built-in field of {entity_name}: only custom fields can be {action}.")
    return field


def update_custom_field(database: Database, entity_name: str, field_name: str, changes: Mapping[str, Any],
                        api_names: Mapping[str, str | None], reserved: Mapping[str, ReservedApiNames]) -> Field:
    """Change a custom field's parameters (label, options, required, default, ...) and API names by
    dialect, all or nothing; a parameter or API name given as null is removed. Its type and column-shaping
    parameters (`maxLength`) cannot change."""
    field = custom_field(database, entity_name, field_name, "changed")
    new_api_names = dict(field.api_names)
    for dialect, api_name in api_names.items():
        if api_name is None or api_name == "":
            new_api_names.pop(dialect, None)
        else:
            check_api_names(database.registry.entity(entity_name), field_name, {dialect: api_name}, reserved)
            new_api_names[dialect] = api_name
    changes = dict(changes)
    if changes.pop("type", field.type) != field.type:
        raise BadRequest("A field's type cannot be changed: remove the field and add a new one.")
    if changes.pop("name", field_name) != field_name:
        raise BadRequest("A field cannot be renamed: remove the field and add a new one.")
    if changes.pop(OPTION_IDS, field.params.get(OPTION_IDS)) != field.params.get(OPTION_IDS):
        raise BadRequest(f"'{OPTION_IDS}' are kept by PolyCRM: new options are numbered as they are added.")
    params = {k: v for k, v in field.params.items() if k != "type"}
    for key in FIXED_PARAMS:
        if key in changes and changes[key] != params.get(key):
            raise BadRequest(f"'{key}' cannot be changed: the field's column is made from it.")
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    params = _check_params(field.type, params)
    if field.type in OPTION_FIELD_TYPES:
        params = _numbered(params, option_ids(field))
    _check_default(database.registry.entity(entity_name), Field(field_name, field.type,
                                                                dict(params, type=field.type), custom=True))
    database.set_custom_field_params(entity_name, field_name, params, new_api_names)
    return database.registry.entity(entity_name).fields[field_name]


def remove_custom_field(database: Database, entity_name: str, field_name: str,
                        remove_files: Callable[[Iterable[str]], None]) -> RemovedField:
    """Remove a custom field with its column and index. Webhook subscriptions to its updates are removed
    (their reason recorded) and its files deleted (`remove_files` deletes their content after the commit);
    API names go with the field's definition."""
    field = custom_field(database, entity_name, field_name, "removed")
    webhook_ids: list[int] = []
    file_keys: list[str] = []

    def clean_up(conn: Connection) -> None:
        webhook_ids.extend(remove_field_subscriptions(database, conn, entity_name, field_name))
        if field.type in FILE_FIELD_TYPES:
            file_keys.extend(FileRepository(database).delete_of_field(conn, entity_name, field_name))

    if not database.remove_custom_field(entity_name, field_name, clean_up):
        raise NotFound(f"No field '{field_name}' on {entity_name}.")
    if file_keys:
        remove_files(file_keys)
    return RemovedField(field, webhook_ids, len(file_keys))


def check_field_names(entity: Entity, field: Field) -> None:
    """A new field may not take a name the entity uses (built-in or custom field, attribute, link) even in
    another letter case: `fooBar` and `fooBAR` would share the column `c_foo_bar`, and clients and the other
    protocols' API names treat names case-insensitively. Nor may it take a column the entity has, or one
    longer than PostgreSQL keeps (it would cut two long names to one)."""
    taken = {name.lower(): name for name in [*entity.links, *entity.relation_column_attributes(),
                                             *entity.attributes, *entity.fields]}
    columns = {a.column: a.name for a in entity.attributes.values() if a.column is not None}
    if field.name in entity.fields:
        raise Conflict(f"Field '{field.name}' already exists on {entity.name}.")
    for name, column in [(field.name, None), *((a.name, a.column) for a in expand(field))]:
        existing = taken.get(name.lower())
        if existing is not None:
            detail = "" if existing == name else ": names must differ in more than letter case"
            raise Conflict(f"Field '{field.name}' collides with '{existing}' on {entity.name}{detail}.")
        if column in columns:
            raise Conflict(f"Field '{field.name}' would share the column '{column}' of '{columns[column]}' on "
                           f"{entity.name}.")
        if column is not None and len(column) > MAX_IDENTIFIER_LENGTH:
            raise BadRequest(f"Field name '{field.name}' is too long: its column '{column}' would exceed "
                             f"{MAX_IDENTIFIER_LENGTH} characters.")


def check_api_names(entity: Entity, field_name: str, api_names: Mapping[str, str],
                    reserved: Mapping[str, ReservedApiNames]) -> None:
    """API names must be well-formed and unique per entity and dialect (ignoring letter case), and not
    taken by a built-in field or a key of the protocol."""
    for dialect, api_name in api_names.items():
        if not isinstance(api_name, str) or not API_NAME_PATTERN.match(api_name):
            raise BadRequest(f"Bad API name for {dialect}.")
        taken = {n.lower() for n in reserved[dialect](entity.name)} if dialect in reserved else set()
        taken.update(f.api_names[dialect].lower() for f in entity.fields.values()
                     if f.name != field_name and f.api_names.get(dialect))
        if api_name.lower() in taken:
            raise Conflict(f"API name '{api_name}' is already used on {entity.name} ({dialect}).")


def set_custom_field_api_name(database: Database, entity_name: str, field_name: str, dialect: str,
                              api_name: str | None, reserved: Mapping[str, ReservedApiNames]) -> Field:
    """Give a custom field an API name for one dialect, change it, or (with None) remove it."""
    if entity_name not in database.registry:
        raise BadRequest(f"Unknown entity type '{entity_name}'.")
    entity = database.registry.entity(entity_name)
    field = entity.fields.get(field_name)
    if field is None:
        raise BadRequest(f"No field '{field_name}' on {entity_name}.")
    if not field.custom:
        raise BadRequest(f"'{field_name}' is a built-in field: its API names are fixed by each dialect's mapping.")
    api_names = dict(field.api_names)
    if api_name is None:
        api_names.pop(dialect, None)
    else:
        api_names[dialect] = api_name
        check_api_names(entity, field_name, {dialect: api_name}, reserved)
    database.set_custom_field_api_names(entity_name, field_name, api_names)
    return field
