"""`GET /api/deals/board/{pipeline}` (Concord's DealBoardController::board): a pipeline's stages in display order,
each with the summary of its deals (`count`, `value`: the sum of their amounts, `weighted_value`: that times the
stage's win probability) and its first cards (15, or `pages[<stage id>]` pages of them), as Concord 1.4.1
answers it. Only the deals the caller may read count; `q` and `filters` narrow them as on `GET /api/deals`,
`order` orders the cards (default: by id, Concord's natural order).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from polycrm.core.errors import NotFound
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import answer, record_not_found
from polycrm.dialects.concord.records import list_condition, list_order, path_number
from polycrm.dialects.concord.view import ResourceView
from polycrm.query.tree import Compare, Op, Sort, conjunction

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

DEALS, PIPELINES, STAGES = "deals", "pipelines", "pipeline-stages"
PER_PAGE = 15  # Concord's Board::$perPage
MAX_PAGES = 100  # `pages[<stage>]` beyond this loads this many
# A card's keys in Concord's order, each the deal row's key it shows (DealBoardCardResource). Concord's
# next_activity_date and incomplete_activities_for_user_count are left out: PolyCRM keeps neither
# (docs/concord-api.md).
CARD_KEYS = ("id", "name", "amount", "display_name", "path", "status", "authorizations", "expected_close_date",
             "products_count", "user_id", "swatch_color", "stage_id", "updated_at", "created_at")


def board(api: ConcordApi, request: ConcordRequest) -> Response:
    pipelines = api.mapping.resources[PIPELINES]
    raw = request.params["pipeline"]
    try:
        pipeline = api.core.records(pipelines.entity_name).read(request.user, path_number(raw, pipelines.model))
    except NotFound:
        raise record_not_found(pipelines.model, raw) from None
    stages = _stages(api, request, pipeline["id"])
    view = ResourceView.of(api, api.mapping.resources[DEALS])
    stage_key = view.resource.by_key["stage_id"].attribute
    condition = list_condition(api, request, view)
    records = api.core.records(view.entity.name)
    totals = records.group_totals(request.user, conjunction([condition, Compare(
        stage_key, Op.IN, tuple(stage["id"] for stage in stages))]), stage_key, "amount") if stages else {}
    pages = request.query.get("pages") if isinstance(request.query.get("pages"), dict) else {}
    shown = []
    for stage in stages:
        count, value = totals.get(stage["id"], (0, 0.0))
        wanted = PER_PAGE * _pages(pages.get(str(stage["id"])))
        query = SearchQuery(where=conjunction([condition, Compare(stage_key, Op.EQ, stage["id"])]),
                            sorts=list_order(request, view, "id"), limit=wanted, select=view.attributes(),
                            total=TotalMode.NONE)
        rows = view.index_rows(request.user, records.search(request.user, query).records)
        probability = stage.get("winProbability") or 0
        shown.append({"id": stage["id"], "name": stage.get("name"), "win_probability": probability,
                      "display_order": stage.get("displayOrder"),
                      "summary": {"count": count, "value": _number(value),
                                  "weighted_value": _number(probability * value / 100)},
                      "cards": [_card(row) for row in rows]})
    return answer(shown)


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
