"""Deals, pipelines and stages through Concord (specs/concord.md §4 "Deals", §9 "Deals"): the pipeline follows
the stage, status rules (won -> lost is 409, lost needs a reason), dates as Concord renders them, companies."""

from __future__ import annotations

import pytest

from tests.concord.conftest import Concord


@pytest.fixture
def stages(concord: Concord) -> list[dict]:
    """The stages of the default pipeline a new store has."""
    pipelines = concord.get("pipelines").json()["data"]
    assert [p["display_name"] for p in pipelines] == ["Sales Pipeline"]
    return concord.get(f"pipelines/{pipelines[0]['id']}/stages", per_page="100").json()["data"]


def test_a_deal_takes_its_pipeline_from_its_stage(concord: Concord, stages: list[dict]) -> None:
    deal = concord.create("deals", {"name": "Big one", "stage_id": stages[1]["id"], "amount": 1250.5,
                                    "expected_close_date": "2030-01-15"})
    assert deal["pipeline_id"] == stages[1]["pipeline_id"] and deal["stage_id"] == stages[1]["id"]
    assert deal["amount"] == 1250.5 and deal["status"] == "open"
    assert deal["expected_close_date"] == "2030-01-15T00:00:00.000000Z"
    assert deal["path"] == f"/deals/{deal['id']}" and deal["display_name"] == "Big one"
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    opportunity = espo.get(f"/api/v1/Opportunity/{deal['id']}").json()
    assert opportunity["pipelineStageId"] == str(stages[1]["id"]) and opportunity["closeDate"] == "2030-01-15"


def test_a_deal_needs_no_amount_or_close_date_but_a_stage(concord: Concord, stages: list[dict]) -> None:
    assert concord.post("deals", {"name": "Lean", "stage_id": stages[0]["id"]}).status_code == 201
    response = concord.post("deals", {})
    assert response.status_code == 422
    assert response.json()["errors"] == {"name": ["The Deal Name field is required."],
                                         "stage_id": ["The Stage field is required."]}
    assert response.json()["message"] == "The Deal Name field is required. (and 1 more error)"
    unknown = concord.post("deals", {"name": "X", "stage_id": 999999})
    assert unknown.status_code == 422 and list(unknown.json()["errors"]) == ["stage_id"]


def test_status_rules(concord: Concord, stages: list[dict]) -> None:
    deal = concord.create("deals", {"name": "Status", "stage_id": stages[0]["id"]})
    path = f"deals/{deal['id']}"
    won = concord.put(path, {"status": "won"}).json()
    assert won["status"] == "won" and won["won_date"] is not None
    refused = concord.put(path, {"status": "lost", "lost_reason": "Price"})
    assert refused.status_code == 409
    assert refused.json() == {"message": 'The deal first must be marked as open in order to apply the "lost" status.'}
    assert concord.put(path, {"status": "open"}).json()["won_date"] is None
    no_reason = concord.put(path, {"status": "lost"})
    assert no_reason.status_code == 422 and list(no_reason.json()["errors"]) == ["lost_reason"]
    lost = concord.put(path, {"status": "lost", "lost_reason": "Price"}).json()
    assert lost["status"] == "lost" and lost["lost_reason"] == "Price" and lost["lost_date"] is not None
    bad = concord.put(path, {"status": "maybe"})
    assert bad.status_code == 422 and bad.json()["errors"] == {"status": ["The selected Status is invalid."]}


def test_deal_companies_and_contacts_both_ways(concord: Concord, stages: list[dict]) -> None:
    acme = concord.create("companies", {"name": "Acme"})
    globex = concord.create("companies", {"name": "Globex"})
    jo = concord.create("contacts", {"first_name": "Jo"})
    deal = concord.create("deals", {"name": "Shared", "stage_id": stages[0]["id"],
                                    "companies": [acme["id"], globex["id"]], "contacts": [jo["id"]]})
    assert sorted(c["id"] for c in deal["companies"]) == [acme["id"], globex["id"]]
    assert deal["companies_count"] == 2 and deal["contacts_count"] == 1
    assert [d["id"] for d in concord.get(f"companies/{acme['id']}").json()["deals"]] == [deal["id"]]
    assert [d["id"] for d in concord.get(f"contacts/{jo['id']}/deals").json()["data"]] == [deal["id"]]


def test_deal_filters(concord: Concord, stages: list[dict]) -> None:
    concord.create("deals", {"name": "Small", "stage_id": stages[0]["id"], "amount": 10})
    concord.create("deals", {"name": "Large", "stage_id": stages[2]["id"], "amount": 10000})
    rule = ('{"condition":"and","children":[{"type":"rule","query":{"type":"numeric","rule":"amount",'
            '"operator":"greater","value":100}}]}')
    assert [d["name"] for d in concord.get("deals", filters=rule).json()["data"]] == ["Large"]
    rule = ('{"condition":"and","children":[{"type":"rule","query":{"type":"multi-select","rule":"stage_id",'
            f'"operator":"in","value":[{stages[0]["id"]}]}}}}]}}')
    assert [d["name"] for d in concord.get("deals", filters=rule).json()["data"]] == ["Small"]
    rule = ('{"condition":"and","children":[{"type":"rule","query":{"type":"select","rule":"status",'
            '"operator":"equal","value":"open"}}]}')
    assert concord.get("deals", filters=rule).json()["meta"]["total"] == 2


def test_stages_are_a_resource(concord: Concord, stages: list[dict]) -> None:
    pipeline_id = stages[0]["pipeline_id"]
    created = concord.create("pipeline-stages", {"name": "Signed", "pipeline_id": pipeline_id,
                                                 "win_probability": 90})
    assert created["win_probability"] == 90
    bad = concord.post("pipeline-stages", {"name": "Bad", "pipeline_id": pipeline_id, "win_probability": 150})
    assert bad.status_code == 422 and list(bad.json()["errors"]) == ["win_probability"]


def test_a_sales_rep_reads_the_pipelines_their_deals_name(concord: Concord, stages: list[dict]) -> None:
    """Pipelines, stages and lost reasons are `readByEveryone`: a role that grants deals only still lets its
    user pick a stage and a lost reason (Concord shows them to every user); changing them stays an
    administrator's (or a role's that grants it)."""
    rep = concord.as_user("rep", {"Opportunity": {"create": "yes", "read": "own", "edit": "own", "delete": "no"}})
    assert [p["display_name"] for p in rep.get("pipelines").json()["data"]] == ["Sales Pipeline"]
    assert rep.get(f"pipeline-stages/{stages[0]['id']}").status_code == 200
    reason = concord.create("lost-reasons", {"name": "Too expensive"})
    deal = rep.create("deals", {"name": "Mine", "stage_id": stages[0]["id"], "user_id": rep.user_id})
    lost = rep.put(f"deals/{deal['id']}", {"status": "lost", "lost_reason": reason["display_name"]})
    assert lost.status_code == 200 and lost.json()["status"] == "lost"
    assert rep.post("pipelines", {"name": "Rep's own"}).status_code == 403
    assert rep.put(f"pipeline-stages/{stages[0]['id']}", {"name": "Renamed"}).status_code == 403
    assert rep.delete(f"lost-reasons/{reason['id']}").status_code == 403
    assert rep.get("contacts").status_code == 403  # the rest of the role's silence still means no
