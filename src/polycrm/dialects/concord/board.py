"""Concord's deals board (DealBoardController). `GET /api/deals/board/{pipeline}` (its `board`): a pipeline's
stages in display order, each with the summary of its deals (`count`, `value`: the sum of their amounts,
`weighted_value`: that times the stage's win probability) and its first cards (15, or `pages[<stage id>]` pages
of them), as Concord 1.4.1 answers it. Only the deals the caller may read count; `q` and `filters` narrow them
as on `GET /api/deals`, `order` orders the cards (default: by id, Concord's natural order; `order=board_order`
as the board was arranged). `POST /api/deals/board/{pipeline}` (its `update`) saves the cards' stages and order
after a drag.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from polycrm.core.errors import NotFound
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import WARNING_HEADER, ConcordResponse, answer, invalid, invalid_field, \
    record_not_found
from polycrm.dialects.concord.field_readers import MAX_IDS, as_integer
from polycrm.dialects.concord.pages import page_number
from polycrm.dialects.concord.records import list_condition, list_order, path_number
from polycrm.dialects.concord.view import ResourceView
from polycrm.query.tree import Compare, Op, Sort, conjunction

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

DEALS, PIPELINES, STAGES = "deals", "pipelines", "pipeline-stages"
STAGE_MODEL = "Modules\\Deals\\App\\Models\\Stage"
PER_PAGE = 15  # Concord's Board::$perPage
MAX_PAGES = 100  # `pages[<stage>]` beyond this loads this many
# A card's keys in Concord's order, each the deal row's key it shows (DealBoardCardResource). Concord's
# next_activity_date and incomplete_activities_for_user_count are left out: PolyCRM keeps neither
# (docs/concord-api.md).
CARD_KEYS = ("id", "name", "amount", "display_name", "path", "status", "authorizations", "expected_close_date",
             "products_count", "user_id", "swatch_color", "stage_id", "updated_at", "created_at")


def board(api: ConcordApi, request: ConcordRequest) -> Response:
    pipeline = _pipeline(api, request)
    stages = _stages(api, request, pipeline["id"])
    view, condition = _deals(api, request)
    totals = _totals(api, request, view, condition, stages)
    pages = request.query.get("pages") if isinstance(request.query.get("pages"), dict) else {}
    return answer([_stage_shown(api, request, view, condition, stage, _summary(stage, totals),
                                PER_PAGE * _pages(pages.get(str(stage["id"])))) for stage in stages])


def load(api: ConcordApi, request: ConcordRequest) -> Response:
    """`GET /api/deals/board/{pipeline}/{stage}` (its `load`): one stage with a page of its cards (`page`), to
    load more of them; `summary` null, as Concord's. The stage need not be the pipeline's, as in Concord."""
    _pipeline(api, request)
    raw = request.params["stage"]
    stages = api.mapping.resources[STAGES]
    try:
        stage = api.core.records(stages.entity_name).read(request.user, path_number(raw, STAGE_MODEL))
    except NotFound:
        raise record_not_found(STAGE_MODEL, raw) from None  # Concord 1.4.1: 500
    view, condition = _deals(api, request)
    return answer(_stage_shown(api, request, view, condition, stage, None, PER_PAGE,
                               (page_number(request) - 1) * PER_PAGE))


def summary(api: ConcordApi, request: ConcordRequest) -> Response:
    """`GET /api/deals/board/{pipeline}/summary[/{stage}]` (its `summary`): `{<stage id>: {count, value,
    weighted_value}}` of the pipeline's stages (or of the one named), `[]` when none, as PHP writes an empty
    array; `q` and `filters` narrow the deals counted, as on the board."""
    stages = _stages(api, request, _pipeline(api, request)["id"])
    if "stage" in request.params:
        stages = [stage for stage in stages if str(stage["id"]) == request.params["stage"]]
    view, condition = _deals(api, request)
    totals = _totals(api, request, view, condition, stages)
    return answer({str(stage["id"]): _summary(stage, totals) for stage in stages} or [])


def stage_summary(api: ConcordApi, request: ConcordRequest) -> Response:
    """`GET /api/deals/board/{pipeline}/summary/{stage}`: Concord's `summary` route with its optional stage
    given (a handler of its own so that each route has its own operation in the OpenAPI document)."""
    return summary(api, request)


def _deals(api: ConcordApi, request: ConcordRequest) -> tuple[ResourceView, Any]:
    view = ResourceView.of(api, api.mapping.resources[DEALS])
    return view, list_condition(api, request, view)


def _totals(api: ConcordApi, request: ConcordRequest, view: ResourceView, condition: Any,
            stages: list[dict[str, Any]]) -> dict[Any, tuple[int, float]]:
    """Count and sum of the amounts of the deals the caller may read, by stage: one grouped statement."""
    if not stages:
        return {}
    stage_key = view.resource.by_key["stage_id"].attribute
    return api.core.records(view.entity.name).group_totals(request.user, conjunction([condition, Compare(
        stage_key, Op.IN, tuple(stage["id"] for stage in stages))]), stage_key, "amount")


def _summary(stage: dict[str, Any], totals: dict[Any, tuple[int, float]]) -> dict[str, Any]:
    count, value = totals.get(stage["id"], (0, 0.0))
    probability = stage.get("winProbability") or 0
    return {"count": count, "value": _number(value), "weighted_value": _number(probability * value / 100)}


def _stage_shown(api: ConcordApi, request: ConcordRequest, view: ResourceView, condition: Any,
                 stage: dict[str, Any], summary: dict[str, Any] | None, limit: int, offset: int = 0
                 ) -> dict[str, Any]:
    """A stage as Concord's DealBoardResource, with `limit` cards from `offset`."""
    stage_key = view.resource.by_key["stage_id"].attribute
    query = SearchQuery(where=conjunction([condition, Compare(stage_key, Op.EQ, stage["id"])]),
                        sorts=list_order(request, view, "id"), offset=offset, limit=limit,
                        select=view.attributes(), total=TotalMode.NONE)
    records = api.core.records(view.entity.name).search(request.user, query).records
    return {"id": stage["id"], "name": stage.get("name"), "win_probability": stage.get("winProbability") or 0,
            "display_order": stage.get("displayOrder"), "summary": summary,
            "cards": [_card(row) for row in view.index_rows(request.user, records)]}


def _stages(api: ConcordApi, request: ConcordRequest, pipeline_id: int) -> list[dict[str, Any]]:
    stages = api.mapping.resources[STAGES]
    pipeline_key = stages.by_key["pipeline_id"].attribute
    query = SearchQuery(where=Compare(pipeline_key, Op.EQ, pipeline_id), sorts=[Sort("displayOrder"), Sort("id")],
                        limit=1000, select=["id", "name", "winProbability", "displayOrder"], total=TotalMode.NONE)
    return api.core.records(stages.entity_name).search_visible(request.user, query).records


def _pages(value: Any) -> int:
    """`pages[<stage id>]`: how many pages of cards to load (Concord keeps a refreshed board's)."""
    return min(int(value), MAX_PAGES) if isinstance(value, str) and value.isdigit() and int(value) > 0 else 1


def _card(row: dict[str, Any]) -> dict[str, Any]:
    card = {key: row.get(key) for key in CARD_KEYS}
    amount = row.get("amount")
    card["amount"] = f"{amount:.3f}" if amount is not None else 0  # the raw decimal(15,3) column, as Concord
    if row.get("expected_close_date") is not None:
        card["falls_behind_expected_close_date"] = row.get("status") == "open" and \
            row["expected_close_date"] < datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    return card


def _number(value: float) -> int | float:
    """As PHP's json_encode writes a float: a whole one without its fraction."""
    return int(value) if float(value).is_integer() else value


# --- moving cards -------------------------------------------------------------------------------------

MAX_ORDER = 2_147_483_647  # Opportunity.boardOrder, an int column as Concord's
MAX_COLOR = 7  # Concord's `*.swatch_color` rule (max:7) and Opportunity.swatchColor


def move(api: ConcordApi, request: ConcordRequest) -> Response:
    """`POST /api/deals/board/{pipeline}` (DealBoardController::update): `[{id, stage_id, board_order,
    swatch_color}, ...]`, the cards a board shows after a drag, each deal's stage, order and colour saved.
    Each is an ordinary update of the deal through the record service (its pipeline and probability follow
    the stage, its stage change is stamped, webhooks and the stream see it), all in one transaction: a bad
    item anywhere is 422 and nothing changes (Concord 1.4.1: 500 for an unknown deal or stage). Deals the
    caller may read but not edit are left out, as Concord's BoardUpdater filters them, and named in
    `X-PolyCRM-Warning`. The answer is Concord's: 200 without a body."""
    _pipeline(api, request)
    view = ResourceView.of(api, api.mapping.resources[DEALS])
    records = api.core.records(view.entity.name)
    records.require_scope(request.user, "read")  # 403, as the board itself, for a user who reads no deals
    body = request.body
    items = list(body.values()) if isinstance(body, dict) else body  # PHP reads an object as an array
    if not isinstance(items, list):
        raise invalid_field("body", "The request body must be a JSON array.")
    if len(items) > MAX_IDS:
        raise invalid_field("body", f"The request body must not have more than {MAX_IDS} items.")
    errors: dict[str, list[str]] = {}
    moves = [_move_item(errors, position, item) for position, item in enumerate(items)]
    deals = {}
    if not errors and moves:
        deals = _by_id(records, request, {m["id"] for m in moves}, ["id", "assignedUserId"])
        stages = _by_id(api.core.records(api.mapping.resources[STAGES].entity_name), request,
                        {m["stage_id"] for m in moves}, ["id"])
        for position, item in enumerate(moves):
            if item["id"] not in deals:
                errors[f"{position}.id"] = [f"The selected {position}.id is invalid."]
            if item["stage_id"] not in stages:
                errors[f"{position}.stage_id"] = [f"The selected {position}.stage_id is invalid."]
    if errors:
        raise invalid(errors)
    editable = dict(zip(deals, records.permitted(request.user, "edit", list(deals.values()))))
    stage_key = view.resource.by_key["stage_id"].attribute
    with api.core.transaction() as conn:
        for item in moves:
            if editable[item["id"]]:
                records.update_within(conn, request.user, item["id"], {
                    stage_key: item["stage_id"], "boardOrder": item["board_order"],
                    "swatchColor": item["swatch_color"]})
    records.committed()
    skipped = sorted({item["id"] for item in moves if not editable[item["id"]]})
    headers = {WARNING_HEADER: "Deals not moved (no edit access): " + ", ".join(map(str, skipped))} \
        if skipped else None
    return ConcordResponse(None, 200, headers)


def _pipeline(api: ConcordApi, request: ConcordRequest) -> dict[str, Any]:
    """The path's pipeline, which the caller must read (Concord authorizes `view` on it): 404, 403."""
    pipelines = api.mapping.resources[PIPELINES]
    raw = request.params["pipeline"]
    try:
        return api.core.records(pipelines.entity_name).read(request.user, path_number(raw, pipelines.model))
    except NotFound:
        raise record_not_found(pipelines.model, raw) from None


def _move_item(errors: dict[str, list[str]], position: int, item: Any) -> dict[str, Any]:
    """One card of the body, as Concord's rules read it (`*.swatch_color` present, at most 7 characters; `id`,
    `stage_id`, `board_order` required), the numbers integers (PolyCRM's: Concord casts whatever comes)."""
    item = item if isinstance(item, dict) else {}
    name, color = f"{position}.swatch_color", item.get("swatch_color")
    color = None if isinstance(color, str) and not color.strip() else color  # Laravel: "" is null
    if "swatch_color" not in item:
        errors[name] = [f"The {name} field must be present."]
    elif color is not None and not isinstance(color, str):
        errors[name] = [f"The {name} field must be a string."]
    elif color is not None and len(color.strip()) > MAX_COLOR:
        errors[name] = [f"The {name} field must not be greater than {MAX_COLOR} characters."]
    read: dict[str, Any] = {"swatch_color": color.strip() if isinstance(color, str) else None}
    for key in ("id", "stage_id", "board_order"):  # after the colour: the rules' order, as Laravel reports them
        value, name = item.get(key), f"{position}.{key}"
        number = as_integer(value)
        if _blank(value):
            errors[name] = [f"The {name} field is required."]
        elif number is None or abs(number) > MAX_ORDER or (key != "board_order" and number < 1):
            errors[name] = [f"The {name} field must be an integer."]
        read[key] = number
    return read


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value in ([], {})


def _by_id(records: Any, request: ConcordRequest, ids: set[int], select: list[str]) -> dict[int, dict[str, Any]]:
    """The records of these ids the caller may read, by id."""
    query = SearchQuery(where=Compare("id", Op.IN, tuple(sorted(ids))), sorts=[Sort("id")], limit=len(ids),
                        select=select, total=TotalMode.NONE)
    return {int(row["id"]): row for row in records.search_visible(request.user, query).records}
