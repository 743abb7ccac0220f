"""Sanctum's token endpoints and the caller's own user (specs/concord.md §1 "Token creation flow", §2 Users):
`POST /api/token`, `GET/POST /api/personal-access-tokens`, `DELETE /api/personal-access-tokens/{id}`,
`GET /api/me`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from polycrm.auth.concord_tokens import MAX_NAME_LENGTH
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import ConcordError, answer, invalid, no_content, not_found, too_many
from polycrm.dialects.concord.render import concord_datetime
from polycrm.dialects.concord.users import shown_user
from polycrm.dialects.concord.field_readers import MAX_STRING

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

FAILED_LOGIN = "These credentials do not match our records."
TOKEN_NAMES = frozenset({"name", "device_name"})  # keys that name the token made
USER_MODEL = "Modules\\Users\\Models\\User"
_TOKEN_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits that fit the id column


def _required_strings(body: Any, keys: tuple[str, ...]) -> dict[str, str]:
    """The body's string values of `keys`; 422 naming each one missing (blank, as Laravel trims input; a
    password is not trimmed), not a string, or too long (a token's name: what PolyCRM keeps of one)."""
    body = body if isinstance(body, dict) else {}
    errors: dict[str, list[str]] = {}
    for key in keys:
        value = body.get(key)
        label = key.replace("_", " ")
        limit = MAX_NAME_LENGTH if key in TOKEN_NAMES else MAX_STRING
        if value is None or value == "" or (isinstance(value, str) and key != "password" and not value.strip()):
            errors[key] = [f"The {label} field is required."]
        elif not isinstance(value, str):
            errors[key] = [f"The {label} field must be a string."]
        elif len(value) > limit:
            errors[key] = [f"The {label} field must not be greater than {limit} characters."]
    if errors:
        raise invalid(errors)
    return {key: body[key] for key in keys}


def issue_token(api: ConcordApi, request: ConcordRequest) -> Response:
    """`POST /api/token`: email and password for a new token named `device_name`. Throttled per client
    address, failed or not (Concord's `throttle:api` for guests)."""
    decision = api.limiter.hit(api.token_rate, "concord-token", request.ip)
    if not decision.allowed:
        raise too_many(decision.retry_after, decision.reset_at, decision.limit)
    # The guests' throttle tells its budget on every answer, as the users' does
    limits = {"X-RateLimit-Limit": str(decision.limit), "X-RateLimit-Remaining": str(decision.remaining)}
    try:
        given = _required_strings(request.body, ("email", "password", "device_name"))
        user_id = api.directory.verify_email_password(given["email"], given["password"])
        if user_id is None:
            raise invalid({"email": [FAILED_LOGIN]})
    except ConcordError as error:
        error.headers.update(limits)
        raise
    issued = api.directory.create_concord_token(user_id, given["device_name"])
    user = api.core.records("User").read_without_acl(user_id)
    return answer({"accessToken": issued.plain_text, "userId": user_id, "email": user.get("emailAddress"),
                   "name": user.get("name")}, headers=limits)


def token_row(token: Any) -> dict[str, Any]:
    """A token row as Sanctum serialises it (its hash hidden)."""
    return {"id": token.id, "tokenable_type": USER_MODEL, "tokenable_id": token.user_id, "name": token.name,
            "abilities": list(token.abilities), "last_used_at": concord_datetime(token.last_used_at),
            "expires_at": concord_datetime(token.expires_at), "created_at": concord_datetime(token.created_at),
            "updated_at": concord_datetime(token.updated_at)}


def list_tokens(api: ConcordApi, request: ConcordRequest) -> Response:
    return answer([token_row(t) for t in api.directory.list_concord_tokens(request.user.user_id)])


def create_token(api: ConcordApi, request: ConcordRequest) -> Response:
    name = _required_strings(request.body, ("name",))["name"]
    issued = api.directory.create_concord_token(request.user.user_id, name)
    row = token_row(issued.info)
    # A new token's row: no `last_used_at` yet, keys in the order Eloquent set them (§9 "Users and tokens").
    new = {key: row[key] for key in ("name", "abilities", "expires_at", "tokenable_id", "tokenable_type",
                                     "updated_at", "created_at", "id")}
    return answer({"accessToken": new, "plainTextToken": issued.plain_text}, 201)


def revoke_token(api: ConcordApi, request: ConcordRequest) -> Response:
    """Only the caller's own tokens; any other id is not found."""
    token_id = request.record_id
    if not _TOKEN_ID.fullmatch(token_id) or not api.directory.revoke_concord_token(int(token_id),
                                                                                 owner_id=request.user.user_id):
        raise not_found(f"No query results for model [Laravel\\Sanctum\\PersonalAccessToken] {token_id}")
    return no_content()


def me(api: ConcordApi, request: ConcordRequest) -> Response:
    actor = request.user
    return answer(shown_user(api, actor, api.core.records("User").read_without_acl(actor.user_id)))
