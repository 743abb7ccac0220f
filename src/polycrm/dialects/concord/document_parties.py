"""A document's `signers` and `recipients` through Concord (specs/concord.md §2 "Documents"): read from a
document's create or update body with the checks and messages of Concord 1.4.1's ValidatesDocument, and shown
on every document (index rows and single records) as its DocumentResource shows them: signers as
DocumentSignerResource objects, recipients as `{name, email, send_email}`. The resource file's `parts` names
the keys, each one's link, label and shown keys; the rules of writing them are core/document_parties.py's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from polycrm.core.document_parties import PartiesInput, parties_of
from polycrm.dialects.concord.field_readers import LARAVEL_EMAIL, MAX_STRING, Parsed
from polycrm.dialects.concord.render import concord_datetime

if TYPE_CHECKING:
    from polycrm.dialects.concord.mapping import Resource
    from polycrm.dialects.concord.view import ViewSource

MAX_PARTIES = 100  # signers or recipients of one document (Concord sets no bound)
WRITABLE = {"name": "name", "email": "email", "send_email": "sendEmail"}  # a part's body keys -> its fields
_SHOWN_ONLY = frozenset({"sent_at", "signed_at", "signature", "sign_ip"})  # sent back with a record: dropped
_TRUE, _FALSE = (True, 1, "1", "true", "on", "yes"), (False, 0, "0", "false", "off", "no", "", None)


def read_parties(resource: Resource, body: Any, parsed: Parsed, *, creating: bool) -> PartiesInput | None:
    """The signers and recipients a body gives (None when the resource has none; a list not given is None);
    failures go into `parsed`, in Laravel's order: each key's list, then its items' names, then their
    addresses."""
    if not resource.parts or not isinstance(body, dict):
        return None
    given = PartiesInput()
    ignored: set[str] = set()
    for key, part in resource.parts.items():
        if key not in body:
            continue
        items = _items(key, body[key], parsed)
        if items is None:
            continue
        values = [{} for _ in items]
        for index, item in enumerate(items):  # names first, then addresses (Laravel's rule order)
            name = _text(parsed, f"{key}.{index}.name", item.get("name"), f"{part['label']} name")
            if name is not None:
                values[index]["name"] = name
        for index, item in enumerate(items):
            email = _text(parsed, f"{key}.{index}.email", item.get("email"), f"{part['label']} email", email=True)
            if email is not None:
                values[index]["email"] = email
        for index, item in enumerate(items):
            ignored.update(k for k in item if k not in WRITABLE and k not in _SHOWN_ONLY)
            flag = item.get("send_email")
            if "send_email" not in item:
                continue  # a signer kept keeps its own (Concord fills what is given)
            if flag not in _TRUE and flag not in _FALSE or isinstance(flag, float):
                parsed.fail(f"{key}.{index}.send_email", f"The {key}.{index}.send_email field must be true or false.")
            else:
                values[index]["sendEmail"] = flag in _TRUE
        setattr(given, key, values)
    if ignored:
        parsed.notes.append(f"keys ignored (not kept for signers and recipients): {', '.join(sorted(ignored))}")
    if creating and given.signers is None:
        given.signers = []
    return given  # even without signers: an update that drops the signature requirement drops the signers


def _items(key: str, value: Any, parsed: Parsed) -> list[Mapping[str, Any]] | None:
    """A key's items (none for null); None after a failure. An item that is no object has neither name nor
    address, as Laravel reads it."""
    if value is None:
        return []
    if not isinstance(value, list):
        parsed.fail(key, f"The {key} field must be an array.")
        return None
    if len(value) > MAX_PARTIES:
        parsed.fail(key, f"The {key} field must not have more than {MAX_PARTIES} items.")
        return None
    return [item if isinstance(item, dict) else {} for item in value]


def _text(parsed: Parsed, key: str, value: Any, label: str, *, email: bool = False) -> str | None:
    """A required string of up to 191 characters (trimmed, as Laravel's TrimStrings), with Concord's messages:
    its own label where it gives one (required, e-mail), the key's in the string rule's."""
    if isinstance(value, str):
        value = value.strip() or None
    if value is None:
        parsed.fail(key, f"The {label} field is required.")
        return None
    if not isinstance(value, str):
        parsed.fail(key, f"The {key} field must be a string.")
        if email:
            parsed.fail(key, f"The {label} field must be a valid email address.")
        return None
    if len(value) > MAX_STRING:
        parsed.fail(key, f"The {key} field must not be greater than {MAX_STRING} characters.")
        return None
    if email and not LARAVEL_EMAIL.fullmatch(value):
        parsed.fail(key, f"The {label} field must be a valid email address.")
        return None
    return value


def shown_parties(api: ViewSource, resource: Resource, rows: Sequence[dict[str, Any]]) -> None:
    """Add each part key to the rows (in place), right after `user_id` as Concord's DocumentResource puts them
    after the owner: one read per key for all the rows."""
    if not resource.parts or not rows:
        return
    ids = [row["id"] for row in rows]
    document = api.core.registry.entity(resource.entity_name)
    entities = {key: api.core.registry.entity(document.links[part["link"]].entity or "")
                for key, part in resource.parts.items()}
    with api.core.database.connect() as conn:
        found = {key: parties_of(conn, api.core.records, entity.name, ids) for key, entity in entities.items()}
    for row in rows:
        shown = {key: [{name: _shown(entities[key], field, party.get(field)) for name, field in part["shown"].items()}
                       for party in found[key].get(row["id"], [])] for key, part in resource.parts.items()}
        placed: dict[str, Any] = {}
        for key, value in row.items():
            placed[key] = value
            if key == "user_id":
                placed.update(shown)
        placed.update({key: value for key, value in shown.items() if key not in placed})
        row.clear()
        row.update(placed)


def _shown(entity: Any, field: str, value: Any) -> Any:
    kind = entity.fields[field].type if field in entity.fields else None
    if kind == "datetime":
        return concord_datetime(value)
    return bool(value) if kind == "bool" else value


# --- OpenAPI (openapi_schemas.py) ----------------------------------------------------------------------

def parts_shown_schema(resource: Resource) -> dict[str, Any]:
    """A record's part keys as shown (`shown_parties`): lists of closed objects of their shown keys."""
    return {key: {"type": "array", "items": {"type": "object", "required": list(part["shown"]),
                                             "properties": {name: {} for name in part["shown"]},
                                             "additionalProperties": False}}
            for key, part in resource.parts.items()}


def parts_written_schema(resource: Resource) -> dict[str, Any]:
    """The part keys a write takes (`read_parties`): lists of {name, email, send_email}."""
    item = {"type": "object", "required": ["name", "email"], "properties": {
        "name": {"type": "string", "maxLength": MAX_STRING},
        "email": {"type": "string", "maxLength": MAX_STRING, "format": "email"},
        "send_email": {"type": ["boolean", "integer", "string", "null"]}}}
    return {key: {"type": ["array", "null"], "maxItems": MAX_PARTIES, "items": item,
                  "description": f"The {part['label']}s: given, they replace the record's (null: none)."}
            for key, part in resource.parts.items()}
