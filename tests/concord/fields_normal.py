"""How `GET /api/fields/...` answers are compared with Concord CRM 1.4.1's (tests/concord/peer_fields.json, its
answers on a fresh install): what only the store decides (moments, the users, the caller, custom field and
option ids, long option lists) is replaced by a mark; everything else, key order included, must be equal."""

from __future__ import annotations

from typing import Any

MOMENT = "<moment>"
KEPT_OPTIONS = 3  # long lists (countries, time zones) keep their length and first options


def normalized(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_field(field) for field in fields]


def _field(field: dict[str, Any]) -> dict[str, Any]:
    shown = {key: _value(key, value) for key, value in field.items()}
    if field.get("attribute") == "user_id" and "options" in field:
        shown["value"], shown["options"] = "<caller>", "<users>"
    if field.get("component") == "date-time-field" and isinstance(field.get("value"), str):
        shown["value"] = MOMENT
    if field.get("attribute") == "expected_close_date":
        shown["value"] = "<end of month>"
    custom = field.get("customField")
    if isinstance(custom, dict):
        # PolyCRM's field JSON has no timestamps; option ids are per field (Concord's count across fields).
        shown["customField"] = {key: value for key, value in custom.items() if key not in ("created_at", "updated_at")}
        shown["customField"]["id"] = "<id>"
        for option in shown["customField"].get("options", []):
            option["id"], option["custom_field_id"] = "<id>", "<id>"
        for option in shown.get("options") or []:
            option["id"] = "<id>"
    return shown


def _value(key: str, value: Any) -> Any:
    if key in ("created_at", "updated_at") and value:
        return MOMENT
    if isinstance(value, dict):
        return _field(value) if "component" in value else {k: _value(k, v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_value("", item) for item in value]
        if key in ("options", "timezones") and len(items) > KEPT_OPTIONS + 2:
            return [f"<{len(items)} options>", *items[:KEPT_OPTIONS]]
        return items
    return value
