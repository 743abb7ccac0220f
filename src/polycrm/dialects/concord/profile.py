"""The caller's own account (Concord's ProfileController, specs/concord.md §2 "Users"): `PUT /api/profile` (name,
email, locale, time zone, date and time formats: all required, as Concord's ProfileRequest) and
`PUT /api/profile/password` (the current password, the new one and its confirmation).

Every user may change their own profile whatever their roles (core.users.profile_editor); the write goes
through the record service and the user directory, as `PUT /api/users/{id}` does. Roles, `super_admin` and
`access_api` are not the caller's to change here (Concord drops them too), nor the password without the
current one: those keys are ignored and named in `X-PolyCRM-Warning`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection
from starlette.responses import Response

from polycrm.auth.directory import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from polycrm.core.users import USER_ENTITY, profile_editor
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import answer, invalid, invalid_field, no_content
from polycrm.dialects.concord.users import UserBody, shown_user

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

# Concord's ProfileRequest: required keys in its rule order (the order its 422 lists them in).
REQUIRED = ("name", "email", "time_format", "date_format", "locale", "timezone")
KEYS = frozenset({*REQUIRED, "default_landing_page"})
CURRENT = "Current Password"  # the old_password attribute's label (auth::auth.current_password)
INCORRECT = "The password is incorrect."  # Laravel's current_password rule


def update(api: ConcordApi, request: ConcordRequest) -> Response:
    """`PUT /api/profile`: the caller's user, changed, as `GET /api/me` shows it."""
    actor = request.user
    parsed = UserBody(api, request.body, user_id=actor.user_id, required=frozenset(REQUIRED), keys=KEYS)
    if parsed.errors:
        order = {key: place for place, key in enumerate((*REQUIRED, "default_landing_page"))}
        raise invalid(dict(sorted(parsed.errors.items(), key=lambda item: order.get(item[0], -1))))
    if parsed.ignored:
        request.warnings.append(f"keys ignored (not part of a profile): {', '.join(parsed.ignored)}")
    user, _ = api.core.records(USER_ENTITY).update(profile_editor(actor), actor.user_id, parsed.values)
    api.directory.forget_actors()
    return answer(shown_user(api, actor, user))


def change_password(api: ConcordApi, request: ConcordRequest) -> Response:
    """`PUT /api/profile/password`: 204 once the current password matched and the new one is set."""
    body = request.body
    if not isinstance(body, dict):
        raise invalid_field("body", "The request body must be a JSON object.")
    errors: dict[str, list[str]] = {}
    old = _string(body, "old_password", CURRENT, errors)
    new = _string(body, "password", "password", errors)
    confirmation = _string(body, "password_confirmation", "password confirmation", errors)
    if old is not None:
        if len(old) < 6:  # Concord's min:6 on the current password
            errors.setdefault("old_password", []).append(f"The {CURRENT} field must be at least 6 characters.")
        if len(old) > MAX_PASSWORD_LENGTH or \
                api.directory.verify_password(request.user.user_name, old) != request.user.user_id:
            errors.setdefault("old_password", []).append(INCORRECT)
    if new is not None:
        messages = errors.setdefault("password", [])
        if len(new) < MIN_PASSWORD_LENGTH:  # Concord: 6; PolyCRM's own rule is stricter
            messages.append(f"The password field must be at least {MIN_PASSWORD_LENGTH} characters.")
        if len(new) > MAX_PASSWORD_LENGTH:
            messages.append(f"The password field must not be greater than {MAX_PASSWORD_LENGTH} characters.")
        if new != body.get("password_confirmation"):
            messages.append("The password field confirmation does not match.")
        if new == old:
            messages.append(f"The password field and {CURRENT} must be different.")
        if not messages:
            del errors["password"]
    if confirmation is not None and len(confirmation) < MIN_PASSWORD_LENGTH:
        errors.setdefault("password_confirmation", []).append(
            f"The password confirmation field must be at least {MIN_PASSWORD_LENGTH} characters.")
    if errors:
        raise invalid(errors)
    assert new is not None

    def store(conn: Connection, user_id: int) -> bool:
        api.directory.store_password(conn, user_id, new)
        return True

    api.core.records(USER_ENTITY).update(profile_editor(request.user), request.user.user_id, {}, attach=store)
    return no_content()


def _string(body: dict[str, Any], key: str, label: str, errors: dict[str, list[str]]) -> str | None:
    """A password key's value (not trimmed); None, with its error, when missing or not a string."""
    value = body.get(key)
    if value is None or value == "":
        errors[key] = [f"The {label} field is required."]
    elif not isinstance(value, str):
        errors[key] = [f"The {label} field must be a string."]
    else:
        return value
    return None
