"""Keys that show a name kept as text as the id of an entry of a list (specs/concord.md §4): `country_id` over
a record's address country (Concord's country list, `countries.json`), a company's `industry_id` over
EspoCRM's `industry` enum (the Industry of that name). The stored text stays the one truth every protocol
reads and writes; the id is looked up both ways, by name. Also the fixed lists any user with a token reads:
`GET /api/countries`, `/api/timezones` and `/api/currencies`, each from a data file."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Iterable

from starlette.responses import Response

from polycrm.auth.acl import Actor
from polycrm.core.currency import iso_currencies
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import answer
from polycrm.dialects.concord.filters import FilterRule
from polycrm.dialects.concord.mapping import COUNTRIES
from polycrm.dialects.concord.field_readers import Parsed
from polycrm.query.tree import TRUE, Compare, Node, Op, Sort

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi
    from polycrm.dialects.concord.view import ViewSource

# The most entries a resource's list is read with (Concord's industries are some two hundred).
MAX_ENTRIES = 5000


def _data(name: str) -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


@cache
def countries() -> tuple[dict[str, Any], ...]:
    """Concord's countries, in id order: {id, name, iso_3166_2, iso_3166_3}."""
    return tuple(_data("countries.json")["countries"])


@cache
def _country_ids() -> dict[str, int]:
    """Country id by folded name and ISO codes (Concord's importer matches a country by any of them)."""
    ids: dict[str, int] = {}
    for row in countries():
        for key in (row["iso_3166_3"], row["iso_3166_2"], row["name"]):
            ids[key.lower()] = row["id"]
    return ids


def list_countries(api: ConcordApi, request: ConcordRequest) -> Response:
    """`GET /api/countries`: every country as `{id, name}`, for any user with a token."""
    return answer([{"id": row["id"], "name": row["name"]} for row in countries()])


@cache
def timezones() -> tuple[str, ...]:
    return tuple(_data("timezones.json")["timezones"])


def list_timezones(api: ConcordApi, request: ConcordRequest) -> Response:
    """`GET /api/timezones`: the zone names Concord lists (PHP's, in name order), a bare array."""
    return answer(list(timezones()))


@cache
def currencies() -> dict[str, dict[str, Any]]:
    """Every currency PolyCRM accepts, by code, as Concord's list shows one (`currency_formats.json`)."""
    formats = _data("currency_formats.json")
    shown = {}
    for code, iso in sorted(iso_currencies().items()):
        precision = iso.minor_units or 0  # gold, SDR and test codes: Concord shows 0
        shown[code] = {"name": iso.name, "code": int(iso.numeric), "precision": precision, "subunit": 10 ** precision,
                       "symbol": code, **formats["default"], **formats["currencies"].get(code, {})}
    return shown


def list_currencies(api: ConcordApi, request: ConcordRequest) -> Response:
    """`GET /api/currencies`: an object of currencies by ISO 4217 code."""
    return answer(currencies())


class Lookups:
    """Names <-> ids of the lists `lookup` keys name, for one caller: a resource's entries are the records of
    it the caller may read (named by its title)."""

    def __init__(self, api: ViewSource, actor: Actor):
        self.api = api
        self.actor = actor

    def _entries(self, lookup: str, where: Node = TRUE) -> list[tuple[int, str]]:
        if lookup == COUNTRIES:
            return [(row["id"], row["name"]) for row in countries()]
        target = self.api.mapping.resources[lookup]
        query = SearchQuery(where=where, sorts=[Sort("id")], limit=MAX_ENTRIES, select=["id", target.title],
                            total=TotalMode.NONE)
        found = self.api.core.records(target.entity_name).search_visible(self.actor, query).records
        return [(row["id"], row[target.title]) for row in found if row.get(target.title)]

    def ids(self, lookup: str, names: Iterable[str]) -> dict[str, int]:
        """Stored name -> its entry's id, for the names that have one."""
        wanted = {name for name in names if name}
        if not wanted:
            return {}
        if lookup == COUNTRIES:
            known = _country_ids()
            return {name: known[name.strip().lower()] for name in wanted if name.strip().lower() in known}
        title = self.api.mapping.resources[lookup].title
        by_name: dict[str, int] = {}
        for entry_id, name in self._entries(lookup, Compare(title, Op.IN, tuple(sorted(wanted)))):
            by_name.setdefault(name, entry_id)
        return by_name

    def name(self, lookup: str, wanted: int | str) -> str | None:
        """The name of the entry with this id, or of this name ignoring case (a country's ISO codes too);
        None when the caller may read no such entry."""
        if lookup == COUNTRIES:
            entry_id = wanted if isinstance(wanted, int) else _country_ids().get(wanted.lower())
            return next((row["name"] for row in countries() if row["id"] == entry_id), None)
        condition = Compare("id", Op.EQ, wanted) if isinstance(wanted, int) else \
            Compare(self.api.mapping.resources[lookup].title, Op.EQUALS_TEXT, wanted)
        return next((name for _, name in self._entries(lookup, condition)), None)

    def store_names(self, parsed: Parsed) -> None:
        """The names a request body's lookup keys ask for, into its data; an unknown one is Laravel's `exists`
        failure."""
        for key, (spec, wanted) in parsed.lookups.items():
            assert spec.lookup is not None
            name = self.name(spec.lookup, wanted)
            if name is None:
                parsed.fail(key, f"The selected {spec.label} is invalid.")
            else:
                parsed.data[spec.field] = name

    def rule(self, rule: FilterRule, lookup: str) -> FilterRule:
        """A select rule over a stored name, its values the list's ids (`{"value": 840}` is "United States")."""
        return replace(rule, values={str(entry_id): name for entry_id, name in self._entries(lookup)})

    def records(self, entity_name: str) -> list[dict[str, Any]]:
        """The records of an entity the caller may read as `{id, name}`, by name: the choices of a select
        rule over a link (an owner, an activity type), as Concord lists them."""
        query = SearchQuery(sorts=[Sort("name"), Sort("id")], limit=MAX_ENTRIES, select=["id", "name"],
                            total=TotalMode.NONE)
        found = self.api.core.records(entity_name).search_visible(self.actor, query).records
        return [{"id": row["id"], "name": row.get("name")} for row in found]

    def options(self, lookup: str) -> list[dict[str, Any]]:
        """The choices `GET /api/{resource}/rules` lists for a rule over the list."""
        return [{"id": entry_id, "name": name} for entry_id, name in self._entries(lookup)]
