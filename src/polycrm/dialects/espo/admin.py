"""EspoCRM's administration endpoints: roles (`/Role`), the field manager of custom fields
(`/Admin/fieldManager/{entity}/{field}`), and the wire side of users' passwords and roles (`password`,
`passwordConfirm` and `rolesIds` on `User` writes, `User/action/changeOwnPassword`).

Nothing a client writes here is dropped silently: what PolyCRM cannot store is refused with a 400."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy.engine import Connection
from starlette.routing import Route

from polycrm.auth.directory import DirectoryError, NameTaken, UnknownName, UserDirectory, check_password
from polycrm.auth.roles import RoleInfo
from polycrm.auth.schemes import CredentialVerifier
from polycrm.core.errors import BadRequest, Conflict, Forbidden, NotFound
from polycrm.core.service import Core
from polycrm.core.values import parse_id
from polycrm.dialects.espo.context import EspoContext
from polycrm.dialects.espo.render import format_datetime
from polycrm.dialects.http import client_address
from polycrm.meta.model import Field

if TYPE_CHECKING:
    from polycrm.dialects.espo.api import EspoApi

# User attributes EspoCRM has and PolyCRM does not store: refused when a write sets them, never ignored.
UNSUPPORTED_USER_ATTRIBUTES = {
    "authMethod": "API keys and HMAC secrets are made with `polycrm apikey create`",
    "apiKey": "API keys are made with `polycrm apikey create`",
    "secretKey": "HMAC secrets are made with `polycrm apikey create --hmac`",
    "sendAccessInfo": "PolyCRM sends no email",
    "portalsIds": "PolyCRM has no portals",
    "portalRolesIds": "PolyCRM has no portals",
}
# Role attributes a client may send back as it read them: not stored, never changed by a write.
ROLE_READ_ONLY = {"id", "createdAt", "modifiedAt", "usersNames", "deleted"}
# EspoCRM's other role permissions: accepted only as "not-set", the one value that asks for nothing.
NOT_SET = "not-set"
PERMISSION_SUFFIX = "Permission"
# Field manager keys naming a dialect's API name for the field, by dialect; the first of each dialect is
# the one a field's read shows.
API_NAME_KEYS = {"inflowApiName": "inflow", "apiName": "inflow", "concordApiName": "concord"}
# Returned and accepted back by the field manager's read, but no parameter of the field.
FIELD_READ_ONLY = {"isCustom"}


def _directory_call(call: Callable[[], Any]) -> Any:
    """Run a directory operation, its refusals as the protocol's 4xx."""
    try:
        return call()
    except NameTaken as exc:
        raise Conflict(str(exc)) from None
    except UnknownName as exc:
        raise NotFound(str(exc)) from None
    except DirectoryError as exc:
        raise BadRequest(str(exc)) from None


def _require_admin(context: EspoContext, what: str) -> None:
    if not context.actor.is_admin:
        raise Forbidden(f"No access to '{what}'.")


def _id_list(value: Any, key: str) -> list[int]:
    if not isinstance(value, list):
        raise BadRequest(f"'{key}' must be an array of ids.")
    ids = [parse_id(item) for item in value]
    if any(i is None for i in ids):
        raise BadRequest(f"'{key}' must be an array of ids.")
    return ids  # type: ignore[return-value]


def render_role(role: RoleInfo) -> dict[str, Any]:
    return {"id": str(role.id), "name": role.name, "data": role.scopes,
            "massUpdatePermission": "yes" if role.mass_update else "no",
            "usersIds": [str(i) for i in role.users], "usersNames": {str(i): n for i, n in role.users.items()},
            "createdAt": format_datetime(role.created_at)}


def render_field(field: Field) -> dict[str, Any]:
    rendered: dict[str, Any] = {"name": field.name, **field.params, "type": field.type, "isCustom": field.custom}
    shown: set[str] = set()
    for key, dialect in API_NAME_KEYS.items():
        if dialect not in shown and field.api_names.get(dialect):
            rendered[key] = field.api_names[dialect]
            shown.add(dialect)
    return rendered


def api_names_of(body: dict[str, Any]) -> dict[str, Any]:
    """The API names a field manager body gives (taken out of it), by dialect."""
    return {API_NAME_KEYS[key]: body.pop(key) for key in list(body) if key in API_NAME_KEYS}


class EspoAdminApi:
    """The handlers; each takes an authenticated EspoContext."""

    def __init__(self, core: Core, directory: UserDirectory, verifier: CredentialVerifier):
        self.core = core
        self.directory = directory
        self.verifier = verifier  # checks a current password against the failed-login budgets

    # --- users: passwords and roles on User writes ---------------------------------------------------

    def user_input(self, context: EspoContext, entity_name: str) -> tuple[dict[str, Any], Any]:
        """A create or update body without what `User` records do not hold (password, roles), and the work
        that writes those in the record's transaction (None when there is none)."""
        if entity_name != "User":
            return context.body, None
        body = dict(context.body)
        password, confirm = body.pop("password", None), body.pop("passwordConfirm", None)
        role_ids, _ = body.pop("rolesIds", None), body.pop("rolesNames", None)
        for key, reason in UNSUPPORTED_USER_ATTRIBUTES.items():
            if body.get(key) not in (None, False, "", [], {}):
                raise BadRequest(f"'{key}' cannot be set: {reason}.")
            body.pop(key, None)
        if password is not None or confirm is not None:
            if not context.actor.is_admin:
                raise Forbidden("Only administrators set passwords of users; change your own with "
                                "POST User/action/changeOwnPassword.")
            self._check_new_password(password, confirm)
        if role_ids is not None:
            if not context.actor.is_admin:
                raise Forbidden("Only administrators may change 'roles'.")
            role_ids = _id_list(role_ids, "rolesIds")
        if password is None and role_ids is None:
            return body, None

        def attach(conn: Connection, user_id: int) -> bool:
            changed = False
            if password is not None:
                _directory_call(lambda: self.directory.store_password(conn, user_id, password))
                changed = True
            if role_ids is not None:
                changed = _directory_call(lambda: self.directory.set_user_roles(conn, user_id, role_ids)) or changed
            return changed

        return body, attach

    def with_roles(self, context: EspoContext, entity_name: str, rendered: dict[str, Any]) -> dict[str, Any]:
        """A User as an administrator reads it: with its roles (`rolesIds`, `rolesNames`), which only
        administrators may see or change."""
        if entity_name != "User" or not context.actor.is_admin or "id" not in rendered:
            return rendered
        roles = self.directory.roles_of(int(rendered["id"]))
        return dict(rendered, rolesIds=[str(i) for i in roles], rolesNames={str(i): n for i, n in roles.items()})

    @staticmethod
    def _check_new_password(password: Any, confirm: Any) -> None:
        if password is None:
            raise BadRequest("'password' is required with 'passwordConfirm'.")
        _directory_call(lambda: check_password(password))
        if confirm is not None and confirm != password:
            raise BadRequest("'password' and 'passwordConfirm' do not match.")

    def change_own_password(self, context: EspoContext) -> bool:
        """`POST User/action/changeOwnPassword` {password, currentPassword[, passwordConfirm]}."""
        body, actor = context.body, context.actor
        if actor.user_type == "api":
            raise Forbidden("API users have no password.")
        current = body.get("currentPassword")
        if not isinstance(current, str) or not current:
            raise BadRequest("'currentPassword' is required.")
        self._check_new_password(body.get("password"), body.get("passwordConfirm"))
        if self.verifier.password(actor.user_name, current, client=client_address(context.request)) != actor.user_id:
            raise Forbidden("The current password is wrong.")
        _directory_call(lambda: self.directory.set_password(actor.user_id, body["password"]))
        return True

    # --- roles -------------------------------------------------------------------------------------

    def _role(self, context: EspoContext) -> RoleInfo:
        role_id = parse_id(context.request.path_params["id"])
        found = self.directory.roles(role_id) if role_id is not None else []
        if not found:
            raise NotFound(f"Record {context.request.path_params['id']} not found.")
        return found[0]

    @staticmethod
    def _role_values(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        """The stored values of a Role body; what PolyCRM cannot store is refused."""
        values: dict[str, Any] = {}
        for key, value in body.items():
            if key in ROLE_READ_ONLY:
                continue
            if key == "name":
                values["name"] = value
            elif key == "data":
                values["scopes"] = {} if value is None else value
            elif key == "massUpdatePermission":
                if value not in ("yes", "no"):
                    raise BadRequest("'massUpdatePermission' must be \"yes\" or \"no\".")
                values["mass_update"] = value == "yes"
            elif key == "usersIds":
                values["user_ids"] = _id_list(value, "usersIds")
            elif key.endswith(PERMISSION_SUFFIX) and value in (NOT_SET, None):
                continue
            else:
                raise BadRequest(f"Role attribute '{key}' is not supported.")
        if creating and "name" not in values:
            raise BadRequest("'name' is required.")
        return values

    def role_list(self, context: EspoContext) -> dict[str, Any]:
        _require_admin(context, "Role")
        roles = self.directory.roles()
        return {"total": len(roles), "list": [render_role(role) for role in roles]}

    def role_read(self, context: EspoContext) -> dict[str, Any]:
        _require_admin(context, "Role")
        return render_role(self._role(context))

    def role_create(self, context: EspoContext) -> dict[str, Any]:
        _require_admin(context, "Role")
        values = self._role_values(context.body, creating=True)
        role_id = _directory_call(lambda: self.directory.create_role(
            values["name"], values.get("scopes", {}), mass_update=values.get("mass_update", True),
            user_ids=values.get("user_ids")))
        return render_role(self.directory.roles(role_id)[0])

    def role_update(self, context: EspoContext) -> dict[str, Any]:
        _require_admin(context, "Role")
        role = self._role(context)
        values = self._role_values(context.body, creating=False)
        _directory_call(lambda: self.directory.update_role(role.id, **values))
        return render_role(self.directory.roles(role.id)[0])

    def role_delete(self, context: EspoContext) -> bool:
        _require_admin(context, "Role")
        if not self.directory.delete_role(self._role(context).id):
            raise NotFound(f"Record {context.request.path_params['id']} not found.")
        return True

    # --- field manager -------------------------------------------------------------------------------

    def _field_names(self, context: EspoContext) -> tuple[str, str]:
        _require_admin(context, "Admin")
        return context.request.path_params["entity"], context.request.path_params["field"]

    def field_read(self, context: EspoContext) -> dict[str, Any]:
        entity_name, field_name = self._field_names(context)
        if entity_name not in self.core.registry:
            raise NotFound(f"Entity type '{entity_name}' does not exist.")
        field = self.core.records(entity_name).entity.fields.get(field_name)
        if field is None:
            raise NotFound(f"No field '{field_name}' on {entity_name}.")
        return render_field(field)

    def field_update(self, context: EspoContext) -> dict[str, Any]:
        entity_name, field_name = self._field_names(context)
        changes = {k: v for k, v in context.body.items() if k not in FIELD_READ_ONLY}
        api_names = api_names_of(changes)
        return render_field(self.core.update_field(entity_name, field_name, changes, api_names))

    def field_delete(self, context: EspoContext) -> bool:
        entity_name, field_name = self._field_names(context)
        self.core.remove_field(entity_name, field_name)
        return True


def admin_routes(api: EspoApi) -> list[Route]:
    """The routes of this module, ahead of the generic `/{entity}` ones."""
    admin, r = api.admin, api.route
    return [
        r("/User/action/changeOwnPassword", {"POST": admin.change_own_password}),
        r("/Role", {"GET": admin.role_list, "POST": admin.role_create}),
        r("/Role/{id}", {"GET": admin.role_read, "PUT": admin.role_update, "PATCH": admin.role_update,
                         "DELETE": admin.role_delete}),
        r("/Admin/fieldManager/{entity}/{field}", {"GET": admin.field_read, "PUT": admin.field_update,
                                                   "PATCH": admin.field_update, "DELETE": admin.field_delete}),
    ]
