"""`GET /api/deals/board/{pipeline}` (specs/concord.md §2 "Deals"): a pipeline's deals by stage, each stage with
its summary and its first cards, as Concord CRM 1.4.1 answers it; `POST` moves and orders the cards."""

from __future__ import annotations

import pytest

from tests.concord.conftest import Concord
from tests.support.espo import subscribe_and_last_event

STAGE_KEYS = ["id", "name", "win_probability", "display_order", "summary", "cards"]
CARD_KEYS = ["id", "name", "amount", "display_name", "path", "status", "authorizations", "expected_close_date",
             "products_count", "user_id", "swatch_color", "stage_id", "updated_at", "created_at"]


@pytest.fixture
def pipeline(concord: Concord) -> dict:
    [pipeline] = concord.get("pipelines").json()["data"]
    return pipeline


def stage_ids(pipeline: dict) -> list[int]:
    return [stage["id"] for stage in sorted(pipeline["stages"], key=lambda s: s["display_order"])]


def test_deals_grouped_by_stage_with_summaries(concord: Concord, pipeline: dict) -> None:
    first, second = stage_ids(pipeline)[:2]
    concord.put(f"pipeline-stages/{second}", {"win_probability": 40})
    big = concord.create("deals", {"name": "Big", "stage_id": first, "amount": 27})
    concord.create("deals", {"name": "Bigger", "stage_id": first, "amount": 110.25})
    concord.create("deals", {"name": "None", "stage_id": first})
    late = concord.create("deals", {"name": "Late", "stage_id": second, "amount": 100,
                                     "expected_close_date": "2001-01-01"})
    response = concord.get(f"deals/board/{pipeline['id']}")
    assert response.status_code == 200, response.content
    stages = response.json()
    assert [s["id"] for s in stages] == stage_ids(pipeline) and list(stages[0]) == STAGE_KEYS
    assert stages[0]["summary"] == {"count": 3, "value": 137.25, "weighted_value": stages[0]["win_probability"]
                                    * 137.25 / 100}
    assert stages[1]["summary"] == {"count": 1, "value": 100, "weighted_value": 40}
    assert b'"value":100,' in response.content  # a whole float without its fraction, as PHP writes it
    assert stages[2]["summary"] == {"count": 0, "value": 0, "weighted_value": 0} and stages[2]["cards"] == []
    cards = stages[0]["cards"]
    assert [c["name"] for c in cards] == ["Big", "Bigger", "None"]  # by id
    assert list(cards[0]) == CARD_KEYS and cards[0]["path"] == f"/deals/{big['id']}"
    assert [c["amount"] for c in cards] == ["27.000", "110.250", 0]  # the raw decimal column, as Concord
    [late_card] = stages[1]["cards"]
    assert late_card["falls_behind_expected_close_date"] is True and late_card["id"] == late["id"]
    assert late_card["expected_close_date"] == "2001-01-01T00:00:00.000000Z"


def test_q_filters_and_pages_narrow_the_cards(concord: Concord, pipeline: dict) -> None:
    first = stage_ids(pipeline)[0]
    for number in range(17):
        concord.create("deals", {"name": f"Deal {number:02}", "stage_id": first, "amount": 1})
    board = concord.get(f"deals/board/{pipeline['id']}").json()
    assert len(board[0]["cards"]) == 15 and board[0]["summary"]["count"] == 17
    more = concord.http.get(f"/api/deals/board/{pipeline['id']}", params={f"pages[{first}]": "2"}).json()
    assert len(more[0]["cards"]) == 17
    found = concord.get(f"deals/board/{pipeline['id']}", q="Deal 03").json()
    assert [c["name"] for c in found[0]["cards"]] == ["Deal 03"] and found[0]["summary"]["count"] == 1
    ordered = concord.get(f"deals/board/{pipeline['id']}", order="name|desc").json()
    assert ordered[0]["cards"][0]["name"] == "Deal 16"
    assert concord.get(f"deals/board/{pipeline['id']}", order="nosuch").status_code == 422


def test_a_limited_user_sees_only_the_deals_they_may_read(concord: Concord, pipeline: dict) -> None:
    first = stage_ids(pipeline)[0]
    own = concord.as_user("seller", {"Opportunity": {"create": "yes", "read": "own", "edit": "own",
                                                      "delete": "no"}})
    concord.create("deals", {"name": "Theirs", "stage_id": first, "amount": 5, "user_id": own.user_id})
    concord.create("deals", {"name": "Not theirs", "stage_id": first, "amount": 7})
    board = own.get(f"deals/board/{pipeline['id']}").json()
    assert [c["name"] for c in board[0]["cards"]] == ["Theirs"]
    assert board[0]["summary"] == {"count": 1, "value": 5, "weighted_value": board[0]["win_probability"] * 5 / 100}
    assert concord.as_user("nobody", {"Contact": True}).get(f"deals/board/{pipeline['id']}").status_code == 403


@pytest.mark.parametrize("raw", ["999999", "abc", "0"])
def test_unknown_pipelines_are_404_naming_the_model(concord: Concord, raw: str) -> None:
    response = concord.get(f"deals/board/{raw}")
    assert response.status_code == 404
    assert response.json() == {"message": f"No query results for model [Modules\\Deals\\App\\Models\\Pipeline] {raw}"}


def test_the_board_needs_a_token(concord: Concord, pipeline: dict) -> None:
    anonymous = concord.harness.client(validate=False)
    assert anonymous.get(f"/api/deals/board/{pipeline['id']}",
                         headers={"Accept": "application/json"}).status_code == 401
    assert anonymous.post(f"/api/deals/board/{pipeline['id']}", json=[],
                          headers={"Accept": "application/json"}).json() == {"message": "Unauthenticated."}


# --- moving cards (POST) ----------------------------------------------------------------------------------


def move(client: Concord, pipeline: dict, *cards: dict):
    return client.post(f"deals/board/{pipeline['id']}", list(cards))


def card(deal: dict, stage: int, order: int, color: str | None = None) -> dict:
    return {"id": deal["id"], "stage_id": stage, "board_order": order, "swatch_color": color}


def test_a_move_saves_stage_order_and_colour_as_an_update(concord: Concord, pipeline: dict) -> None:
    first, second = stage_ids(pipeline)[:2]
    concord.put(f"pipeline-stages/{second}", {"win_probability": 40})
    moved = concord.create("deals", {"name": "Moved", "stage_id": first})
    stays = concord.create("deals", {"name": "Stays", "stage_id": first})
    assert moved["board_order"] == 0 and moved["stage_changed_date"] is None
    assert list(moved)[:6] == ["id", "notes_count", "calls_count", "products_count", "stage_changed_date",
                               "board_order"]
    response = move(concord, pipeline, card(moved, second, 2, "#ff0000"), card(stays, first, 1))
    assert response.status_code == 200 and response.content == b""  # Concord's void answer
    deal = concord.get(f"deals/{moved['id']}").json()
    assert (deal["stage_id"], deal["board_order"], deal["swatch_color"]) == (second, 2, "#ff0000")
    assert deal["pipeline_id"] == pipeline["id"] and deal["stage_changed_date"] is not None
    assert deal["status"] == "open"  # a stage is no status: Concord's board changes none
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    record = espo.get(f"/api/v1/Opportunity/{moved['id']}").json()
    assert (record["boardOrder"], record["probability"], record["swatchColor"]) == (2, 40, "#ff0000")
    assert record["pipelineStageId"] in (second, str(second))
    kept = concord.get(f"deals/{stays['id']}").json()
    assert kept["board_order"] == 1 and kept["stage_changed_date"] is None  # no stage change, no stamp
    board = concord.get(f"deals/board/{pipeline['id']}", order="board_order").json()
    assert [c["name"] for c in board[1]["cards"]] == ["Moved"]
    # The stage change is in the deal's timeline (the stream), as any update's.
    entries = concord.get(f"deals/{moved['id']}/timeline").json()["data"]
    assert any("stage_id" in e["properties"].get("attributes", {}) for e in entries)
    # `/api/v1` writes the same order.
    espo.put(f"/api/v1/Opportunity/{moved['id']}", json={"boardOrder": 7})
    assert concord.get(f"deals/{moved['id']}").json()["board_order"] == 7


def test_a_move_to_another_pipelines_stage_takes_the_deal_there(concord: Concord, pipeline: dict) -> None:
    other = concord.create("pipelines", {"name": "Other"})
    stage = concord.create("pipeline-stages", {"name": "Only", "win_probability": 10, "pipeline_id": other["id"]})
    deal = concord.create("deals", {"name": "Travels", "stage_id": stage_ids(pipeline)[0]})
    assert move(concord, pipeline, card(deal, stage["id"], 0)).status_code == 200
    shown = concord.get(f"deals/{deal['id']}").json()
    assert (shown["pipeline_id"], shown["stage_id"]) == (other["id"], stage["id"])


def test_a_bad_item_anywhere_changes_nothing(concord: Concord, pipeline: dict) -> None:
    first, second = stage_ids(pipeline)[:2]
    deal = concord.create("deals", {"name": "Safe", "stage_id": first})
    response = move(concord, pipeline, card(deal, second, 3), {**card(deal, second, 1), "id": 999999},
                    {**card(deal, 999999, 1)})
    assert response.status_code == 422
    assert response.json()["errors"] == {"1.id": ["The selected 1.id is invalid."],
                                         "2.stage_id": ["The selected 2.stage_id is invalid."]}
    shown = concord.get(f"deals/{deal['id']}").json()
    assert (shown["stage_id"], shown["board_order"]) == (first, 0)


def test_items_are_validated_as_concord_does(concord: Concord, pipeline: dict) -> None:
    response = move(concord, pipeline, {})
    assert response.status_code == 422
    assert response.json() == {"message": "The 0.swatch_color field must be present. (and 3 more errors)",
                               "errors": {"0.id": ["The 0.id field is required."],
                                          "0.stage_id": ["The 0.stage_id field is required."],
                                          "0.board_order": ["The 0.board_order field is required."],
                                          "0.swatch_color": ["The 0.swatch_color field must be present."]}}
    wrong = move(concord, pipeline, {"id": "x", "stage_id": [1], "board_order": 1.5, "swatch_color": "#1234567"},
                 {"id": 1, "stage_id": 1, "board_order": 1, "swatch_color": 5}, "nonsense")
    errors = wrong.json()["errors"]
    assert errors["0.id"] == ["The 0.id field must be an integer."]
    assert errors["0.stage_id"] == ["The 0.stage_id field must be an integer."]
    assert errors["0.board_order"] == ["The 0.board_order field must be an integer."]
    assert errors["0.swatch_color"] == ["The 0.swatch_color field must not be greater than 7 characters."]
    assert errors["1.swatch_color"] == ["The 1.swatch_color field must be a string."]
    assert "2.id" in errors
    for body in ("text", 5):
        assert concord.post(f"deals/board/{pipeline['id']}", body).status_code == 422
    many = [{"id": 1, "stage_id": 1, "board_order": 1, "swatch_color": None}] * 1001
    assert concord.post(f"deals/board/{pipeline['id']}", many).status_code == 422
    assert concord.post(f"deals/board/{pipeline['id']}", []).status_code == 200  # nothing to move
    assert concord.post("deals/board/999999", []).status_code == 404
    malformed = concord.http.post(f"/api/deals/board/{pipeline['id']}", content=b"[{",
                                  headers={"Content-Type": "application/json"})
    assert malformed.status_code in (400, 422)


def test_deals_the_caller_may_not_edit_are_left_as_they_are(concord: Concord, pipeline: dict) -> None:
    first, second = stage_ids(pipeline)[:2]
    seller = concord.as_user("mover", {"Opportunity": {"create": "yes", "read": "all", "edit": "own",
                                                        "delete": "no"}})
    theirs = concord.create("deals", {"name": "Theirs", "stage_id": first, "user_id": seller.user_id})
    others = concord.create("deals", {"name": "Others", "stage_id": first})
    response = move(seller, pipeline, card(theirs, second, 1), card(others, second, 2))
    assert response.status_code == 200
    assert str(others["id"]) in response.headers["X-PolyCRM-Warning"]
    assert concord.get(f"deals/{theirs['id']}").json()["stage_id"] == second
    assert concord.get(f"deals/{others['id']}").json()["stage_id"] == first  # skipped, as Concord skips it
    hidden = concord.as_user("blind", {"Opportunity": {"create": "yes", "read": "own", "edit": "own",
                                                        "delete": "no"}})
    refused = move(hidden, pipeline, card(others, second, 2))  # a deal they cannot read is no deal of theirs
    assert refused.status_code == 422 and "0.id" in refused.json()["errors"]
    assert concord.as_user("nodeals", {"Contact": True}).post(
        f"deals/board/{pipeline['id']}", []).status_code == 403


def test_a_move_sends_the_deals_update_webhook(concord: Concord, pipeline: dict) -> None:
    first, second = stage_ids(pipeline)[:2]
    deal = concord.create("deals", {"name": "Hooked", "stage_id": first})
    last, _ = subscribe_and_last_event(concord.harness, "Opportunity.update",
                                       lambda: move(concord, pipeline, card(deal, second, 1)).status_code)
    assert last == ("Opportunity", deal["id"])


def test_one_stage_loads_a_page_and_summaries_count_by_stage(concord: Concord, pipeline: dict) -> None:
    first, second = stage_ids(pipeline)[:2]
    for number in range(17):
        concord.create("deals", {"name": f"Deal {number:02}", "stage_id": first, "amount": 2})
    loaded = concord.get(f"deals/board/{pipeline['id']}/{first}", page="2")
    assert loaded.status_code == 200, loaded.content
    stage = loaded.json()
    assert list(stage) == STAGE_KEYS and stage["summary"] is None and stage["id"] == first
    assert [c["name"] for c in stage["cards"]] == ["Deal 15", "Deal 16"] and list(stage["cards"][0]) == CARD_KEYS
    missing = concord.get(f"deals/board/{pipeline['id']}/999999")
    assert missing.status_code == 404
    assert missing.json() == {"message": "No query results for model [Modules\\Deals\\App\\Models\\Stage] 999999"}
    summary = concord.get(f"deals/board/{pipeline['id']}/summary").json()
    assert list(summary) == [str(s) for s in stage_ids(pipeline)]
    assert summary[str(first)]["count"] == 17 and summary[str(first)]["value"] == 34
    assert summary[str(second)] == {"count": 0, "value": 0, "weighted_value": 0}
    assert concord.get(f"deals/board/{pipeline['id']}/summary/{second}").json() == {
        str(second): {"count": 0, "value": 0, "weighted_value": 0}}
    assert concord.get(f"deals/board/{pipeline['id']}/summary/999999").json() == []  # as PHP's empty array
    assert concord.get(f"deals/board/{pipeline['id']}/summary", q="Deal 03").json()[str(first)]["count"] == 1
    assert concord.get("deals/board/999999/summary").status_code == 404
    limited = concord.as_user("few", {"Opportunity": {"create": "yes", "read": "own", "edit": "own",
                                                       "delete": "no"}})
    assert limited.get(f"deals/board/{pipeline['id']}/summary").json()[str(first)]["count"] == 0
    assert limited.get(f"deals/board/{pipeline['id']}/{first}").json()["cards"] == []
    anonymous = concord.harness.client(validate=False)
    assert anonymous.get(f"/api/deals/board/{pipeline['id']}/summary",
                         headers={"Accept": "application/json"}).status_code == 401
