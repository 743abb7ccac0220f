"""Deals, pipelines and stages (Concord CRM's, specs/concord.md §4 and §9) through EspoCRM's `/api/v1`, on both
backends: a deal's pipeline and probability follow its stage, its status (open, won, lost) and EspoCRM's
`stage` agree whichever is written, won and lost do not swap without opening first (409), a lost deal
needs a reason, a deal has many companies with one primary, and a new store has Concord's default
pipeline (core/deals.py, core/pipelines.py)."""

from __future__ import annotations

from typing import Any

import pytest

from polycrm.auth.acl import Actor
from polycrm.core.errors import Conflict
from polycrm.core.pipelines import DEFAULT_PIPELINE, DEFAULT_STAGES, ensure_default_pipeline
from polycrm.core.search import SearchQuery
from polycrm.core.service import Core
from tests.support.espo import ok, post

ADMIN = Actor(user_id=0, user_name="system", is_admin=True, user_type="admin")
LOCKED = 'The deal first must be marked as open in order to apply the "lost" status.'

# EspoCRM requires an opportunity's amount and close date (specs/espocrm.md §3.1); Concord waives them.
REQUIRED = {"amount": 0, "closeDate": "2030-01-01"}


def put(api, entity: str, record_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return ok(api.put(f"/api/v1/{entity}/{record_id}", json=body)).json()


def refused(response, field: str, kind: str) -> None:
    """A 400 validation failure of `field`."""
    ok(response, 400)
    assert response.json()["messageTranslation"]["data"] == {"field": field, "type": kind}


@pytest.fixture
def pipeline(api) -> dict[str, Any]:
    """A pipeline of two stages, A (30%) and B (70%), besides the default one."""
    made = post(api, "Pipeline", {"name": "Renewals", "displayOrder": 2})
    made["stages"] = [post(api, "PipelineStage", {"name": name, "pipelineId": made["id"], "winProbability": p,
                                                  "displayOrder": n})
                      for n, (name, p) in enumerate([("A", 30), ("B", 70)], start=1)]
    return made


def deal(api, pipeline, **extra) -> dict[str, Any]:
    return post(api, "Opportunity", {**REQUIRED, "name": "Deal", "pipelineStageId": pipeline["stages"][0]["id"],
                                     **extra})


# --- the default pipeline ---------------------------------------------------------------------------


def test_a_new_store_has_concords_default_pipeline(api):
    pipelines = ok(api.get("/api/v1/Pipeline")).json()
    assert [(p["name"], p["flag"]) for p in pipelines["list"]] == [(DEFAULT_PIPELINE, "default")]
    stages = ok(api.get(f"/api/v1/Pipeline/{pipelines['list'][0]['id']}/stages",
                        params={"orderBy": "displayOrder"})).json()["list"]
    assert [(s["name"], s["winProbability"], s["displayOrder"]) for s in stages] == [
        (name, probability, n) for n, (name, probability) in enumerate(DEFAULT_STAGES, start=1)]


def test_the_default_pipeline_is_seeded_once_and_not_again_after_its_removal(store):
    assert ensure_default_pipeline(store.database) is True
    assert ensure_default_pipeline(store.database) is False
    core = Core(store.database)
    [default] = core.records("Pipeline").search(ADMIN, SearchQuery()).records
    assert core.records("PipelineStage").search(ADMIN, SearchQuery()).total == len(DEFAULT_STAGES)
    core.records("Pipeline").delete(ADMIN, default["id"])
    assert ensure_default_pipeline(store.database) is False
    assert core.records("Pipeline").search(ADMIN, SearchQuery()).total == 0


# --- pipelines and stages ---------------------------------------------------------------------------


def test_pipelines_and_stages_are_created_read_updated_listed_and_deleted(api, pipeline):
    assert ok(api.get(f"/api/v1/Pipeline/{pipeline['id']}")).json()["name"] == "Renewals"
    assert put(api, "Pipeline", pipeline["id"], {"name": "Upsell"})["name"] == "Upsell"
    stage = pipeline["stages"][1]
    assert (stage["pipelineId"], stage["pipelineName"]) == (pipeline["id"], "Renewals")
    assert put(api, "PipelineStage", stage["id"], {"winProbability": 75})["winProbability"] == 75
    where = {"where[0][type]": "equals", "where[0][attribute]": "pipelineId", "where[0][value]": pipeline["id"]}
    listed = ok(api.get("/api/v1/PipelineStage", params=where)).json()
    assert [s["name"] for s in listed["list"]] == ["A", "B"]  # in display order
    assert ok(api.delete(f"/api/v1/PipelineStage/{stage['id']}")).json() is True
    assert [s["name"] for s in ok(api.get(f"/api/v1/Pipeline/{pipeline['id']}/stages")).json()["list"]] == ["A"]


def test_a_pipeline_name_is_checked_for_duplicates(api, pipeline):
    ok(api.post("/api/v1/Pipeline", json={"name": "Renewals"}), 409)


@pytest.mark.parametrize(("body", "field", "kind"), [
    ({"name": "S", "winProbability": 10, "pipelineId": None}, "pipeline", "required"),
    ({"name": "S", "winProbability": 10, "pipelineId": "999"}, "pipeline", "valid"),
    ({"name": "S"}, "winProbability", "required"),
    ({"name": "S", "winProbability": 101}, "winProbability", "max"),
    ({"name": "S", "winProbability": -1}, "winProbability", "min"),
    ({"name": "S", "winProbability": "high"}, "winProbability", "valid"),
    ({"name": "", "winProbability": 1}, "name", "required"),
])
def test_bad_stages_are_refused(api, pipeline, body, field, kind):
    refused(api.post("/api/v1/PipelineStage", json={"pipelineId": pipeline["id"], **body}), field, kind)
    assert ok(api.get(f"/api/v1/Pipeline/{pipeline['id']}/stages")).json()["total"] == 2


def test_lost_reasons_are_a_list_of_names(api):
    reason = post(api, "LostReason", {"name": "Went silent"})
    ok(api.post("/api/v1/LostReason", json={"name": "Went silent"}), 409)  # the duplicate check
    refused(api.post("/api/v1/LostReason", json={"name": ""}), "name", "required")
    assert put(api, "LostReason", reason["id"], {"name": "No budget"})["name"] == "No budget"
    assert [r["name"] for r in ok(api.get("/api/v1/LostReason")).json()["list"]] == ["No budget"]


def test_every_user_reads_pipelines_and_stages_and_a_role_decides_changes(harness, pipeline):
    """Pipelines and stages are `readByEveryone` (as EspoCRM's stage options and Concord's pipelines are): a
    user whose role grants deals alone puts a deal on a stage; changing pipelines takes a role that grants it."""
    read = {"create": "no", "read": "all", "edit": "no", "delete": "no"}
    _, reader = harness.user({"Pipeline": read})
    assert ok(reader.get("/api/v1/Pipeline")).json()["total"] == 2
    ok(reader.post("/api/v1/Pipeline", json={"name": "Mine"}), 403)
    ok(reader.put(f"/api/v1/Pipeline/{pipeline['id']}", json={"name": "Mine"}), 403)
    assert ok(reader.get("/api/v1/PipelineStage")).json()["total"] >= 2
    ok(reader.delete(f"/api/v1/PipelineStage/{pipeline['stages'][0]['id']}"), 403)
    deals = {"create": "yes", "read": "all", "edit": "all", "delete": "no"}
    _, seller = harness.user({"Opportunity": deals})
    body = {"name": "D", "pipelineStageId": pipeline["stages"][0]["id"]}
    assert post(seller, "Opportunity", {**REQUIRED, **body})["pipelineId"] == pipeline["id"]
    _, manager = harness.user({"Pipeline": {**read, "edit": "all"}})
    assert ok(manager.put(f"/api/v1/Pipeline/{pipeline['id']}", json={"name": "Renewals 2"})).json()["name"] == (
        "Renewals 2")


# --- stage, pipeline and probability ----------------------------------------------------------------


def test_a_deal_takes_its_stages_pipeline_and_probability(api, pipeline):
    first, second = pipeline["stages"]
    created = deal(api, pipeline)
    assert (created["pipelineId"], created["pipelineName"], created["probability"], created["status"]) == (
        pipeline["id"], "Renewals", 30, "open")
    assert created["stageChangedAt"] is None
    moved = put(api, "Opportunity", created["id"], {"pipelineStageId": second["id"]})
    assert (moved["probability"], moved["pipelineStageName"]) == (70, "B") and moved["stageChangedAt"]
    given = put(api, "Opportunity", created["id"], {"pipelineStageId": first["id"], "probability": 55})
    assert given["probability"] == 55  # a probability given with the stage wins
    assert put(api, "Opportunity", created["id"], {"name": "Renamed"})["probability"] == 55
    # A whole record sent back (the same pipeline and probability) moves the deal like its stage alone.
    whole = dict(given, pipelineStageId=second["id"])
    assert put(api, "Opportunity", created["id"], whole)["probability"] == 70


def test_a_stage_of_another_pipeline_or_an_unknown_one_is_refused(api, pipeline):
    default = ok(api.get("/api/v1/Pipeline", params={"where[0][type]": "equals", "where[0][attribute]": "flag",
                                                     "where[0][value]": "default"})).json()["list"][0]
    stage = pipeline["stages"][0]
    body = {"name": "Deal", "pipelineId": default["id"], "pipelineStageId": stage["id"]}
    refused(api.post("/api/v1/Opportunity", json={**REQUIRED, **body}), "pipelineStage", "valid")
    refused(api.post("/api/v1/Opportunity", json={**REQUIRED, "name": "Deal", "pipelineStageId": "999"}),
            "pipelineStage", "valid")
    created = deal(api, pipeline, pipelineId=pipeline["id"])  # its own pipeline may be named
    refused(api.put(f"/api/v1/Opportunity/{created['id']}", json={"pipelineId": default["id"]}), "pipeline", "valid")
    refused(api.put(f"/api/v1/Opportunity/{created['id']}", json={"pipelineStageId": "999"}), "pipelineStage", "valid")
    assert ok(api.get(f"/api/v1/Opportunity/{created['id']}")).json()["pipelineId"] == pipeline["id"]
    assert ok(api.get("/api/v1/Opportunity")).json()["total"] == 1


@pytest.mark.parametrize(("body", "field", "kind"), [
    ({"probability": 101}, "probability", "max"),
    ({"probability": -5}, "probability", "min"),
    ({"status": "closed"}, "status", "valid"),
    ({"status": "Won"}, "status", "valid"),
    ({"swatchColor": "#1234567"}, "swatchColor", "maxLength"),
])
def test_bad_deal_values_are_refused(api, body, field, kind):
    refused(api.post("/api/v1/Opportunity", json={**REQUIRED, "name": "Deal", **body}), field, kind)


def test_a_deal_needs_no_stage(api):
    created = post(api, "Opportunity", {**REQUIRED, "name": "Bare"})
    assert (created["amount"], created["status"], created["pipelineId"], created["stage"]) == (
        0, "open", None, "Prospecting")


# --- status -----------------------------------------------------------------------------------------


def test_won_and_lost_set_the_stage_probability_and_dates_and_open_clears_them(api, pipeline):
    created = deal(api, pipeline)
    won = put(api, "Opportunity", created["id"], {"status": "won"})
    assert (won["stage"], won["probability"], won["lostDate"]) == ("Closed Won", 100, None) and won["wonDate"]
    response = api.put(f"/api/v1/Opportunity/{created['id']}", json={"status": "lost", "lostReason": "Price"})
    ok(response, 409)
    assert response.headers["x-status-reason"] == LOCKED
    assert put(api, "Opportunity", created["id"], {"status": "won"})["wonDate"] == won["wonDate"]  # no change
    reopened = put(api, "Opportunity", created["id"], {"status": "open"})
    assert (reopened["stage"], reopened["probability"], reopened["wonDate"], reopened["lostDate"]) == (
        "Prospecting", 30, None, None)  # the probability of the stage it is on
    refused(api.put(f"/api/v1/Opportunity/{created['id']}", json={"status": "lost"}), "lostReason", "required")
    refused(api.put(f"/api/v1/Opportunity/{created['id']}", json={"status": "lost", "lostReason": ""}),
            "lostReason", "required")
    lost = put(api, "Opportunity", created["id"], {"status": "lost", "lostReason": "Went with a competitor"})
    assert (lost["stage"], lost["probability"], lost["lostReason"], lost["wonDate"]) == (
        "Closed Lost", 0, "Went with a competitor", None) and lost["lostDate"]
    refused(api.put(f"/api/v1/Opportunity/{created['id']}", json={"lostReason": None}), "lostReason", "required")
    ok(api.put(f"/api/v1/Opportunity/{created['id']}", json={"status": "won"}), 409)
    assert put(api, "Opportunity", created["id"], {"status": "open"})["lostReason"] is None


def test_a_deal_created_won_or_lost_is_closed_at_once(api, pipeline):
    won = deal(api, pipeline, status="won")
    assert (won["stage"], won["probability"]) == ("Closed Won", 100) and won["wonDate"]
    refused(api.post("/api/v1/Opportunity", json={**REQUIRED, "name": "D", "status": "lost"}), "lostReason", "required")
    lost = deal(api, pipeline, status="lost", lostReason="Budget")
    assert (lost["stage"], lost["probability"], lost["lostReason"]) == ("Closed Lost", 0, "Budget")
    assert deal(api, pipeline, lostReason="Budget")["lostReason"] is None  # only a lost deal keeps one
    refused(api.post("/api/v1/Opportunity", json={**REQUIRED, "name": "D", "status": "won", "stage": "Closed Lost"}),
            "stage", "valid")


def test_espocrm_stage_and_concord_status_agree(api, pipeline):
    created = deal(api, pipeline)
    won = put(api, "Opportunity", created["id"], {"stage": "Closed Won"})
    assert (won["status"], won["probability"]) == ("won", 100) and won["wonDate"]
    # EspoCRM moves a deal from won to lost at once, and has no lost reason.
    lost = put(api, "Opportunity", created["id"], {"stage": "Closed Lost"})
    assert (lost["status"], lost["wonDate"], lost["lostReason"]) == ("lost", None, None) and lost["lostDate"]
    reopened = put(api, "Opportunity", created["id"], {"stage": "Negotiation"})
    assert (reopened["status"], reopened["stage"], reopened["lostDate"], reopened["probability"]) == (
        "open", "Negotiation", None, 30)
    made_won = post(api, "Opportunity", {**REQUIRED, "name": "Espo", "stage": "Closed Won", "amount": 10,
                                         "closeDate": "2031-01-01"})
    assert made_won["status"] == "won"
    won_filter = {"primaryFilter": "won"}
    assert [r["id"] for r in ok(api.get("/api/v1/Opportunity", params=won_filter)).json()["list"]] == [made_won["id"]]


def test_mass_update_and_mass_create_follow_the_rules(api, pipeline):
    ids = [deal(api, pipeline)["id"] for _ in range(2)]
    ok(api.put("/api/v1/Opportunity/action/massUpdate",
               json={"ids": ids, "data": {"pipelineStageId": pipeline["stages"][1]["id"]}}))
    assert {ok(api.get(f"/api/v1/Opportunity/{i}")).json()["probability"] for i in ids} == {70}
    created = ok(api.post("/api/v1/Opportunity/action/massCreate", json={"list": [
        {**REQUIRED, "name": "M1", "pipelineStageId": pipeline["stages"][1]["id"]},
        {**REQUIRED, "name": "M2", "status": "won"}]})).json()
    first, second = (ok(api.get(f"/api/v1/Opportunity/{i}")).json() for i in created["ids"])
    assert (first["pipelineId"], first["probability"]) == (pipeline["id"], 70)
    assert (second["stage"], second["probability"]) == ("Closed Won", 100)
    bad = api.post("/api/v1/Opportunity/action/massCreate",
                   json={"list": [{**REQUIRED, "name": "M3", "status": "lost"}]})
    refused(bad, "lostReason", "required")


def test_the_core_refuses_won_to_lost_with_a_conflict(store):
    deals = Core(store.database).records("Opportunity")
    created = deals.create(ADMIN, {**REQUIRED, "name": "Core deal", "status": "won"})
    with pytest.raises(Conflict) as raised:
        deals.update(ADMIN, created["id"], {"status": "lost", "lostReason": "x"})
    assert raised.value.reason == LOCKED


def test_a_deal_saved_before_deals_had_a_status_has_the_one_its_stage_implies(store):
    deals = Core(store.database).records("Opportunity")
    created = deals.create(ADMIN, {**REQUIRED, "name": "Old deal", "stage": "Closed Won"})
    with store.database.transaction() as conn:
        deals.repository.update(conn, int(created["id"]), {"status": None})
    assert deals.update(ADMIN, created["id"], {"name": "Renamed"})[0]["status"] == "won"
    with pytest.raises(Conflict):
        deals.update(ADMIN, created["id"], {"status": "lost", "lostReason": "x"})


# --- companies --------------------------------------------------------------------------------------


def test_a_deal_has_many_companies_its_primary_one_among_them(api):
    first, second, third = (post(api, "Account", {"name": name})["id"] for name in ("Acme", "Globex", "Initech"))
    created = post(api, "Opportunity", {**REQUIRED, "name": "Shared", "accountId": first, "accountsIds": [second]})
    assert sorted(created["accountsIds"]) == sorted([first, second]) and created["accountId"] == first
    linked = ok(api.get(f"/api/v1/Account/{second}/opportunitiesLinked")).json()["list"]
    assert [r["id"] for r in linked] == [created["id"]]
    assert ok(api.get(f"/api/v1/Account/{second}/opportunities")).json()["total"] == 0  # not its primary
    assert [r["id"] for r in ok(api.get(f"/api/v1/Account/{first}/opportunities")).json()["list"]] == [created["id"]]
    moved = put(api, "Opportunity", created["id"], {"accountId": third})
    assert sorted(moved["accountsIds"]) == sorted([first, second, third])
    ok(api.post(f"/api/v1/Account/{first}/opportunitiesLinked", json={"id": post(api, "Opportunity", {**REQUIRED, 
        "name": "Other"})["id"]}))
    assert ok(api.get(f"/api/v1/Account/{first}/opportunitiesLinked")).json()["total"] == 2
