"""`GET /api/fields/{group}/create|update` (specs/concord.md §2, "field metadata (used by Zapier)"): the field
objects of a resource's forms, compared with Concord CRM 1.4.1's answers on a fresh install
(peer_fields.json, normalized by fields_normal.py) and with a few of them pinned here as literals."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.concord.conftest import Concord
from tests.concord.fields_normal import normalized

PEER = json.loads((Path(__file__).parent / "peer_fields.json").read_text())
GROUPS = sorted({key.split("/")[0] for key in PEER if "/" in key and " " not in key})
# The custom fields the peer's answers were taken with (POST /api/custom-fields), in that order.
CUSTOM = [{"label": "Fm Text", "field_type": "Text", "field_id": "cf_fm_text"},
          {"label": "Fm Select", "field_type": "Select", "field_id": "cf_fm_select",
           "options": [{"name": "Gold", "swatch_color": "#ff0000"}, {"name": "Silver"}]},
          {"label": "Fm Multi", "field_type": "MultiSelect", "field_id": "cf_fm_multi",
           "options": [{"name": "A"}, {"name": "B"}]},
          {"label": "Fm Bool", "field_type": "Boolean", "field_id": "cf_fm_bool"},
          {"label": "Fm Date", "field_type": "Date", "field_id": "cf_fm_date"},
          {"label": "Fm Num", "field_type": "Numeric", "field_id": "cf_fm_num"},
          {"label": "Fm Tz", "field_type": "Timezone", "field_id": "cf_fm_tz"}]
COMPANY_CUSTOM = [{"label": "Fm Check", "field_type": "Checkbox", "field_id": "cf_fm_check",
                   "options": [{"name": "X"}, {"name": "Y"}]},
                  {"label": "Fm Radio", "field_type": "Radio", "field_id": "cf_fm_radio", "options": [{"name": "R1"}]},
                  *({"label": f"Fm {label}", "field_type": kind, "field_id": f"cf_fm_{key}"} for label, kind, key in (
                      ("Color", "ColorSwatch", "color"), ("Dt", "DateTime", "dt"), ("Email", "Email", "email"),
                      ("Number", "Number", "number"), ("Area", "Textarea", "area"), ("Url", "Url", "url")))]

# Concord 1.4.1's answers, byte for byte.
SOURCES = ('[{"component":"text-field","formComponent":"form-text-field","detailComponent":"detail-text-field",'
           '"indexComponent":"index-text-field","inlineEditWith":null,"attribute":"name","label":"Source",'
           '"helpText":null,"helpTextDisplay":"icon","readonly":false,"collapsed":false,"primary":false,'
           '"showOnIndex":true,"showOnCreation":true,"showOnUpdate":true,"showOnDetail":true,'
           '"applicableForIndex":true,"applicableForCreation":true,"applicableForUpdate":true,"toggleable":false,'
           '"displayNone":false,"emitChangeEvent":null,"width":"full","value":null,"isRequired":true,'
           '"isUnique":true,"canUnmarkUnique":false,"inlineEditPanelWidth":"medium","hideLabel":false,'
           '"customField":null,"dateable":false,"inputType":"text"}]')
NOTES = ('[{"component":"editor-field","formComponent":"form-editor-field","detailComponent":"detail-editor-field",'
         '"indexComponent":"index-editor-field","inlineEditWith":null,"attribute":"body","label":null,'
         '"helpText":null,"helpTextDisplay":"icon","readonly":false,"collapsed":false,"primary":false,'
         '"showOnIndex":true,"showOnCreation":true,"showOnUpdate":true,"showOnDetail":true,'
         '"applicableForIndex":false,"applicableForCreation":true,"applicableForUpdate":true,"toggleable":false,'
         '"displayNone":false,"emitChangeEvent":null,"width":"full","value":null,"isRequired":true,'
         '"isUnique":false,"canUnmarkUnique":false,"inlineEditPanelWidth":"large","hideLabel":false,'
         '"customField":null,"dateable":false}]')


def fields(client: Concord, group: str, view: str) -> list[dict[str, Any]]:
    response = client.get(f"fields/{group}/{view}")
    assert response.status_code == 200, response.content
    return response.json()


def peer(group: str, view: str) -> Any:
    found = PEER[f"{group}/{view}"]
    return PEER[f"{group}/create"] if found == "the same" else found


@pytest.mark.parametrize("view", ["create", "update"])
def test_every_group_answers_as_concord_on_a_fresh_install(concord: Concord, view: str) -> None:
    for group in GROUPS:
        ours = normalized(fields(concord, group, view))
        assert json.dumps(ours) == json.dumps(peer(group, view)), group  # key order included


def test_pinned_answers_byte_for_byte(concord: Concord) -> None:
    for view in ("create", "update"):
        assert concord.get(f"fields/sources/{view}").content == SOURCES.encode()
        assert concord.get(f"fields/notes/{view}").content == NOTES.encode()
    contacts = fields(concord, "contacts", "create")
    assert [field["attribute"] for field in contacts] == [
        "first_name", "last_name", "email", "phones", "tags", "user_id", "source_id", "companies", "deals"]
    assert len(fields(concord, "contacts", "update")) == 15
    phones = contacts[3]
    assert (phones["types"], phones["type"], phones["callingPrefix"]) == (
        {"mobile": "Mobile", "work": "Work", "other": "Other"}, "mobile", "+1")
    companies = contacts[7]  # association fields load their options lazily, as Concord's
    assert (companies["options"], companies["lazyLoad"], companies["asyncUrl"]) == (
        [], {"url": "/companies", "params": {"order": "created_at|desc"}}, "/companies/search")


def test_select_options_are_listed_inline(concord: Concord) -> None:
    contacts = {field["attribute"]: field for field in fields(concord, "contacts", "update")}
    assert contacts["source_id"]["options"][0] == {"id": 7, "name": "Direct traffic", "flag": None,
                                                   "created_at": contacts["source_id"]["options"][0]["created_at"],
                                                   "updated_at": contacts["source_id"]["options"][0]["updated_at"]}
    assert [option["name"] for option in contacts["source_id"]["options"]][-1] == "Web Form"
    countries = contacts["country_id"]["options"]
    assert len(countries) == 249 and countries[:3] == [{"name": "Afghanistan", "id": 4},
                                                       {"name": "Åland Islands", "id": 248},
                                                       {"name": "Albania", "id": 8}]
    deal = {field["attribute"]: field for field in fields(concord, "deals", "create")}
    assert deal["pipeline_id"]["value"]["flag"] == "default"
    assert [stage["name"] for stage in deal["stage_id"]["options"]][:2] == ["Qualified To Buy", "Contact Made"]
    assert deal["stage_id"]["value"] == deal["stage_id"]["options"][0]
    activity = {field["attribute"]: field for field in fields(concord, "activities", "create")}
    task = next(option for option in activity["activity_type_id"]["options"] if option["name"] == "Task")
    assert activity["activity_type_id"]["value"] == task["id"]  # the default type


def test_custom_fields_join_with_their_component(concord: Concord) -> None:
    for body in CUSTOM:
        assert concord.post("custom-fields", {"resource_name": "contacts", **body}).status_code == 201
    for view in ("create", "update"):
        shown = normalized(fields(concord, "contacts", view))
        assert [field["attribute"] for field in shown] == PEER[f"contacts/{view} order with custom fields"]
    custom = [field for field in normalized(fields(concord, "contacts", "create")) if field["customField"]]
    assert json.dumps(custom) == json.dumps(PEER["contacts custom fields"])

    for body in COMPANY_CUSTOM:
        assert concord.post("custom-fields", {"resource_name": "companies", **body}).status_code == 201
    shown = normalized(fields(concord, "companies", "update"))
    assert [field["attribute"] for field in shown] == PEER["companies/update order with custom fields"]
    assert json.dumps([field for field in shown if field["customField"]]) == json.dumps(PEER["companies custom fields"])
    assert "cf_fm_check" not in [field["attribute"] for field in fields(concord, "contacts", "create")]

    for group in ("deals", "products"):  # before the associations; last where there are none
        assert concord.post("custom-fields", {"resource_name": group, **CUSTOM[0]}).status_code == 201
        for view in ("create", "update"):
            assert [field["attribute"] for field in fields(concord, group, view)] == \
                   PEER[f"{group}/{view} order with custom fields"]


def test_a_limited_user_sees_the_same_fields_owned_by_themselves(concord: Concord) -> None:
    pat = concord.as_user("pat", {"Contact": {"create": "no", "read": "own", "edit": "no", "delete": "no"}},
                          email="pat@example.com")
    for group in ("contacts", "deals", "activities"):
        theirs, ours = fields(pat, group, "create"), fields(concord, group, "create")
        owner = next(field for field in theirs if field["attribute"] == "user_id")
        assert owner["value"]["id"] == pat.user_id
        digest = hashlib.md5(b"pat@example.com").hexdigest()
        assert owner["value"]["avatar_url"] == f"https://www.gravatar.com/avatar/{digest}?s=40"
        assert {user["id"] for user in owner["options"]} >= {concord.user_id, pat.user_id}
        assert [{**field, "value": None} for field in theirs if field["attribute"] == "user_id"] == \
               [{**field, "value": None} for field in ours if field["attribute"] == "user_id"]
        assert [field for field in theirs if field["attribute"] != "user_id"] == \
               [field for field in ours if field["attribute"] != "user_id"]
        assert not any(field["readonly"] for field in theirs)  # Concord marks none read-only


def test_groups_without_fields_are_empty_lists(concord: Concord) -> None:
    for group in ("documents", "users", "pipelines", "brands", "bogus", "Contacts", "x" * 300, "%F0%9F%98%80"):
        assert concord.get(f"fields/{group}/create").json() == []
        assert concord.get(f"fields/{group}/update").json() == []


def test_other_views_and_methods(concord: Concord) -> None:
    # Concord answers an unknown view with a 500 (its association route over a `fields` resource); PolyCRM 404.
    assert concord.get("fields/contacts/detail").status_code == 404
    assert concord.get("fields/contacts").status_code == 404
    response = concord.post("fields/contacts/create", {"x": 1})
    assert response.status_code == 405
    assert response.json() == {"message": "The POST method is not supported for route api/fields/contacts/create. "
                                          "Supported methods: GET, HEAD."}
    # Query strings and bodies are not read: malformed, oversized or unknown, the answer is the same.
    assert concord.http.get("/api/fields/sources/create?view=x&group[]=1&" + "q=" + "x" * 5000).content == \
           SOURCES.encode()
    assert concord.http.request("GET", "/api/fields/sources/update", content=b'{"bad": ').content == SOURCES.encode()
    assert concord.http.request("GET", "/api/fields/sources/update", json={"fields": [1] * 10000}).content == \
           SOURCES.encode()


def test_fields_need_a_token(concord: Concord) -> None:
    for view in ("create", "update"):
        response = concord.harness.client({"Accept": "application/json"}).get(f"/api/fields/contacts/{view}")
        assert response.status_code == 401
        assert response.json() == {"message": "Unauthenticated."}


def test_options_are_the_records_every_protocol_sees(concord: Concord) -> None:
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    made = espo.post("/api/v1/Source", json={"name": "Zapier partners"})
    assert made.status_code == 200, made.content
    listed = {field["attribute"]: field for field in fields(concord, "contacts", "create")}["source_id"]["options"]
    assert {"id": int(made.json()["id"]), "name": "Zapier partners"}.items() <= \
           next(option for option in listed if option["name"] == "Zapier partners").items()
    assert [option["name"] for option in listed] == sorted((option["name"] for option in listed), key=str.casefold)


def test_every_custom_field_type_has_a_component() -> None:
    from polycrm.dialects.concord.custom_types import TYPES
    from polycrm.dialects.concord.form_fields import _components

    data = _components()
    assert set(data["customTypes"]) == set(TYPES)
    assert set(data["customTypes"].values()) <= set(data["components"])
