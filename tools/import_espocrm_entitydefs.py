"""Regenerate PolyCRM's built-in entity definitions from EspoCRM's entityDefs.

Run once by a developer when the reference data changes:
    python tools/import_espocrm_entitydefs.py ../shared/reference/espocrm src/polycrm/meta/definitions/entities

Only what an API user can read or write and what PolyCRM stores is kept: fields and links that point at
entities PolyCRM does not have (Campaign, TargetList, ...) are dropped, and UI-only keys are stripped.
The output is data that PolyCRM owns from then on; hand edits (primary filters, overrides) live in
`OVERRIDES` below so a re-run keeps them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ENTITIES = ["Account", "Contact", "Lead", "Opportunity", "Call", "Meeting", "Task", "Case", "Document",
            "Email", "User", "Team"]
SUPPORTED_TYPES = {
    "varchar", "text", "wysiwyg", "url", "enum", "multiEnum", "array", "checklist", "int", "float", "bool",
    "date", "datetime", "datetimeOptional", "email", "phone", "link", "linkMultiple", "linkParent", "currency",
    "currencyConverted", "personName", "address", "autoincrement", "jsonArray", "jsonObject", "file", "image",
    "colorpicker", "barcode", "decimal",
}
KEPT_KEYS = {"type", "required", "readOnly", "readOnlyAfterCreate", "options", "default", "maxLength", "min",
             "max", "entity", "entityList", "typeList", "defaultType", "columns", "notStorable", "isSorted",
             "onlyAdmin"}
# EspoCRM's entityAcl/User.json: fields only administrators may change (a user's type, activity and teams
# decide what they may do).
ONLY_ADMIN_FIELDS = {("User", f) for f in ("type", "isActive", "teams", "defaultTeam")}
# Email addresses are relation tables in EspoCRM; PolyCRM stores the address strings on the record.
STORED_OVERRIDES = {("Email", f) for f in ("subject", "from", "to", "cc", "bcc", "fromName", "fromAddress")}
# EspoCRM's `scopes.<Entity>.stream` (application/Espo/Modules/Crm/Resources/metadata/scopes/*.json; the scopes
# are not in the reference data): the entities whose records users can follow. Call and Document have none.
STREAM_ENTITIES = {"Account", "Contact", "Lead", "Opportunity", "Case", "Meeting", "Task"}
INTERNAL_USER_FIELDS = {"password", "passwordConfirm", "passwordVersion", "apiKey", "secretKey", "authMethod",
                        "token", "authTokenId", "authLogRecordId", "ipAddress", "teamRole", "sendAccessInfo",
                        "auth2FA", "userData", "lastAccess", "emailAddressList", "userEmailAddressList",
                        "excludeFromReplyEmailAddressList", "recordAccessLevels", "avatarColor"}

# Junction columns typed by a field of the entity itself rather than by the foreign entity's: an event's
# attendees' acceptance status takes the event's `acceptanceStatus` options (the attendee entities' own
# `acceptanceStatus` is a plain varchar), as EspoCRM's UI offers them.
COLUMN_TYPED_BY = {("Meeting", "status"): "acceptanceStatus", ("Call", "status"): "acceptanceStatus"}

# Fields EspoCRM selects from a junction row through raw select expressions, which are not imported: a
# contact's `accountIsInactive` is the isInactive column of its row with its primary account (`accountId`).
PRIMARY_ROW_COLUMNS = {("Contact", "accountIsInactive"): {"link": "accounts", "column": "isInactive",
                                                          "through": "account"}}

OVERRIDES: dict[str, dict] = {
    "Account": {"duplicateCheckFields": ["name", "emailAddress"],
                "primaryFilters": {
                    "customers": [{"type": "equals", "attribute": "type", "value": "Customer"}],
                    "resellers": [{"type": "equals", "attribute": "type", "value": "Reseller"}],
                    "partners": [{"type": "equals", "attribute": "type", "value": "Partner"}],
                    "recentlyCreated": [{"type": "lastSevenDays", "attribute": "createdAt", "dateTime": True}]}},
    "Contact": {"duplicateCheckFields": ["name", "emailAddress"], "primaryFilters": {}},
    "Lead": {"duplicateCheckFields": ["name", "emailAddress"],
             "primaryFilters": {
                 "actual": [{"type": "notIn", "attribute": "status", "value": ["Converted", "Recycled", "Dead"]}],
                 "active": [{"type": "notIn", "attribute": "status", "value": ["Converted", "Recycled", "Dead"]}],
                 "converted": [{"type": "equals", "attribute": "status", "value": "Converted"}]}},
    "Opportunity": {"primaryFilters": {
        "open": [{"type": "notIn", "attribute": "stage", "value": ["Closed Won", "Closed Lost"]}],
        "won": [{"type": "equals", "attribute": "stage", "value": "Closed Won"}],
        "lost": [{"type": "equals", "attribute": "stage", "value": "Closed Lost"}]}},
    "Case": {"primaryFilters": {
        "open": [{"type": "notIn", "attribute": "status", "value": ["Closed", "Rejected", "Duplicate"]}],
        "closed": [{"type": "in", "attribute": "status", "value": ["Closed"]}]}},
    "Task": {"primaryFilters": {
        "actual": [{"type": "notIn", "attribute": "status", "value": ["Completed", "Canceled", "Deferred"]}],
        "completed": [{"type": "equals", "attribute": "status", "value": "Completed"}],
        "deferred": [{"type": "equals", "attribute": "status", "value": "Deferred"}],
        "todays": [{"type": "today", "attribute": "dateEnd", "dateTime": True},
                   {"type": "notIn", "attribute": "status", "value": ["Completed", "Canceled"]}],
        "overdue": [{"type": "past", "attribute": "dateEnd", "dateTime": True},
                    {"type": "notIn", "attribute": "status", "value": ["Completed", "Canceled"]}]}},
    "Call": {"primaryFilters": {
        "planned": [{"type": "equals", "attribute": "status", "value": "Planned"}],
        "held": [{"type": "equals", "attribute": "status", "value": "Held"}],
        "todays": [{"type": "today", "attribute": "dateStart", "dateTime": True}]}},
    "Meeting": {"primaryFilters": {
        "planned": [{"type": "equals", "attribute": "status", "value": "Planned"}],
        "held": [{"type": "equals", "attribute": "status", "value": "Held"}],
        "todays": [{"type": "today", "attribute": "dateStart", "dateTime": True}]}},
    "Document": {"primaryFilters": {
        "active": [{"type": "equals", "attribute": "status", "value": "Active"}],
        "draft": [{"type": "equals", "attribute": "status", "value": "Draft"}]}},
    # A user owns their own user record ("own" access to User is to oneself), as in EspoCRM; a team is
    # in the teams it is (the "team" level of Team).
    "User": {"ownerAttribute": "id", "primaryFilters": {
        "active": [{"type": "isTrue", "attribute": "isActive"},
                   {"type": "in", "attribute": "type", "value": ["regular", "admin"]}],
        "activeApi": [{"type": "isTrue", "attribute": "isActive"},
                      {"type": "equals", "attribute": "type", "value": "api"}],
        "api": [{"type": "equals", "attribute": "type", "value": "api"}],
        "internal": [{"type": "in", "attribute": "type", "value": ["regular", "admin"]}]}},
    "Team": {"teamAttribute": "id", "primaryFilters": {}},
    "Email": {"primaryFilters": {}},
}


def deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load(ref: Path, entity: str) -> dict:
    defs: dict = {}
    for layer in ("core", "crm"):
        path = ref / "entityDefs" / layer / f"{entity}.json"
        if path.exists():
            defs = deep_merge(defs, json.loads(path.read_text()))
    return defs


def junction_columns(entity: str, link_name: str, all_defs: dict[str, dict]) -> dict:
    """The typed junction columns of a many-to-many link, as PolyCRM keeps them (`Link.columns`): EspoCRM's
    `additionalColumns` of the link, each typed like the foreign entity's field that the same-named
    link-multiple field's `columns` names (EspoCRM validates column values by that field). Empty unless such a
    loaded link-multiple field exists."""
    defs = all_defs[entity]
    link = defs["links"][link_name]
    field = defs["fields"].get(link_name, {})
    if field.get("type") != "linkMultiple" or not field.get("columns") or field.get("noLoad"):
        return {}
    foreign_fields = all_defs[link["entity"]]["fields"]
    columns = {}
    for column, spec in link.get("additionalColumns", {}).items():
        typed_by = COLUMN_TYPED_BY.get((entity, column))
        source = defs["fields"][typed_by] if typed_by else foreign_fields.get(field["columns"].get(column, ""), {})
        kind = source.get("type", spec.get("type"))
        typed: dict = {"type": kind}
        if kind == "enum":
            typed["options"] = source["options"]
        if kind in {"varchar", "enum"}:
            typed["maxLength"] = source.get("maxLength") or int(spec["len"])
        if spec.get("default") is not None:
            typed["default"] = spec["default"]
        columns[column] = typed
    return columns


def column_filter_fields(entity: str, all_defs: dict[str, dict]) -> dict:
    """EspoCRM's notStorable fields that stand for a junction column in `column*` where items (`link` +
    `column`), where that link's junction keeps the column (on either side)."""
    defs = all_defs[entity]
    found = {}
    for name, field in defs.get("fields", {}).items():
        link = defs["links"].get(field.get("link", ""), {})
        target = link.get("entity")
        if not field.get("column") or target not in ENTITIES:
            continue
        here = junction_columns(entity, field["link"], all_defs)
        there = junction_columns(target, link.get("foreign", ""), all_defs) \
            if link.get("foreign") in all_defs[target]["links"] else {}
        if field["column"] in here or field["column"] in there:
            found[name] = {"link": field["link"], "column": field["column"]}
    return found


def convert(entity: str, all_defs: dict[str, dict]) -> dict:
    defs = all_defs[entity]
    links = {}
    for name, link in defs.get("links", {}).items():
        kind = link.get("type")
        target = link.get("entity")
        if kind == "belongsToParent" and not [e for e in defs["fields"].get(name, {}).get("entityList", [])
                                              if e in ENTITIES]:
            continue
        if kind == "belongsToParent" or target in ENTITIES:
            if kind in {"belongsTo", "hasMany", "hasChildren", "belongsToParent", "hasOne"}:
                links[name] = {k: v for k, v in link.items() if k in {"type", "entity", "foreign", "relationName"}}
                columns = junction_columns(entity, name, all_defs)
                if columns:
                    links[name]["additionalColumns"] = columns
                if "columnAttributeMap" in link:
                    links[name]["columnAttributeMap"] = link["columnAttributeMap"]
    fields = {}
    for name, field in defs.get("fields", {}).items():
        kind = field.get("type")
        if kind not in SUPPORTED_TYPES or (entity == "User" and name in INTERNAL_USER_FIELDS):
            continue
        stored = not field.get("notStorable") or (entity, name) in STORED_OVERRIDES \
            or (entity, name) in PRIMARY_ROW_COLUMNS
        if not stored and kind not in {"email", "phone", "personName"}:
            continue
        if kind in {"link", "linkMultiple"}:
            if name not in links:
                continue
            field = dict(field, entity=links[name].get("entity"))
        if kind == "linkParent":
            field = dict(field, entityList=[e for e in field.get("entityList", []) if e in ENTITIES])
            if not field["entityList"] or name not in links:
                continue
        kept = {k: v for k, v in field.items() if k in KEPT_KEYS}
        if kind == "linkMultiple" and "additionalColumns" not in links[name]:
            kept.pop("columns", None)  # columns of the foreign records, or never loaded: not kept
        if (entity, name) in STORED_OVERRIDES:
            kept.pop("notStorable", None)
            kept.pop("required", None)  # archived emails need no sender; sending fills it in
            kept["type"] = "text" if name in {"to", "cc", "bcc"} else "varchar"
        if (entity, name) in PRIMARY_ROW_COLUMNS:
            kept.update(readOnly=True, primaryRowColumn=PRIMARY_ROW_COLUMNS[(entity, name)])
        if kind in {"file", "image"}:
            # No attachment upload endpoint yet: the id is stored but cannot be demanded.
            kept.pop("required", None)
        if (entity, name) in ONLY_ADMIN_FIELDS:
            kept["onlyAdmin"] = True
        if isinstance(kept.get("default"), str) and kept["default"].startswith("javascript:"):
            kept.pop("default")
        fields[name] = kept
    out = {"fields": fields, "links": links,
           "collection": {k: v for k, v in defs.get("collection", {}).items()
                          if k in {"orderBy", "order", "textFilterFields"}},
           "indexes": defs.get("indexes", {})}
    if entity in STREAM_ENTITIES:
        out["stream"] = True
    filters = column_filter_fields(entity, all_defs)
    if filters:
        out["columnFilterFields"] = filters
    out.update(OVERRIDES.get(entity, {}))
    return out


def main(ref_dir: str, out_dir: str) -> None:
    ref, out = Path(ref_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    all_defs = {entity: load(ref, entity) for entity in ENTITIES}
    for entity in ENTITIES:
        (out / f"{entity}.json").write_text(json.dumps(convert(entity, all_defs), indent=2) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
