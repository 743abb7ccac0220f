"""Concord's `users` resource (specs/concord.md §2, §4 "Users", §9 "Users and tokens"): `GET/POST /api/users`,
`GET/PUT/DELETE /api/users/{id}` over PolyCRM users.

Every user lists and reads users, as Concord's UserPolicy lets them (core.users.directory_reader); only super
admins (PolyCRM administrators) create, change or delete one. Writes go through the record service with the
password and roles written in the record's transaction by the user directory (hashing, roles), so the core's
rules hold: the last active administrator stays, nobody deletes themself. Validation is Concord's
`Resources\\User::rules()`, its messages naming plain attributes ("The name field is required.").
"""

from __future__ import annotations

import hashlib

import re
from typing import TYPE_CHECKING, Any, Callable, Iterable

from sqlalchemy.engine import Connection
from starlette.responses import Response

from polycrm.auth.acl import Actor
from polycrm.auth.directory import DirectoryError, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, USER_NAME_PATTERN
from polycrm.core.errors import NotFound
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.core.users import ADMIN, USER_ENTITY, directory_reader
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.custom_types import time_zones
from polycrm.dialects.concord.envelope import answer, conflict, forbidden, invalid, no_content, record_not_found
from polycrm.dialects.concord.filters import FilterError
from polycrm.dialects.concord.listing import SearchColumn, SearchFieldsRejected, parse_order, parse_search
from polycrm.dialects.concord.pages import PageLinks, page_number, page_size, paginated
from polycrm.dialects.concord.render import concord_datetime
from polycrm.dialects.concord.user_teams import teams_of
from polycrm.dialects.concord.field_readers import MAX_STRING, as_integer
from polycrm.query.tree import Compare, Op, Sort

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

MODEL = "Modules\\Users\\Models\\User"
EMAIL_TAKEN = "The email has already been taken."  # Laravel's unique rule
OWN_ACCOUNT = "You cannot delete your own account."  # users::user.delete_own_account_warning, a 409
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Request key -> User field, for the plain strings and the choices (Concord's config lists).
_CHOICE_KEYS = {"time_format": "timeFormat", "date_format": "dateFormat", "locale": "locale"}
REQUIRED = frozenset({"name", "email", "password", "timezone", "time_format", "date_format"})
_NULLABLE = {"locale": "locale", "default_landing_page": "defaultLandingPage"}  # emptied by "" or null
MAX_ROLES = 100
_SEARCH = {"name": SearchColumn("name", "name", "like"), "email": SearchColumn("email", "emailAddress", "like"),
           "id": SearchColumn("id", "id", "=")}
_SORTABLE = {"id": "id", "name": "name", "email": "emailAddress", "created_at": "createdAt",
             "updated_at": "modifiedAt"}
_ATTRIBUTES = ["id", "name", "firstName", "lastName", "userName", "emailAddress", "type", "apiAccess", "timeZone",
               "timeFormat", "dateFormat", "locale", "defaultLandingPage", "createdAt", "modifiedAt"]
# Keys a user record shows that a client may send back; not written.
_READ_ONLY = frozenset({"id", "display_name", "path", "created_at", "updated_at", "authorizations",
                        "was_recently_created", "avatar", "uploaded_avatar_url", "avatar_url", "mail_signature",
                        "guest_email", "guest_display_name", "teams", "notifications", "permissions"})


def user_id_of(request: ConcordRequest) -> int:
    """The path id as Concord casts it (`7abc` is 7); 404 naming User's model when there is none."""
    number = as_integer(re.match(r"\d{0,18}", request.record_id).group(0) or "0")
    if not number:
        raise record_not_found(MODEL, request.record_id)
    return number


def _choices(api: ConcordApi, field: str) -> list[str]:
    return [option for option in api.core.registry.entity(USER_ENTITY).fields[field].params.get("options", [])
            if option]


def render_user(api: ConcordApi, viewer: Actor, user: dict[str, Any], *, created: bool = False,
                teams: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A user as Concord's UserResource shows it (its key order, on `/api/me` too; a user is no UI resource:
    no display_name or path), with what PolyCRM keeps of one: no uploaded avatar, so the Gravatar of the
    address Concord falls back to; its `teams` (user_teams.teams_of) where Concord loads them, else `[]`, as
    Concord shows a user nested in a team or a comment; no dashboards, notifications or permissions; `roles`
    for super admins."""
    fields = api.core.registry.entity(USER_ENTITY).fields

    def setting(name: str) -> Any:
        return user.get(name) or fields[name].params.get("default")

    email = user.get("emailAddress")
    shown = {"id": user["id"], "name": user.get("name"), "email": email, "timezone": setting("timeZone"),
             "locale": setting("locale"), "avatar": None, "uploaded_avatar_url": None, "avatar_url": gravatar(email),
             "mail_signature": None, "guest_email": email, "guest_display_name": user.get("name"),
             "teams": teams or [], "super_admin": user.get("type") == ADMIN, "access_api": bool(user.get("apiAccess")),
             "time_format": setting("timeFormat"), "date_format": setting("dateFormat"),
             "default_landing_page": user.get("defaultLandingPage")}
    if viewer.is_admin:
        shown["roles"] = [{"id": role_id, "name": name}
                          for role_id, name in api.directory.roles_of(int(user["id"])).items()]
    shown.update({"created_at": concord_datetime(user.get("createdAt")),
                  "updated_at": concord_datetime(user.get("modifiedAt")),
                  "authorizations": {"viewAny": True, "view": True, "create": viewer.is_admin,
                                     "update": viewer.is_admin,
                                     "delete": viewer.is_admin and viewer.user_id != user["id"]},
                  "was_recently_created": created})
    return shown


def gravatar(email: str | None) -> str | None:
    """Concord's `avatar_url` of a user or contact without an uploaded picture."""
    if not email:
        return None
    digest = hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?s=40"


# --- reads ------------------------------------------------------------------------------------------


def index(api: ConcordApi, request: ConcordRequest) -> Response:
    reader = directory_reader(request.user)
    per_page, page = page_size(request), page_number(request)
    try:
        where = parse_search(request.text("q") or "", request.text("search_fields"), request.text("search_match"),
                             _SEARCH, api.core.registry.entity(USER_ENTITY))
        sorts = parse_order(request.query.get("order"), _SORTABLE, [Sort("name")])
    except FilterError as error:
        raise invalid({error.key: [error.message]}) from None
    except SearchFieldsRejected as error:
        raise forbidden("None of the search fields were accepted. Acceptable search fields are: "
                        + ",".join(error.accepted)) from None
    query = SearchQuery(where=where, sorts=[*sorts, Sort("id")], offset=(page - 1) * per_page, limit=per_page,
                        select=_ATTRIBUTES, total=TotalMode.COUNT)
    result = api.core.records(USER_ENTITY).search(reader, query)
    teams = teams_of(api, request.user, [user["id"] for user in result.records])
    rows = [render_user(api, request.user, user, teams=teams[user["id"]]) for user in result.records]
    return answer(paginated(rows, total=result.total or 0, page=page, per_page=per_page, links=PageLinks(request)))


def _read(api: ConcordApi, actor: Actor, raw: str, user_id: int) -> dict[str, Any]:
    try:
        return api.core.records(USER_ENTITY).read(directory_reader(actor), user_id)
    except NotFound:
        raise record_not_found(MODEL, raw) from None


def show(api: ConcordApi, request: ConcordRequest) -> Response:
    return answer(shown_user(api, request.user, _read(api, request.user, request.record_id, user_id_of(request))))


def shown_user(api: ConcordApi, viewer: Actor, user: dict[str, Any], *, created: bool = False) -> dict[str, Any]:
    """One user with their teams, as Concord shows a user it reads on its own (`/api/users/{id}`, `/api/me`)."""
    return render_user(api, viewer, user, created=created, teams=teams_of(api, viewer, [user["id"]])[user["id"]])


def users_by_id(api: ConcordApi, viewer: Actor, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The live users of these ids, as every user may read them (Concord's UserPolicy), by id: the users a
    record nests (a team's manager and members), in one query."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = SearchQuery(where=Compare("id", Op.IN, tuple(wanted)), sorts=[Sort("id")], limit=len(wanted),
                        select=_ATTRIBUTES, total=TotalMode.NONE)
    found = api.core.records(USER_ENTITY).search(directory_reader(viewer), query).records
    return {int(user["id"]): user for user in found}


# --- writes -----------------------------------------------------------------------------------------


class UserBody:
    """A users body checked as Concord's rules check it: the User values, the password and the role ids."""

    def __init__(self, api: ConcordApi, body: Any, *, user_id: int | None, required: frozenset[str] = frozenset(),
                 keys: frozenset[str] | None = None):
        """`required`: keys required on this write too (a profile's, on every update); `keys`: the keys read
        (default: all), the others ignored."""
        self.api = api
        self.user_id = user_id
        self.creating = user_id is None
        self.required = required
        self.values: dict[str, Any] = {}
        self.password: str | None = None
        self.roles: list[int] | None = None
        self.ignored: list[str] = []
        self.errors: dict[str, list[str]] = {}
        if not isinstance(body, dict):
            self.fail("body", "The request body must be a JSON object.")
            return
        self.body = body
        readers: dict[str, Callable[[str, Any], None]] = {
            "name": self._name, "email": self._email, "password": self._password, "timezone": self._timezone,
            "time_format": self._choice, "date_format": self._choice, "locale": self._choice, "roles": self._roles,
            "super_admin": self._flag, "access_api": self._flag, "default_landing_page": self._landing_page}
        if keys is not None:
            readers = {key: reader for key, reader in readers.items() if key in keys}
        for key, reader in readers.items():
            if key in body or (self.creating and key in REQUIRED) or key in required:
                value = self._present(key)
                if value is not None:
                    reader(key, value)
        self.ignored = [key for key in body if key not in readers and key not in _READ_ONLY
                        and (key != "password_confirmation" or keys is not None)]
        if self.values.get("type") == ADMIN:
            self.values["apiAccess"] = True  # Concord's UserService: a super admin has API access

    def fail(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    def _present(self, key: str) -> Any:
        """A key's value; None when absent or empty, a required one reported (Laravel's `required` on create,
        `filled` on update) and an optional one emptied."""
        value = self.body.get(key)
        if isinstance(value, str) and key != "password":
            value = value.strip()  # Laravel trims input and reads "" as null
        if value is None or value == "" or (value == [] and key != "roles"):  # roles: [] takes every role away
            if key in self.required or (key in REQUIRED and (self.creating or key != "password")):
                self.fail(key, f"The {_label(key)} field "
                               f"{'is required' if self.creating or key in self.required else 'must have a value'}.")
            elif key in _NULLABLE:
                self.values[_NULLABLE[key]] = None
            return None
        return value

    def _string(self, key: str, value: Any) -> str | None:
        if not isinstance(value, str):
            self.fail(key, f"The {_label(key)} field must be a string.")
        elif len(value) > MAX_STRING:
            self.fail(key, f"The {_label(key)} field must not be greater than {MAX_STRING} characters.")
        else:
            return value
        return None

    def _name(self, key: str, value: Any) -> None:
        if (name := self._string(key, value)) is not None:
            first, _, last = name.rpartition(" ")  # PolyCRM keeps a person's name in two parts
            self.values.update(firstName=first.strip() or None, lastName=last)

    def _email(self, key: str, value: Any) -> None:
        if self._string(key, value) is None:
            return
        if not _EMAIL.fullmatch(value):
            self.fail(key, "The email field must be a valid email address.")
        elif self.api.directory.email_in_use(value, excluding=self.user_id) or \
                self.api.core.records("Contact").value_taken("emailAddress", value):
            self.fail(key, EMAIL_TAKEN)  # users' and contacts' addresses are one namespace, as on contacts
        else:
            self.values["emailAddress"] = value

    def _password(self, key: str, value: Any) -> None:
        if not isinstance(value, str):
            self.fail(key, "The password field must be a string.")
        elif value != self.body.get("password_confirmation"):
            self.fail(key, "The password field confirmation does not match.")
        elif len(value) < MIN_PASSWORD_LENGTH:  # Concord: 6; PolyCRM's own rule is stricter
            self.fail(key, f"The password field must be at least {MIN_PASSWORD_LENGTH} characters.")
        elif len(value) > MAX_PASSWORD_LENGTH or "\x00" in value:
            self.fail(key, f"The password field must not be greater than {MAX_PASSWORD_LENGTH} characters.")
        else:
            self.password = value

    def _timezone(self, key: str, value: Any) -> None:
        if self._string(key, value) is None:
            return
        if value not in time_zones():
            self.fail(key, "The timezone field must be a valid timezone.")
        else:
            self.values["timeZone"] = value

    def _choice(self, key: str, value: Any) -> None:
        field = _CHOICE_KEYS[key]
        if not isinstance(value, str) or value not in _choices(self.api, field):
            self.fail(key, "This locale does not exists." if key == "locale" else f"The selected {_label(key)} is invalid.")
        else:
            self.values[field] = value

    def _roles(self, key: str, value: Any) -> None:
        if not isinstance(value, list) or len(value) > MAX_ROLES:
            self.fail(key, "The roles field must be an array.")
            return
        known = {role.name: role.id for role in self.api.directory.roles()}
        names = [item.get("name") if isinstance(item, dict) else item for item in value]  # roles read back
        if any(not isinstance(name, str) or name not in known for name in names):
            self.fail(key, "The selected roles is invalid.")
        else:
            self.roles = list(dict.fromkeys(known[name] for name in names))

    def _flag(self, key: str, value: Any) -> None:
        if value not in (True, False, 0, 1, "0", "1", "true", "false"):
            self.fail(key, f"The {_label(key)} field must be true or false.")
        elif key == "super_admin":
            self.values["type"] = ADMIN if value in (True, 1, "1", "true") else "regular"
        else:
            self.values["apiAccess"] = value in (True, 1, "1", "true")

    def _landing_page(self, key: str, value: Any) -> None:
        if (page := self._string(key, value)) is not None:
            self.values["defaultLandingPage"] = page


def _label(key: str) -> str:
    return key.replace("_", " ")


def _user_name(api: ConcordApi, email: str) -> str:
    """A login name for a new user, who logs in to Concord with their email: the address as far as a user
    name may hold it, numbered when another user has it."""
    base = re.sub(r"[^A-Za-z0-9_.@\-]", "_", email)[:44]
    taken = {user.user_name for user in api.directory.list_users()}
    name, number = base, 1
    while name in taken or not USER_NAME_PATTERN.match(name):
        number += 1
        name = f"{base}-{number}"
    return name


def _parsed(api: ConcordApi, request: ConcordRequest, user_id: int | None) -> UserBody:
    if not request.user.is_admin:
        raise forbidden()
    parsed = UserBody(api, request.body, user_id=user_id)
    if parsed.errors:
        raise invalid(parsed.errors)
    if parsed.ignored:
        request.warnings.append(f"keys ignored (not fields of users): {', '.join(parsed.ignored)}")
    return parsed


def _secrets(api: ConcordApi, parsed: UserBody) -> Callable[[Connection, int], bool] | None:
    """The work that writes the password (hashed by the directory) and the roles in the user's transaction."""
    if parsed.password is None and parsed.roles is None:
        return None

    def attach(conn: Connection, user_id: int) -> bool:
        if parsed.password is not None:
            try:
                api.directory.store_password(conn, user_id, parsed.password)
            except DirectoryError as error:  # an API user has no password; the transaction rolls back
                raise invalid({"password": [str(error)]}) from None
        changed = parsed.password is not None
        if parsed.roles is not None:
            changed = api.directory.set_user_roles(conn, user_id, parsed.roles) or changed
        return changed

    return attach


def store(api: ConcordApi, request: ConcordRequest) -> Response:
    parsed = _parsed(api, request, None)
    values = dict(parsed.values, userName=_user_name(api, parsed.values["emailAddress"]))
    user = api.core.records(USER_ENTITY).create(request.user, values, attach=_secrets(api, parsed))
    api.directory.forget_actors()
    return answer(shown_user(api, request.user, user, created=True), 201)


def update(api: ConcordApi, request: ConcordRequest) -> Response:
    user_id = user_id_of(request)
    _read(api, request.user, request.record_id, user_id)  # 404 before validation, as Laravel finds it first
    parsed = _parsed(api, request, user_id)
    user, _ = api.core.records(USER_ENTITY).update(request.user, user_id, parsed.values,
                                                   attach=_secrets(api, parsed))
    api.directory.forget_actors()
    return answer(shown_user(api, request.user, user))


def destroy(api: ConcordApi, request: ConcordRequest) -> Response:
    user_id = user_id_of(request)
    _read(api, request.user, request.record_id, user_id)
    if not request.user.is_admin:
        raise forbidden()
    if user_id == request.user.user_id:
        raise conflict(OWN_ACCOUNT)  # the core refuses it too; Concord's words
    api.core.records(USER_ENTITY).delete(request.user, user_id)
    api.directory.forget_actors()
    return no_content()
