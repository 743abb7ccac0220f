"""`GET /api/deals/board/{pipeline}` (specs/concord.md §2 "Deals"): a pipeline's deals by stage, each stage with
its summary and its first cards, as Concord CRM 1.4.1 answers it."""

from __future__ import annotations

import pytest

from tests.concord.conftest import Concord

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
    assert concord.post(f"deals/board/{pipeline['id']}", {}).status_code == 405
