"""EspoCRM's start-up endpoints: `GET/PUT/PATCH Settings`, `GET App/about`, `GET I18n` and `GET GlobalSearch`
(specs/espocrm.md §8). What they answer is shaped here; the settings themselves live in the core.

Settings, as EspoCRM shows them: without credentials only the global ones (what a login page needs); to a
user, the rest but the administrators' (PolyCRM has no secret among its settings); entity lists hold only the
entity types the user may read. Administrators change the currency settings (`currencyList`,
`defaultCurrency`, `baseCurrency`, `currencyRates`) and the ticket numbering (`ticketPrefix`,
`ticketNextNumber`); every other key is read-only, and a PUT naming an unknown key, giving a wrong type or
changing a read-only value is refused whole with a 400.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version as package_version
from typing import Any

from polycrm.auth.acl import Actor
from polycrm.auth.directory import UserDirectory
from polycrm.auth.schemes import CredentialVerifier
from polycrm.core.errors import BadRequest, Forbidden, Unauthorized
from polycrm.core.search import SearchQuery, TotalMode, text_filter
from polycrm.core.service import Core
from polycrm.dialects.espo.context import EspoContext, authenticate
from polycrm.dialects.espo.params import SearchParamsParser
from polycrm.dialects.php_query import php_intval
from polycrm.meta import Entity
from polycrm.query.tree import Sort

# The EspoCRM release whose API PolyCRM answers as (specs/espocrm.md): clients compare it to gate features.
ESPO_VERSION = "9.3.9"
GLOBAL_SETTINGS: dict[str, Any] = {
    "applicationName": "PolyCRM", "language": "en_US", "timeZone": "UTC", "dateFormat": "YYYY-MM-DD",
    "timeFormat": "HH:mm", "weekStart": 0, "decimalMark": ".", "thousandSeparator": ",",
    "isDeveloperMode": False, "maintenanceMode": False}
# Entity types EspoCRM's global search covers by default (its `globalSearchEntityList`).
GLOBAL_SEARCH_ENTITIES = ("Account", "Contact", "Lead", "Opportunity")
RECORDS_PER_PAGE = 20
CURRENCY_KEYS = {"currencyList": "currency_list", "defaultCurrency": "default", "baseCurrency": "base",
                 "currencyRates": "rates"}
TICKET_KEYS = {"ticketPrefix": "prefix", "ticketNextNumber": "next_number"}
CREDENTIAL_HEADERS = ("espo-authorization", "x-api-key", "x-hmac-authorization", "authorization")


def polycrm_version() -> str:
    try:
        return package_version("polycrm")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


class EspoSystemApi:
    """The handlers; routes in dialects/espo/api.py (`espo_routes`)."""

    def __init__(self, core: Core, directory: UserDirectory, verifier: CredentialVerifier):
        self.core = core
        self.directory = directory
        self.verifier = verifier

    def _caller(self, context: EspoContext) -> Actor | None:
        """Who calls a route that does without credentials: None when none are sent; bad ones are a 401."""
        if context.actor is not None:
            return context.actor
        if not any(name in context.request.headers for name in CREDENTIAL_HEADERS):
            return None
        actor = self.directory.actor(authenticate(context.request, self.verifier).user_id)
        if actor is None:
            raise Unauthorized()
        return actor

    # --- Settings ---------------------------------------------------------------------------------

    def settings_read(self, context: EspoContext) -> dict[str, Any]:
        return self._settings(self._caller(context))

    def settings_update(self, context: EspoContext) -> dict[str, Any]:
        actor = self._caller(context)
        if actor is None:
            raise Unauthorized()
        if not actor.is_admin:
            raise Forbidden()
        current = self._settings(actor)
        changes: dict[str, Any] = {}
        ticket_changes: dict[str, Any] = {}
        for key, value in context.body.items():
            if key in CURRENCY_KEYS:
                changes[CURRENCY_KEYS[key]] = _currency_value(key, value)
            elif key in TICKET_KEYS:
                if value is None:
                    raise BadRequest(f"{key} must not be null.")
                ticket_changes[TICKET_KEYS[key]] = value
            elif key not in current:
                raise BadRequest(f"Unknown setting '{_shown(key)}'.")
            elif value != current[key]:
                raise BadRequest(f"Setting '{key}' is read-only.")
        if changes:
            self.core.currency.current().changed(**changes)  # refused before anything is written
        if ticket_changes:
            self.core.tickets.change(**ticket_changes)
        if changes:
            self.core.currency.change(**changes)
        return self._settings(actor)

    def _settings(self, actor: Actor | None) -> dict[str, Any]:
        data = dict(GLOBAL_SETTINGS)
        if actor is None:
            return data
        data.update(self.core.currency.current().to_json())
        data.update(self.core.tickets.current().to_json())
        data.update(version=ESPO_VERSION, recordsPerPage=RECORDS_PER_PAGE, recordsPerPageSmall=5,
                    globalSearchEntityList=self._search_entities(actor))
        return data

    def _search_entities(self, actor: Actor) -> list[str]:
        return [name for name in GLOBAL_SEARCH_ENTITIES if name in self.core.registry and actor.can(name, "read")]

    # --- App/about, I18n --------------------------------------------------------------------------

    def about(self, context: EspoContext) -> dict[str, Any]:
        return {"text": f"## PolyCRM {polycrm_version()}\n\nA self-hosted CRM server speaking the EspoCRM "
                        f"{ESPO_VERSION} REST API, among others.",
                "version": ESPO_VERSION, "productName": "PolyCRM", "productVersion": polycrm_version()}

    def i18n(self, context: EspoContext) -> dict[str, Any]:
        """EspoCRM's translation data (en_US): labels made from the names PolyCRM has. Without credentials,
        only the global labels (a login page's); with them, the entity types the caller may read."""
        actor = self._caller(context)
        data: dict[str, Any] = {"Global": {"labels": {"Save": "Save", "Cancel": "Cancel", "Login": "Login",
                                                      "Username": "Username", "Password": "Password"}}}
        if actor is None:
            return data
        entities = [self.core.registry.entity(name) for name in self.core.registry.names() if actor.can(name, "read")]
        data["Global"].update(scopeNames={e.name: label(e.name) for e in entities},
                              scopeNamesPlural={e.name: plural(label(e.name)) for e in entities})
        for entity in entities:
            data[entity.name] = _entity_labels(entity)
        return data

    # --- GlobalSearch -----------------------------------------------------------------------------

    def global_search(self, context: EspoContext) -> dict[str, Any]:
        """EspoCRM's global search: the text filter over each entity type of the list the caller may read,
        their records in list order, each type's sorted by name; `_scope` names the type."""
        query = context.query
        text = query.get("q")
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("No `q` parameter.")
        max_size = query.get("maxSize")
        offset, limit = SearchParamsParser.page_window(
            php_intval(query.get("offset", 0)), RECORDS_PER_PAGE if max_size in (None, "") else max_size,
            strict=False)
        found: list[dict[str, Any]] = []
        wanted = offset + limit + 1
        for name in self._search_entities(context.actor):
            if len(found) >= wanted:
                break
            service = self.core.records(name)
            entity = service.entity
            key = "name" if "name" in entity.attributes else "id"
            select = [key] + ([entity.status_field] if entity.status_field else [])
            result = service.search_visible(context.actor, SearchQuery(
                where=text_filter(entity, text, self.core.settings.text_filter_contains_min_length),
                sorts=[Sort(key), Sort("id")], limit=wanted - len(found), select=select, total=TotalMode.NONE))
            found.extend({**{k: v for k, v in record.items() if k in ("id", *select)}, "_scope": name}
                         for record in result.records)
        page = found[offset:offset + limit + 1]
        return {"total": -1 if len(page) > limit else -2,
                "list": [dict(r, id=str(r["id"])) for r in page[:limit]]}


def _currency_value(key: str, value: Any) -> Any:
    """A currency setting's JSON value with the right JSON type (the core checks what it says)."""
    if key == "currencyList":
        if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
            raise BadRequest("currencyList must be an array of currency codes.")
    elif key == "currencyRates":
        if not isinstance(value, dict):
            raise BadRequest("currencyRates must be an object of currency code: rate.")
    elif not isinstance(value, str):
        raise BadRequest(f"{key} must be a currency code.")
    return value


def _shown(key: str) -> str:
    return key if len(key) <= 60 else key[:60] + "..."


def label(name: str) -> str:
    """A label from a camelCase name, as EspoCRM's English labels mostly are: `closeDate` -> "Close Date"."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name.removeprefix("c") if _is_custom(name) else name)
    return words[:1].upper() + words[1:]


def _is_custom(name: str) -> bool:
    return len(name) > 1 and name[0] == "c" and name[1].isupper()


def plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")


def _entity_labels(entity: Entity) -> dict[str, Any]:
    options = {f.name: {str(o): str(o) for o in f.params["options"] if o not in ("", None)}
               for f in entity.fields.values() if isinstance(f.params.get("options"), list)}
    return {"fields": {name: label(name) for name in entity.fields},
            "links": {name: label(name) for name in entity.links},
            "options": {name: values for name, values in options.items() if values}}
