"""EspoCRM list parameters (specs/espocrm.md §2.1) -> the core's `SearchQuery`."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson

from polycrm.auth.acl import Actor, ownership_condition
from polycrm.core.errors import BadRequest, Forbidden
from polycrm.core.follows import followed_filter
from polycrm.core.search import SearchQuery, TotalMode, text_filter
from polycrm.dialects.php_query import INT64_MAX, php_intval
from polycrm.dialects.espo.where import EspoWhereParser, RelationScope, split_special_items
from polycrm.meta import Entity, Registry
from polycrm.query.tree import TRUE, LinkMode, Linked, Node, Sort, conjunction, disjunction

MAX_SIZE_LIMIT = 200
SORTABLE_FIELD_TYPES = {"link", "linkParent", "currency", "datetimeOptional"}
# The keys of EspoCRM's searchParams (`Core/Select/SearchParams::fromRaw`). Mass actions refuse any other: a
# misspelt `wher` would otherwise select every record.
SEARCH_PARAMS_KEYS = frozenset({
    "where", "whereGroup", "primaryFilter", "boolFilterList", "textFilter", "q", "select", "attributeSelect",
    "maxSize", "offset", "orderBy", "sortBy", "order", "asc", "maxTextAttributeLength"})
CRITERIA_IGNORED_KEYS = frozenset({"whereGroup", "select", "attributeSelect"})
WARNING_HEADER = "X-PolyCRM-Warning"  # what a list request asked for that was ignored, as EspoCRM ignores it


def _describe(value: Any) -> str:
    """What a value is, in a few words, without repeating it (it may be long or hold anything)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a plain string" if value else "an empty string"
    return "an object" if value else "an empty object"


class SearchParamsParser:
    """Builds a SearchQuery for one entity from a parsed query string (or the `searchParams` JSON) of a list,
    or from the criteria of a mass action (`parse_criteria`).

    A list ignores a `where` that is not a list, as EspoCRM does (espocrm-client 0.2.1 sends such a string),
    and says so in `ignored` (the X-PolyCRM-Warning header); criteria refuse it, since ignoring it would
    select every record.
    """

    def __init__(self, registry: Registry, entity: Entity, actor: Actor, *, time_zone: str = "UTC",
                 relation: RelationScope | None = None):
        self.registry = registry
        self.entity = entity
        self.actor = actor
        self.where_parser = EspoWhereParser(registry, entity, now=datetime.now(timezone.utc), time_zone=time_zone,
                                            relation=relation)
        self.ignored: list[str] = []

    def parse_criteria(self, request: dict[str, Any], *, append_where: bool = False) -> SearchQuery:
        """The records a mass action selects by criteria: the request's `searchParams` (or `selectData`) and its
        own `where`, which replaces `searchParams.where` (MassAction, legacy mass actions) or is appended to it
        (`massRelate`). Anything malformed is a 400, never ignored: a searchParams that is not an object or has
        an unknown key, a where (or whereGroup) that is not a list, a bad item."""
        search = request.get("searchParams", request.get("selectData"))
        if search is None:
            search = {}
        if not isinstance(search, dict):
            raise BadRequest(f"Bad searchParams: {_describe(search)}, not an object.")
        unknown = sorted(str(key) for key in search if key not in SEARCH_PARAMS_KEYS)
        if unknown:
            raise BadRequest(f"Bad searchParams: unknown key '{unknown[0]}'.")
        if "where" in search and "whereGroup" in search:
            raise BadRequest("Bad searchParams: give where or whereGroup, not both.")
        items = _criteria_where(search.get("where", search.get("whereGroup", [])), "searchParams.where")
        if "where" in request:
            own = _criteria_where(request["where"], "where")
            items = items + own if append_where else own
        # Which attributes to return means nothing to a mass action (EspoCRM drops `select` for massRelate).
        params = {key: value for key, value in search.items() if key not in CRITERIA_IGNORED_KEYS}
        return self._from_json(dict(params, where=items, maxSize=None), no_total=True)

    def _list_where(self, where: Any, hint: str = "") -> list | None:
        """A list's where items; one that is not a list is ignored (spec §2.1) and noted in `ignored`."""
        if where is None or isinstance(where, list):
            return where
        self.ignored.append(f"where ignored: {_describe(where)}, not a list of where items{hint}")
        return None

    def parse(self, query: dict[str, Any], *, no_total: bool = False) -> SearchQuery:
        if "searchParams" in query:
            return self._from_json(query["searchParams"], no_total=no_total)
        select_raw = query.get("select", query.get("attributeSelect"))
        select = None
        if isinstance(select_raw, str) and select_raw:
            select = [s for s in select_raw.split(",") if s]
        elif isinstance(select_raw, list):
            select = [s for s in select_raw if isinstance(s, str)]
        order = query.get("order")
        if order is None and "asc" in query:
            order = "asc" if query["asc"] in ("true", "1", True) else "desc"
        where = query.get("where", query.get("whereGroup"))
        if isinstance(where, str):
            where = self._json_where(where)
        # `where[type]=...` (no index) makes an object: say how to write a list.
        where = self._list_where(where, " (write where[0][type]=..., with list indexes)" if isinstance(where, dict)
                                 else "")
        bool_filters = query.get("boolFilterList")
        return self._build(
            max_size=query.get("maxSize"), max_size_strict=False, offset=php_intval(query.get("offset", 0)),
            order_by=query.get("orderBy", query.get("sortBy")), order=order, select=select,
            where=where, primary_filter=query.get("primaryFilter"),
            bool_filters=bool_filters if isinstance(bool_filters, list) else (
                [bool_filters] if isinstance(bool_filters, str) else []),
            text=query.get("textFilter"), q=query.get("q"), no_total=no_total)

    @staticmethod
    def _json_where(raw: str) -> Any:
        """`where=<JSON array>` as some clients send it; any other string (the broken espocrm-client form)
        stays a string, which lists ignore."""
        if raw.lstrip().startswith("["):
            try:
                return orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise BadRequest("where is not valid JSON.") from None
        return raw

    def _from_json(self, raw: Any, *, no_total: bool) -> SearchQuery:
        try:
            params = orjson.loads(raw) if isinstance(raw, str) else raw
        except orjson.JSONDecodeError:
            raise BadRequest("searchParams is not valid JSON.") from None
        if not isinstance(params, dict):
            raise BadRequest("searchParams must be a JSON object.")
        select = params.get("select", params.get("attributeSelect"))
        if select is not None and not isinstance(select, list):
            raise BadRequest("select should be array.")
        offset = params.get("offset", 0)
        # PHP decodes a JSON integer past PHP_INT_MAX as a float, which EspoCRM refuses the same way.
        if offset is not None and (isinstance(offset, bool) or not isinstance(offset, int) or offset > INT64_MAX):
            raise BadRequest("offset must be integer.")
        order = params.get("order")
        if order is None and isinstance(params.get("asc"), bool):
            order = "asc" if params["asc"] else "desc"
        bool_filters = params.get("boolFilterList") or []
        if not isinstance(bool_filters, list):
            raise BadRequest("boolFilterList must be array.")
        where = self._list_where(params.get("where", params.get("whereGroup")))
        return self._build(
            max_size=params.get("maxSize"), max_size_strict=True, offset=offset or 0,
            order_by=params.get("orderBy", params.get("sortBy")), order=order,
            select=[s for s in select if isinstance(s, str)] if select is not None else None,
            where=where, primary_filter=params.get("primaryFilter"),
            bool_filters=bool_filters, text=params.get("textFilter"), q=params.get("q"), no_total=no_total)

    def _build(self, *, max_size: Any, max_size_strict: bool, offset: int, order_by: Any, order: Any,
               select: list[str] | None, where: list | None, primary_filter: Any, bool_filters: list,
               text: Any, q: Any, no_total: bool) -> SearchQuery:
        offset, limit = self.page_window(offset, max_size, strict=max_size_strict)
        items, hoisted_primary, hoisted_bools, hoisted_text = split_special_items(where or [])
        conditions: list[Node] = [self.where_parser.parse(items)]
        primary = primary_filter if primary_filter not in (None, "") else hoisted_primary
        if primary is not None:
            conditions.append(self._primary_filter(primary))
        bools = list(bool_filters) + list(hoisted_bools)
        if bools:
            conditions.append(disjunction([self._bool_filter(b) for b in bools]))
        text_value = q if isinstance(q, str) and q.strip() else (text if text is not None else hoisted_text)
        if text_value is not None:
            if not isinstance(text_value, str):
                raise BadRequest("textFilter must be a string.")
            conditions.append(text_filter(self.entity, text_value))
        total = TotalMode.NONE if no_total or (isinstance(q, str) and q.strip()) else TotalMode.COUNT
        return SearchQuery(where=conjunction(conditions), sorts=self._sorts(order_by, order), offset=offset,
                           limit=limit, select=select, total=total)

    @classmethod
    def page_window(cls, offset: int, max_size: Any, *, strict: bool) -> tuple[int, int]:
        """(offset, limit) of a page, as EspoCRM pages lists (and streams): see `_max_size`; a negative
        offset is refused."""
        limit = cls._max_size(max_size, strict=strict)
        if offset < 0:
            raise BadRequest("offset must not be negative.")
        return offset, limit

    @staticmethod
    def _max_size(value: Any, *, strict: bool) -> int:
        """`maxSize`: default and cap MAX_SIZE_LIMIT (0 is the default too)."""
        if value is None or value == "":
            return MAX_SIZE_LIMIT
        if strict and (isinstance(value, bool) or not isinstance(value, int)):
            raise BadRequest("maxSize must be integer.")
        size = php_intval(value)
        if size > MAX_SIZE_LIMIT:
            raise Forbidden(f"Max size should not exceed {MAX_SIZE_LIMIT}. Use offset and limit.")
        if size < 0:
            raise BadRequest("maxSize must not be negative.")
        return size or MAX_SIZE_LIMIT

    def _sorts(self, order_by: Any, order: Any) -> list[Sort]:
        if order is not None:
            if not isinstance(order, str) or order.lower() not in ("asc", "desc"):
                raise BadRequest("order value is bad.")
        if order_by in (None, ""):
            direction = (order or self.entity.order).lower()
            return [Sort(self.entity.order_by, direction == "desc")]
        if not isinstance(order_by, str):
            raise BadRequest("orderBy must be a string.")
        if "." in order_by or ":" in order_by:
            raise Forbidden("Complex expressions are forbidden in orderBy.")
        if not self._sortable(order_by):
            raise BadRequest(f"Order by non-existing field '{order_by}'.")
        return [Sort(order_by, (order or "asc").lower() == "desc")]

    def _sortable(self, name: str) -> bool:
        """Stored attributes and those read from a junction row, and link/currency/date fields (sorted by their
        name, amount or date)."""
        attribute = self.entity.attributes.get(name)
        if attribute is not None:
            return attribute.column is not None or name in self.entity.primary_row_columns
        field = self.entity.fields.get(name)
        return field is not None and field.type in SORTABLE_FIELD_TYPES

    def _primary_filter(self, name: Any) -> Node:
        if name == "all":
            return TRUE
        if name == "followed":
            return followed_filter(self.entity, self.actor.user_id)
        items = self.entity.primary_filters.get(name) if isinstance(name, str) else None
        if items is None:
            raise BadRequest(f"No primary filter '{name}' for '{self.entity.name}'.")
        return self.where_parser.parse(items)

    def _bool_filter(self, name: Any) -> Node:
        if name == "onlyMy":
            return ownership_condition(self.actor, self.entity)
        if name == "onlyMyTeam" and self.entity.has_teams:
            return Linked("teams", LinkMode.ANY, tuple(sorted(self.actor.team_ids)))
        if name == "followed":
            return followed_filter(self.entity, self.actor.user_id)
        raise BadRequest(f"No bool filter '{name}' for '{self.entity.name}'.")


def _criteria_where(where: Any, name: str) -> list:
    if not isinstance(where, list):
        raise BadRequest(f"Bad {name}: {_describe(where)}, not a list of where items.")
    return where
