"""credentials (specs/itflow.md §8.5, §6): secrets readable and writable only with the key's decrypt password.

The vault (core.vault) keeps the username, password and OTP secret encrypted; the decrypt password opens
the master key this ITFlow key holds. A wrong password is refused with the failure envelope: ITFlow reads
`false` and writes data encrypted under a zero key instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from polycrm.auth.vault_keys import VaultKey
from polycrm.core.errors import PolyError, WrongDecryptPassword
from polycrm.core.vault import unlock
from polycrm.dialects.itflow.context import ItflowRequest
from polycrm.dialects.itflow.envelope import created, insert_failed, no_resource, rows, update_failed
from polycrm.dialects.itflow.php import intval, is_empty
from polycrm.dialects.itflow.reads import fetch
from polycrm.dialects.itflow.writes import (body_values, check_required, create_record, entity_of,
                                            log_rows, target_record, to_attributes, update_answer)
from polycrm.query.tree import Compare, Op

if TYPE_CHECKING:
    from polycrm.dialects.itflow.api import ItflowApi

PASSWORD = "api_key_decrypt_password"


def _unlock(request: ItflowRequest, password: Any, fail: Any) -> VaultKey:
    if is_empty(password) or isinstance(password, (list, dict)):
        raise fail(f"{PASSWORD} is required")
    try:
        return unlock(request.key.vault_key, str(password))
    except WrongDecryptPassword as error:
        raise fail(f"{PASSWORD} does not open this key's vault") from error


def read_credentials(api: ItflowApi, request: ItflowRequest) -> Response:
    """The decrypt password comes from the query string, as the classic API reads it."""
    key = _unlock(request, request.query.get(PASSWORD), no_resource)
    endpoint, table = api.mapping.endpoints["credentials"], api.mapping.table("credentials")

    def reveal(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            return api.core.vault.reveal(key, table.entity_name, records)
        except PolyError as error:
            raise no_resource(str(error)) from error

    if "credential_id" in request.query:
        found = fetch(api, request, endpoint, table, Compare("id", Op.EQ, intval(request.query["credential_id"])),
                      reveal=reveal)[:1]
    else:
        found = fetch(api, request, endpoint, table, reveal=reveal)
    if not found:
        raise no_resource("no credential matched")
    return rows(found)


def create_credential(api: ItflowApi, request: ItflowRequest) -> Response:
    """Client 0 is allowed (ITFlow allows it)."""
    endpoint, table = api.mapping.endpoints["credentials"], api.mapping.table("credentials")
    _unlock(request, request.body.get(PASSWORD), insert_failed)
    check_required(request, endpoint)
    client = request.write_client()
    values = body_values(request, endpoint, creating=True)
    data = to_attributes(table, entity_of(api, table), values, request) | {"accountId": client or None}
    record = create_record(api, request, table, data, lambda r: log_rows(
        request, "Credential", "Create", r["name"], client_id=client, entity_id=r["id"],
        success=f"Created credential {r['name']}"))
    return created(record["id"])


def update_credential(api: ItflowApi, request: ItflowRequest) -> Response:
    """Only a credential of the resolved client; fields not sent keep their values."""
    endpoint, table = api.mapping.endpoints["credentials"], api.mapping.table("credentials")
    _unlock(request, request.body.get(PASSWORD), update_failed)
    current = target_record(api, request, "credentials", "credential_id", update_failed)
    values = body_values(request, endpoint, creating=False)
    data = to_attributes(table, entity_of(api, table), values, request)
    name = data.get("name", current["name"])
    log = log_rows(request, "Credential", "Edit", name, client_id=request.write_client(), entity_id=current["id"],
                   success=f"Updated credential {name}")
    return update_answer(api, request, table, current, data, log)
