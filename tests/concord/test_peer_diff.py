"""Differences found by replaying a scenario against a real Concord CRM 1.4.1, each pinned."""

from __future__ import annotations

import json

import pytest

from tests.concord.conftest import MAPPING, Concord
from tests.support.concord import group, rule


def test_tokens_list_after_a_custom_field_changed_the_schema(concord: Concord):
    """A new custom field rebuilds the tables; the token list mixed the old and new `api_key` (a 500)."""
    assert concord.post("custom-fields", {"resource_name": "contacts", "label": "Nick", "field_type": "Text",
                                          "field_id": "cf_nick"}).status_code == 201
    listed = concord.get("personal-access-tokens")
    assert listed.status_code == 200 and [row["name"] for row in listed.json()] == ["n8n"]
    issued = concord.post("personal-access-tokens", {"name": "second"}).json()
    assert concord.delete(f"personal-access-tokens/{issued['accessToken']['id']}").status_code == 204


def filtered(concord: Concord, resource: str, *children: dict) -> list[str]:
    rows = concord.get(resource, filters=json.dumps(group(*children))).json()["data"]
    return sorted(row["display_name"] for row in rows)


def test_a_phone_text_filter_matches_any_number_of_the_record(concord: Concord):
    concord.create("contacts", {"first_name": "Bob", "phones": [{"number": "+47 1234", "type": "mobile"},
                                                                {"number": "+47 999", "type": "other"}]})
    concord.create("contacts", {"first_name": "Cid", "phones": ["+1 555 0100"]})
    number = {"operand": "number", "type": "text"}
    assert filtered(concord, "contacts", rule("phones", "contains", "999", **number)) == ["Bob"]
    assert filtered(concord, "contacts", rule("phones", "ends_with", "0100", **number)) == ["Cid"]
    assert filtered(concord, "contacts", rule("phones", "not_contains", "999", **number)) == ["Cid"]
    assert concord.get("contacts", q="999", search_fields="phones.number:like").json()["meta"]["total"] == 1


def test_emptying_a_required_string_on_update_is_two_messages(concord: Concord):
    deal = concord.create("deals", {"name": "Big", "stage_id": 1})
    response = concord.put(f"deals/{deal['id']}", {"name": "", "stage_id": ""})
    assert response.json() == {
        "message": "The Deal Name field must be a string. (and 2 more errors)",
        "errors": {"name": ["The Deal Name field must be a string.", "The Deal Name field must have a value."],
                   "stage_id": ["The Stage field must have a value."]}}
    assert concord.post("deals", {"name": "", "stage_id": None}).json()["errors"] == {
        "name": ["The Deal Name field is required."], "stage_id": ["The Stage field is required."]}


def test_labels_in_messages_are_concords(concord: Concord):
    assert concord.post("companies", {}).json()["errors"] == {"name": ["The Name field is required."]}
    assert concord.post("contacts", {"first_name": "A", "job_title": 5}).json()["errors"] == {
        "job_title": ["The Job Name field must be a string."]}
    assert concord.post("companies", {"name": "A", "domain": 5}).json()["errors"] == {
        "domain": ["The Domain Name field must be a string."]}
    # Pipelines and stages validate with Laravel's plain attribute names
    assert concord.post("pipelines", {}).json()["errors"] == {"name": ["The name field is required."]}
    assert concord.post("pipeline-stages", {"name": "X", "pipeline_id": 1, "win_probability": 140}).json() == {
        "message": "The win probability field must not be greater than 100.",
        "errors": {"win_probability": ["The win probability field must not be greater than 100."]}}


def test_a_whole_amount_is_a_json_integer(concord: Concord):
    whole = concord.post("deals", {"name": "Int", "stage_id": 1, "amount": 100})
    assert b'"amount":100,' in whole.content and whole.json()["amount"] == 100
    assert concord.create("deals", {"name": "Frac", "stage_id": 1, "amount": 1500.5})["amount"] == 1500.5


@pytest.mark.parametrize("sent, kept", [("https://beta.test/x", "beta.test"), ("www.acme.co.uk", "acme.co.uk"),
                                        ("acme.com", "acme.com"), ("localhost", None)])
def test_a_company_domain_is_kept_as_its_domain_name(concord: Concord, sent: str, kept: str | None):
    assert concord.create("companies", {"name": "Beta", "domain": sent})["domain"] == kept


def test_global_search_without_a_query_is_empty_and_only_limits_it(concord: Concord):
    concord.create("contacts", {"first_name": "Ann"})
    assert concord.get("search").json() == []
    groups = concord.get("search", q="Ann").json()
    assert [(g["resource_name"], g["action"]) for g in groups] == [
        ("activities", "float"), ("companies", "float"), ("contacts", "float"), ("deals", "float"),
        ("documents", "view"), ("products", "view")]
    assert [g["resource_name"] for g in concord.http.get("/api/search?q=Ann&only[]=contacts").json()] == ["contacts"]


def test_attaching_nothing_attachable_is_concords_403(concord: Concord):
    contact = concord.create("contacts", {"first_name": "Ann"})
    response = concord.put(f"associations/contacts/{contact['id']}", {"companies": [99999]})
    assert response.status_code == 403
    assert response.json() == {"message": "You are not authorized to perform this action."}


def test_stages_are_listed_by_name(concord: Concord):
    names = [row["name"] for row in concord.get("pipeline-stages").json()["data"]]
    assert names == sorted(names) and len(names) == 5


def test_counts_sit_among_the_fields_as_concords(concord: Concord):
    """Concord shows `<association>_count` where the association field is, after the common keys; the notes
    and calls counts, which its resource loads apart, right after `id` (an activity's `created_by` too)."""
    deal = concord.create("deals", {"name": "Big", "stage_id": 2})
    keys = list(deal)
    first = ["notes_count", "calls_count"]
    counts = [f"{key}_count" for key in MAPPING.resources["deals"].associations if f"{key}_count" not in first]
    assert keys[:25 + len(counts)] == [  # `media` with the resource's own keys, before the common ones
        "id", *first, "products_count", "stage_changed_date", "board_order", "media", "display_name", "path",
        "created_at", "updated_at", "authorizations",
        "was_recently_created",
        "name", "pipeline_id", "stage_id", "amount", "expected_close_date", "tags", "status", "lost_reason",
        "won_date", "lost_date", "user_id", "swatch_color", *counts]
    assert keys[-2:] == ["actions", "associations_count"]
    concord.create("contacts", {"first_name": "A"})
    keys = list(concord.get("contacts").json()["data"][0])
    counts = [f"{key}_count" for key in MAPPING.resources["contacts"].associations if f"{key}_count" not in first]
    assert keys[:3] == ["id", *first]
    assert keys[11:17 + len(counts)] == ["email", "phones", "tags", "user_id", "source_id", *counts, "job_title"]
    activity = concord.create("activities", {"title": "A", "user_id": concord.user_id, "due_date": "2030-01-15"})
    assert list(activity)[:5] == ["id", "created_by", "comments_count", "media", "display_name"]  # as 1.4.1's (less the
    # keys PolyCRM keeps nothing for: is_reminded, is_due, creator)


def test_pipelines_stages_and_lost_reasons_are_their_models_own_json(concord: Concord):
    """Concord shows these through their models' own JSON resources: no display_name or path, the stages on every
    pipeline row, `is_primary`, a pipeline's five authorizations, none on stages and lost reasons."""
    pipeline = concord.get("pipelines").json()["data"][0]
    assert list(pipeline) == ["id", "name", "flag", "display_order", "stages", "is_primary", "created_at",
                              "updated_at", "authorizations", "was_recently_created"]
    assert pipeline["is_primary"] is True and len(pipeline["stages"]) == 5
    assert list(pipeline["authorizations"]) == ["viewAny", "view", "create", "update", "delete"]
    assert list(pipeline["stages"][0]) == ["id", "name", "win_probability", "display_order", "pipeline_id",
                                           "created_at", "updated_at", "was_recently_created"]
    second = concord.create("pipelines", {"name": "Second"})
    assert second["is_primary"] is False and second["was_recently_created"] is True
    assert list(second)[-2:] == ["actions", "associations_count"]
    reason = concord.create("lost-reasons", {"name": "Too pricey"})
    assert list(reason) == ["id", "name", "created_at", "updated_at", "was_recently_created", "actions",
                            "associations_count"]
    assert list(concord.get("lost-reasons").json()["data"][0]) == ["id", "name", "created_at", "updated_at",
                                                                   "was_recently_created"]


def test_the_primary_pipeline_is_kept(concord: Concord):
    primary = concord.get("pipelines").json()["data"][0]
    response = concord.delete(f"pipelines/{primary['id']}")
    assert response.status_code == 409
    assert response.json() == {"message": "The primary pipeline cannot be deleted."}
    assert concord.get(f"pipelines/{primary['id']}").status_code == 200
    second = concord.create("pipelines", {"name": "Second"})
    assert concord.delete(f"pipelines/{second['id']}").status_code == 204


def test_me_is_concords_user_json(concord: Concord):
    me = concord.get("me").json()
    assert list(me) == ["id", "name", "email", "timezone", "locale", "avatar", "uploaded_avatar_url", "avatar_url",
                        "mail_signature", "guest_email", "guest_display_name", "teams", "super_admin", "access_api",
                        "time_format", "date_format", "default_landing_page", "roles", "created_at", "updated_at",
                        "authorizations", "was_recently_created"]
    shown = concord.as_user("mary", None, email="mary@example.com").get("me").json()
    # the md5 of the address, as Concord's Gravatar fallback
    assert shown["avatar_url"] == "https://www.gravatar.com/avatar/c96da02bba97aedfd26136e980ae3761?s=40"
    assert shown["guest_email"] == shown["email"]


def test_a_new_tokens_row_keys_are_in_eloquents_order(concord: Concord):
    issued = concord.post("personal-access-tokens", {"name": "second"}).json()["accessToken"]
    assert list(issued) == ["name", "abilities", "expires_at", "tokenable_id", "tokenable_type", "updated_at",
                            "created_at", "id"]


def test_a_pipelines_stages_list_in_display_order_the_stages_index_by_name(concord: Concord):
    pipeline = concord.get("pipelines").json()["data"][0]
    listed = concord.get(f"pipelines/{pipeline['id']}/stages").json()["data"]
    assert [s["display_order"] for s in listed] == [1, 2, 3, 4, 5]
    assert [s["display_order"] for s in pipeline["stages"]] == [1, 2, 3, 4, 5]
    assert [s["name"] for s in concord.get("pipeline-stages").json()["data"]][0] == "Appointment Scheduled"


def test_a_lost_deal_without_a_reason_is_laravels_required_if(concord: Concord):
    deal = concord.create("deals", {"name": "Big", "stage_id": 1})
    assert concord.put(f"deals/{deal['id']}", {"status": "lost"}).json() == {
        "message": "The Lost Reason field is required when Status is lost.",
        "errors": {"lost_reason": ["The Lost Reason field is required when Status is lost."]}}


def test_an_empty_array_for_a_text_key_is_not_a_string_and_an_owner_not_a_number_is_invalid(concord: Concord):
    response = concord.post("companies", {"name": "A", "domain": [], "city": [], "user_id": "abc"})
    assert response.json()["errors"] == {"domain": ["The Domain Name field must be a string."],
                                         "city": ["The City field must be a string."],
                                         "user_id": ["The selected Owner is invalid."]}
    assert concord.create("contacts", {"first_name": "A", "phones": []})["phones"] == []


def test_the_token_route_tells_its_budget(concord: Concord):
    guest = concord.harness.client({"Accept": "application/json"}, validate=False)
    failed = guest.post("/api/token", json={"email": "nobody@example.com", "password": "x", "device_name": "n8n"})
    assert failed.status_code == 422 and failed.headers["x-ratelimit-limit"] == "90"
    assert int(failed.headers["x-ratelimit-remaining"]) < 90


def test_rule_labels_are_concords(concord: Concord):
    rules = {rule["id"]: rule for rule in concord.get("contacts/rules").json()}
    assert (rules["created_at"]["label"], rules["updated_at"]["label"]) == ("Created At", "Updated At")
    assert rules["address"]["label"] == "Address"
    assert [(o["value"], o["label"]) for o in rules["address"]["operands"]] == [
        ("street", "Street Address"), ("city", "City"), ("state", "State/Region"), ("postal_code", "Postal Code"),
        ("country_id", "Country")]
    assert rules["phones"]["label"] == "Phone" and rules["phones"]["operands"][0]["label"] == "Phone"
    assert [(o["value"], o["label"]) for o in rules["companies"]["operands"]][0] == ("companies.name", "Name")
    assert rules["job_title"]["label"] == "Job Name"


def test_a_too_long_email_address_is_laravels_max_message(concord: Concord):
    response = concord.post("contacts", {"first_name": "A", "email": "a" * 250 + "@x.org"})
    assert response.json()["errors"] == {"email": ["The E-Mail Address field must not be greater than 191 "
                                                   "characters."]}


@pytest.mark.parametrize("resource, body, fields", [
    ("call-outcomes", {"name": "Voicemail full", "swatch_color": "#123abc"}, ["name", "swatch_color"]),
    ("industries", {"name": "Shipyards"}, ["name"]), ("sources", {"name": "Fair"}, ["name", "is_primary"])])
def test_call_outcomes_industries_and_sources_are_their_models_own_json(concord: Concord, resource: str, body: dict,
                                                                 fields: list[str]):
    """Concord shows them without `display_name`/`path`, the fields right after `id` (a source's `is_primary`:
    Concord's `Web Form` has a flag), and the policy's five authorizations."""
    keys = ["id", *fields, "created_at", "updated_at", "authorizations", "was_recently_created"]
    made = concord.create(resource, body)
    assert list(made) == [*keys, "actions", "associations_count"] and made["was_recently_created"] is True
    assert made["authorizations"] == dict.fromkeys(["viewAny", "view", "create", "update", "delete"], True)
    assert list(concord.get(f"{resource}/{made['id']}").json()) == [*keys, "actions", "associations_count"]
    assert list(concord.get(resource).json()["data"][0]) == keys
    if resource == "sources":
        assert {row["name"]: row["is_primary"] for row in concord.get(resource, per_page="50").json()["data"]}[
            "Web Form"] is True and made["is_primary"] is False


def test_errors_are_in_concords_rule_order_not_the_bodys(concord: Concord):
    """Laravel lists errors in its rules' order (the fields', a call's or note's via keys first), and the
    message names the first."""
    response = concord.post("products", {"is_active": "y", "tax_rate": "z", "name": 5})
    assert list(response.json()["errors"]) == ["name", "unit_price", "tax_rate", "is_active"]
    assert response.json()["message"] == "The Name field must be a string. (and 3 more errors)"
    assert list(concord.post("calls", {}).json()["errors"]) == [
        "via_resource", "via_resource_id", "call_outcome_id", "date", "body"]
    assert concord.post("notes", {}).json()["message"] == "The via resource field is required. (and 2 more errors)"


def test_tags_are_read_as_concords_tags_field_reads_them(concord: Concord):
    """Concord seeds four contacts tags; null or a blank string leaves a record's tags alone (Laravel reads ""
    as null, and the field fills only a value); what is no list or string is `must be an array.`"""
    contact = concord.create("contacts", {"first_name": "A", "tags": ["hot lead"]})
    assert [(t["id"], t["name"], t["swatch_color"]) for t in contact["tags"]] == [(2, "Hot Lead", "#DC2626")]
    for nothing in (None, "", "  "):
        assert concord.put(f"contacts/{contact['id']}", {"tags": nothing}).json()["tags"] == contact["tags"]
    assert concord.put(f"contacts/{contact['id']}", {"tags": 5}).json() == {
        "message": "The Tags field must be an array.", "errors": {"tags": ["The Tags field must be an array."]}}
    rule = {r["id"]: r for r in concord.get("contacts/rules").json()}["tags"]
    assert (rule["valueKey"], rule["labelKey"]) == ("value", "label")
    assert rule["options"][0] == {"value": 1, "label": "Customer", "swatch_color": "#10b981"}


def test_select_rules_over_records_list_them_by_name(concord: Concord):
    zoe = concord.as_user("zoe", None, first_name="Zoe", last_name="Lee")
    rules = {r["id"]: r for r in concord.get("activities/rules").json()}
    assert [o["name"] for o in rules["activity_type_id"]["options"]] == ["Call", "Deadline", "Email", "Meeting",
                                                                         "Task"]
    owners = rules["user_id"]["options"]  # "me", then the other users, not the caller
    assert owners[0] == {"id": "me", "name": "Me"} and {"id": zoe.user_id, "name": "Zoe Lee"} in owners
    assert concord.user_id not in [o["id"] for o in owners]
    documents = {r["id"]: r for r in concord.get("documents/rules").json()}
    assert [documents[key]["label"] for key in ("title", "document_type_id", "brand_id", "status", "user_id")] == [
        "Document Title", "Type", "Brand", "Status", "Owner"]
    assert [o["name"] for o in documents["document_type_id"]["options"]] == ["Contract", "Proposal", "Quote"]
    assert [o["label"] for o in documents["status"]["options"]] == ["Draft", "Sent", "Accepted", "Lost"]
    deals = {r["id"]: r for r in concord.get("deals/rules").json()}
    assert deals["status"]["options"] == [{"label": "Open", "value": "open"}, {"label": "Won", "value": "won"},
                                          {"label": "Lost", "value": "lost"}]
    assert {r["id"]: r for r in concord.get("contacts/rules").json()}["companies"]["label"] == "Company"
    # a role that may not read users sees no one's name; every user reads the activity types
    limited = concord.as_user("lim", {"Task": {"read": "own"}, "User": {"read": "no"}})
    rules = {r["id"]: r for r in limited.get("activities/rules").json()}
    assert rules["user_id"]["options"] == [{"id": "me", "name": "Me"}]
    assert len(rules["activity_type_id"]["options"]) == 5


def test_messages_are_concords_own(concord: Concord):
    activity = {"title": "A", "user_id": concord.user_id, "due_date": "2030-01-15"}
    made = concord.create("activities", activity)
    emptied = {"end_date": ["The End Date field must have a value."]}
    assert concord.post("activities", {**activity, "end_date": None}).json()["errors"] == emptied
    assert concord.put(f"activities/{made['id']}", {"end_date": None}).json()["errors"] == emptied
    assert concord.put(f"activities/{made['id']}", {"activity_type_id": "abc"}).json()["errors"] == {
        "activity_type_id": ["The selected Activity Type is invalid."]}
    contact = concord.create("contacts", {"first_name": "C"})
    via = {"via_resource": "contacts", "via_resource_id": contact["id"]}
    call = concord.create("calls", {"call_outcome_id": 1, "date": "2030-03-04 10:15:00", "body": "x", **via})
    assert concord.put(f"calls/{call['id']}", {"body": "", "call_outcome_id": "busy"}).json()["errors"] == {
        "call_outcome_id": ["The Outcome field must be a number."], "body": ["This field is required."]}
    note = concord.create("notes", {"body": "x", **via})
    assert concord.put(f"notes/{note['id']}", {"body": None}).json()["errors"] == {"body": ["This field is required."]}
    product = concord.create("products", {"name": "P", "unit_price": 1})
    assert concord.put(f"products/{product['id']}", {"unit_price": None}).json()["errors"] == {
        "unit_price": ["The Unit Price field is required."]}
    document = concord.create("documents", {"title": "D", "brand_id": 1, "user_id": concord.user_id})
    forbidden = ["This document type id value is forbidden."]
    assert concord.put(f"documents/{document['id']}", {"title": "", "document_type_id": "abc", "brand_id": "abc",
                                                        "locale": "xx"}).json()["errors"] == {
        "title": ["The title field must have a value."], "document_type_id": forbidden,
        "brand_id": ["The selected brand id is invalid."], "locale": ["This locale does not exists."]}
    assert concord.put(f"documents/{document['id']}", {"document_type_id": 99999}).json()["errors"] == {
        "document_type_id": forbidden}


def test_authorizations_are_each_policys_and_a_product_shows_its_creator(concord: Concord):
    contact = concord.create("contacts", {"first_name": "C"})
    via = {"via_resource": "contacts", "via_resource_id": contact["id"]}
    five = ["viewAny", "view", "create", "update", "delete"]
    assert list(concord.create("notes", {"body": "x", **via})["authorizations"]) == five
    call = concord.create("calls", {"call_outcome_id": 1, "date": "2030-03-04 10:15:00", "body": "x", **via})
    assert list(call["authorizations"]) == five
    assert list(concord.get("calls").json()["data"][0]["authorizations"]) == five
    document = concord.create("documents", {"title": "D", "brand_id": 1, "user_id": concord.user_id})
    assert list(document["authorizations"]) == [*five, "bulkDelete"]
    product = concord.create("products", {"name": "P", "unit_price": 1})
    assert list(product)[list(product).index("is_active") + 1] == "created_by"
    assert (product["created_by"], product["direct_cost"]) == (concord.user_id, 0)
