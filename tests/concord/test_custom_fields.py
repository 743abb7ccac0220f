"""Concord custom fields (specs/concord.md §6, §9 "§6 Custom fields"): `/api/custom-fields` for super admins,
`cf_` keys on records with every type's value format, and the same real column through EspoCRM: written and
read through both, filtered (rule id = field_id) and sorted. Fields made by EspoCRM's field manager, the core
or `polycrm field add` show in Concord once they have a Concord key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

import polycrm.core.service
from polycrm.core.errors import Conflict
from tests.concord.conftest import Concord
from tests.support.cli import Cli
from tests.support.concord import group, rule

MANAGER = "/api/v1/Admin/fieldManager"


@pytest.fixture
def api(concord: Concord) -> Any:
    """An administrator's EspoCRM client (responses unchecked: each new field would cost a new document)."""
    return concord.harness.key_client(concord.harness.admin_key, validate=False)


def make(concord: Concord, field_type: str, field_id: str = "cf_probe", resource: str = "contacts",
         **extra: Any) -> dict[str, Any]:
    response = concord.post("custom-fields", {"resource_name": resource, "label": "Probe", "field_type": field_type,
                                              "field_id": field_id, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def filtered(concord: Concord, *children: Any, resource: str = "contacts") -> list[str]:
    response = concord.get(resource, filters=json.dumps(group(*children)))
    assert response.status_code == 200, response.text
    return [row["display_name"] for row in response.json()["data"]]


def options(*names: str) -> list[dict[str, Any]]:
    return [{"name": name} for name in names]


def chosen(*pairs: tuple[int, str]) -> list[dict[str, Any]]:
    """A MultiSelect / Checkbox value as Concord reads it."""
    return [{"id": option_id, "name": name, "swatch_color": None} for option_id, name in pairs]


@dataclass
class Case:
    """One type: the values two contacts get (written through Concord; `low` sorts first), as Concord and
    EspoCRM read them back, and a rule that matches only the high one."""

    field_type: str
    low: Any
    high: Any
    concord: tuple[Any, Any] | None = None  # as written, when None
    espo: tuple[Any, Any] | None = None  # as Concord reads them, when None
    match: tuple[str, Any] = ("equal", None)  # operator, value (None: the high value as written)
    options: list[str] | None = None

    def __post_init__(self) -> None:
        self.concord = self.concord or (self.low, self.high)
        self.espo = self.espo or self.concord


CASES = [
    Case("Boolean", False, True),
    Case("Checkbox", [1], ["2", 3], concord=(chosen((1, "Red")), chosen((2, "Green"), (3, "Blue")))),
    Case("ColorSwatch", "#000000", "#FFF", match=("begins_with", "#f")),
    Case("Date", "2020-11-26", "2021-01-02", match=("greater", "2020-12-01")),
    Case("DateTime", "2020-11-26 06:00:00", "2021-01-02T10:30:00Z", concord=("2020-11-26 06:00:00",
                                                                              "2021-01-02 10:30:00"),
         match=("greater_or_equal", "2021-01-02")),
    Case("Email", "ann@a.test", "bob@b.test", match=("ends_with", "b.test")),
    Case("MultiSelect", "Red", "Green, blue", concord=(chosen((1, "Red")), chosen((2, "Green"), (3, "Blue")))),
    Case("Number", -5, "42", concord=(-5, 42), match=("between", [10, 50])),
    Case("Numeric", 1.5, "1234.125", concord=(1.5, 1234.125), match=("greater", 100)),
    Case("Radio", 1, "yes", concord=(1, 2), espo=("No", "Yes"), match=("equal", 2)),
    Case("Select", "1", 3, concord=(1, 3), espo=("Bronze", "Gold"), match=("equal", 3)),
    Case("Text", "alpha", "beta", match=("contains", "ET")),
    Case("Textarea", "line one\nline two", "zebra " * 100, match=("begins_with", "zebra")),
    Case("Timezone", "America/Toronto", "Europe/Paris", match=("equal", "europe/paris")),
    Case("Url", "http://a.test", "https://b.test/x?y=1", match=("contains", "b.test")),
]
OPTIONS = {"Checkbox": ["Red", "Green", "Blue"], "MultiSelect": ["Red", "Green", "Blue"], "Radio": ["No", "Yes"],
           "Select": ["Bronze", "Silver", "Gold"]}
ESPO_OPTIONS = {"Checkbox": (["Red"], ["Green", "Blue"]), "MultiSelect": (["Red"], ["Green", "Blue"])}
MULTIPLE = {"Checkbox", "MultiSelect"}


@pytest.mark.parametrize("case", CASES, ids=[case.field_type for case in CASES])
def test_every_type_round_trips_through_concord_and_espocrm_and_filters_and_sorts(concord: Concord, api,
                                                                                  case: Case) -> None:
    extra = {"options": options(*OPTIONS[case.field_type])} if case.field_type in OPTIONS else {}
    field = make(concord, case.field_type, **extra)
    assert field["field_type"] == case.field_type and field["field_id"] == "cf_probe"
    assert concord.get(f"custom-fields/{field['id']}").json() == dict(field, was_recently_created=False)

    low = concord.create("contacts", {"first_name": "Low", "cf_probe": case.low})
    high = concord.create("contacts", {"first_name": "High"})
    updated = concord.put(f"contacts/{high['id']}", {"cf_probe": case.high})
    assert updated.status_code == 200, updated.text
    assert (low["cf_probe"], updated.json()["cf_probe"]) == case.concord
    shown = concord.get(f"contacts/{high['id']}").json()
    assert shown["cf_probe"] == case.concord[1]
    rows = {row["id"]: row["cf_probe"] for row in concord.get("contacts").json()["data"]}
    assert (rows[low["id"]], rows[high["id"]]) == case.concord  # index rows too

    # The same column through EspoCRM: its own value, and what it writes Concord reads.
    espo = [api.get(f"/api/v1/Contact/{record['id']}").json()["cProbe"] for record in (low, high)]
    assert tuple(espo) == ESPO_OPTIONS.get(case.field_type, case.espo)
    rewritten = api.put(f"/api/v1/Contact/{low['id']}", json={"cProbe": espo[1]})
    assert rewritten.status_code == 200, rewritten.text
    assert concord.get(f"contacts/{low['id']}").json()["cf_probe"] == case.concord[1]
    api.put(f"/api/v1/Contact/{low['id']}", json={"cProbe": espo[0]})

    operator, value = case.match
    value = case.high if value is None else value
    if case.field_type in MULTIPLE:
        operator, value = "in", [2]
    assert filtered(concord, rule("cf_probe", operator, value)) == ["High"]
    if case.field_type in MULTIPLE:
        assert concord.get("contacts", order="cf_probe|desc").status_code == 422  # a list has no order
    else:
        ordered = concord.get("contacts", order="cf_probe|desc").json()["data"]
        assert [row["first_name"] for row in ordered] == ["High", "Low"]
        ordered = concord.get("contacts", order="cf_probe").json()["data"]
        assert [row["first_name"] for row in ordered] == ["Low", "High"]

    emptied = concord.put(f"contacts/{high['id']}", {"cf_probe": None}).json()["cf_probe"]
    assert emptied == ({"Boolean": False}.get(case.field_type) if case.field_type not in MULTIPLE else [])


def test_custom_field_json_and_options(concord: Concord) -> None:
    field = make(concord, "Select", "cf_tier", "companies", label="Tier", options=[
        {"name": "Gold", "display_order": 2, "swatch_color": "#ffcc00"}, {"name": "Silver", "display_order": 1},
        {"name": ""}])
    assert list(field) == ["id", "field_type", "resource_name", "field_id", "label", "options", "is_unique",
                           "was_recently_created"]
    assert field["was_recently_created"] is True and field["is_unique"] is False
    assert field["options"] == [  # in display order, numbered in that order; a nameless option is left out
        {"id": 1, "custom_field_id": field["id"], "name": "Silver", "swatch_color": None, "display_order": 1},
        {"id": 2, "custom_field_id": field["id"], "name": "Gold", "swatch_color": "#ffcc00", "display_order": 2}]
    text = make(concord, "Text", "cf_code", "companies")
    assert "options" not in text and text["id"] > field["id"]
    listing = concord.get("custom-fields").json()
    assert [row["field_id"] for row in listing["data"]] == ["cf_code", "cf_tier"]  # the newest first
    assert listing["meta"]["total"] == 2 and listing["meta"]["per_page"] == 15
    assert concord.get("custom-fields", per_page="1", page="2").json()["data"][0]["field_id"] == "cf_tier"
    rules = {r["id"]: r for r in concord.get("companies/rules").json()}
    assert rules["cf_tier"]["type"] == "select" and rules["cf_tier"]["label"] == "Tier"
    assert rules["cf_tier"]["options"] == [{"id": 1, "name": "Silver", "swatch_color": None},
                                           {"id": 2, "name": "Gold", "swatch_color": "#ffcc00"}]
    assert concord.get("custom-fields/999").status_code == 404
    assert concord.get("custom-fields/abc").status_code == 404


def test_label_and_options_change_and_ids_stay(concord: Concord, api) -> None:
    field = make(concord, "Select", "cf_tier", options=options("Bronze", "Silver", "Gold"))
    gold = concord.create("contacts", {"first_name": "Gilda", "cf_tier": 3})
    changed = concord.put(f"custom-fields/{field['id']}", {
        "label": "Level", "field_type": "Text", "field_id": "cf_other",  # ignored, as Concord ignores them
        "options": [{"id": 3, "name": "Gold", "swatch_color": "#ffcc00"}, {"name": "Platinum"},
                    {"id": 1, "name": "Bronze"}]})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["label"] == "Level" and body["field_type"] == "Select" and body["field_id"] == "cf_tier"
    assert [(o["id"], o["name"], o["swatch_color"], o["display_order"]) for o in body["options"]] == [
        (3, "Gold", "#ffcc00", 1), (4, "Platinum", None, 2), (1, "Bronze", None, 3)]  # Silver's 2 is not reused
    assert concord.get(f"contacts/{gold['id']}").json()["cf_tier"] == 3
    assert concord.create("contacts", {"first_name": "Pat", "cf_tier": 4})["cf_tier"] == 4
    assert concord.post("contacts", {"first_name": "Sil", "cf_tier": 2}).status_code == 422  # removed
    assert api.get(f"{MANAGER}/Contact/cTier").json()["options"] == ["Gold", "Platinum", "Bronze"]
    assert api.get(f"{MANAGER}/Contact/cTier").json()["label"] == "Level"

    relabelled = concord.put(f"custom-fields/{field['id']}", {"label": "Tier"})  # options kept when not sent
    assert relabelled.json()["label"] == "Tier" and len(relabelled.json()["options"]) == 3
    emptied = concord.put(f"custom-fields/{field['id']}", {"label": "Tier", "options": []})
    assert emptied.json()["errors"] == {"options": ["Add options for this field."]}
    renamed = concord.put(f"custom-fields/{field['id']}", {"label": "Level", "options": [{"id": 3, "name": "Golden"}]})
    assert renamed.status_code == 422 and "options.0.name" in renamed.json()["errors"]
    unknown = concord.put(f"custom-fields/{field['id']}", {"label": "Level", "options": [{"id": 99, "name": "X"}]})
    assert unknown.json()["errors"] == {"options.0.id": ["The selected options.0.id is invalid."]}
    text = make(concord, "Text", "cf_code")
    relabelled = concord.put(f"custom-fields/{text['id']}", {"label": "Code", "is_unique": False})
    assert relabelled.status_code == 200 and relabelled.json()["label"] == "Code"
    assert concord.put(f"custom-fields/{text['id']}", {"label": "Code", "options": options("a")}).json()[
        "errors"] == {"options": ["This field does not support options."]}
    assert concord.put(f"custom-fields/{text['id']}", {}).json()["errors"] == {"label": ["The label field is "
                                                                                          "required."]}


def test_delete_drops_the_column_and_the_key(concord: Concord, api, store) -> None:
    field = make(concord, "Number", "cf_score")
    contact = concord.create("contacts", {"first_name": "Ann", "cf_score": 7})
    deleted = concord.delete(f"custom-fields/{field['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert "cf_score" not in concord.get(f"contacts/{contact['id']}").json()
    assert "cScore" not in api.get(f"/api/v1/Contact/{contact['id']}").json()
    assert concord.get(f"custom-fields/{field['id']}").status_code == 404
    assert concord.delete(f"custom-fields/{field['id']}").status_code == 404
    assert concord.get("custom-fields").json()["data"] == []
    unknown = concord.post("contacts", {"first_name": "Bo", "cf_score": 1})
    assert unknown.status_code == 201 and "cf_score" in unknown.headers["x-polycrm-warning"]
    assert concord.get("contacts", filters=json.dumps(group(rule("cf_score", "equal", 1)))).status_code == 422


def test_fields_made_elsewhere_show_in_concord(concord: Concord, api, store, tmp_path, monkeypatch) -> None:
    core = concord.harness.app.state.core
    # The core, then a Concord key: a varchar is a Text field, an enum a Select whose options are numbered.
    core.add_field("Contact", "cNickname", "varchar", {"label": "Nickname"})
    core.set_api_name("Contact", "cNickname", "concord", "cf_nickname")
    core.add_field("Account", "cRating", "enum", {"options": ["Hot", "Cold"]}, {"concord": "cf_rating"})
    # EspoCRM's field manager with the field's Concord key.
    added = api.post(f"{MANAGER}/Contact", json={"name": "since", "type": "date", "concordApiName": "cf_since"})
    assert added.status_code == 200, added.text
    assert api.get(f"{MANAGER}/Contact/cSince").json()["concordApiName"] == "cf_since"
    # `polycrm field add` in another process.
    monkeypatch.setattr(polycrm.core.service, "SCHEMA_CHECK_INTERVAL", 0)
    result = Cli(store, tmp_path)("field", "add", "Contact", "colours", "--type", "multiEnum", "--options",
                                  "Red,Blue", "--concord-name", "cf_colours")
    assert result.exit_code == 0, result.output

    listing = {row["field_id"]: row for row in concord.get("custom-fields").json()["data"]}
    assert {key: (row["resource_name"], row["field_type"], row["label"]) for key, row in listing.items()} == {
        "cf_nickname": ("contacts", "Text", "Nickname"), "cf_rating": ("companies", "Select", "cf_rating"),
        "cf_since": ("contacts", "Date", "cf_since"), "cf_colours": ("contacts", "MultiSelect", "cf_colours")}
    assert [(o["id"], o["name"]) for o in listing["cf_rating"]["options"]] == [(1, "Hot"), (2, "Cold")]

    contact = concord.create("contacts", {"first_name": "Ann", "cf_nickname": "Annie", "cf_since": "2024-02-29",
                                          "cf_colours": [2]})
    assert (contact["cf_nickname"], contact["cf_since"], contact["cf_colours"]) == (
        "Annie", "2024-02-29", chosen((2, "Blue")))
    espo = api.get(f"/api/v1/Contact/{contact['id']}").json()
    assert (espo["cNickname"], espo["cSince"], espo["cColours"]) == ("Annie", "2024-02-29", ["Blue"])
    company = concord.create("companies", {"name": "Acme", "cf_rating": "cold"})
    assert company["cf_rating"] == 2
    assert filtered(concord, rule("cf_rating", "equal", 2), resource="companies") == ["Acme"]
    assert filtered(concord, rule("cf_colours", "not_in", [1])) == ["Ann"]
    assert filtered(concord, rule("cf_colours", "not_in", [2])) == []
    # A field without a Concord key is not Concord's; nor may a key be one of the resource's own.
    core.add_field("Contact", "cHidden", "varchar")
    for taken in ("first_name", "companies", "display_name", "cf_NICKNAME"):
        with pytest.raises(Conflict):
            core.set_api_name("Contact", "cHidden", "concord", taken)
    assert "cf_hidden" not in concord.get(f"contacts/{contact['id']}").json()
    assert len(concord.get("custom-fields").json()["data"]) == 4
    # Removing the field in EspoCRM removes it from Concord.
    api.delete(f"{MANAGER}/Contact/cNickname")
    assert "cf_nickname" not in concord.get(f"contacts/{contact['id']}").json()


def test_only_super_admins(concord: Concord) -> None:
    field = make(concord, "Text", "cf_code")
    user = concord.as_user("clerk", {"Contact": True})
    for method, path, body in (("GET", "custom-fields", None), ("POST", "custom-fields", {}),
                               ("GET", f"custom-fields/{field['id']}", None),
                               ("PUT", f"custom-fields/{field['id']}", {"label": "x"}),
                               ("DELETE", f"custom-fields/{field['id']}", None), ("GET", "custom-fields/999", None)):
        response = user.http.request(method, f"/api/{path}", json=body)
        assert response.status_code == 403, (method, path)
        assert response.content == b'{"message":"Your account is not authorized to perform this action."}'
    # Records with the field are the user's as usual.
    assert user.create("contacts", {"first_name": "Ann", "cf_code": "A1"})["cf_code"] == "A1"
    assert concord.get(f"custom-fields/{field['id']}").json()["label"] == "Probe"


GOOD = {"resource_name": "contacts", "label": "Probe", "field_type": "Text", "field_id": "cf_probe"}
BAD_FIELDS = [
    ({}, {"resource_name": ["The resource name field is required."], "label": ["The label field is required."],
          "field_type": ["The field type field is required."], "field_id": ["The field id field is required."]}),
    ({"resource_name": "users"}, {"resource_name": ["The selected resource name is invalid."]}),
    ({"resource_name": 5}, {"resource_name": ["The resource name field must be a string."]}),
    ({"label": "x" * 192}, {"label": ["The label field must not be greater than 191 characters."]}),
    ({"label": ["x"]}, {"label": ["The label field must be a string."]}),
    ({"field_type": "Currency"}, {"field_type": ["Field type is not supported"]}),
    ({"field_id": "cf_field1"}, {"field_id": ["Only lowercase alpha characters (a-z) and underscore (_) are "
                                              "accepted."]}),
    ({"field_id": "cf_Field"}, {"field_id": ["Only lowercase alpha characters (a-z) and underscore (_) are "
                                             "accepted."]}),
    ({"field_id": "vip_level"}, {"field_id": ["The field id field must start with one of the following: cf_."]}),
    ({"field_id": "cf_ab"}, {"field_id": ["The field id field must be at least 6 characters."]}),
    ({"field_id": "cf_" + "a" * 62}, {"field_id": ["The field id field must not be greater than 64 characters."]}),
    ({"field_id": 12345678}, {"field_id": ["Only lowercase alpha characters (a-z) and underscore (_) are "
                                           "accepted."]}),
    ({"field_id": "cf_" + "a" * 40}, {"field_id": ["The field id must have from 1 to 39 letters after cf_: PolyCRM "
                                                   "names the field and its column after them."]}),
    ({"field_id": "cf____"}, {"field_id": ["The field id must have from 1 to 39 letters after cf_: PolyCRM names "
                                           "the field and its column after them."]}),
    ({"options": options("a")}, {"options": ["This field does not support options."]}),
    ({"field_type": "Select"}, {"options": ["Add options for this field."]}),
    ({"field_type": "Select", "options": [{"name": ""}]}, {"options": ["Add options for this field."]}),
    ({"field_type": "Select", "options": "a,b"}, {"options": ["The options field must be an array."]}),
    ({"field_type": "Select", "options": options("a,b")}, {"options": ["Comas are not allowed in option names."]}),
    ({"field_type": "MultiSelect", "options": options("a", "a")}, {"options": ["All field options must be unique."]}),
    ({"field_type": "Radio", "options": [{"name": "a", "swatch_color": "red"}]},
     {"options.0.swatch_color": ["The options.0.swatch_color field must be a valid hexadecimal color."]}),
    ({"field_type": "Radio", "options": ["a"]}, {"options.0": ["The options.0 field must be an array."],
                                                 "options": ["Add options for this field."]}),
    ({"field_type": "Select", "options": [{"name": "a", "display_order": "first"}]},
     {"options.0.display_order": ["The options.0.display_order field must be an integer."]}),
    ({"is_unique": "maybe"}, {"is_unique": ["The is unique field must be true or false."]}),
    ({"field_type": "Date", "is_unique": True}, {"is_unique": ["The is unique field is prohibited."]}),
    ({"is_unique": True}, {"is_unique": ["PolyCRM does not keep custom field values unique: the field cannot be "
                                         "marked unique."]}),
]


@pytest.mark.parametrize("change, errors", BAD_FIELDS)
def test_validation_errors_are_laravels_422(concord: Concord, change: dict[str, Any],
                                            errors: dict[str, list[str]]) -> None:
    body = {} if not change else {**GOOD, **change}
    response = concord.post("custom-fields", body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == errors
    first = next(iter(errors.values()))[0]
    assert response.json()["message"].startswith(first)
    assert response.content.startswith(b'{"message":')  # compact, as Laravel's validation answers
    assert concord.get("custom-fields").json()["data"] == []


def test_a_field_id_is_unique_per_resource(concord: Concord) -> None:
    make(concord, "Text", "cf_code")
    again = concord.post("custom-fields", dict(GOOD, field_id="cf_code", field_type="Number"))
    assert again.json()["errors"] == {"field_id": ["It looks like field with this ID already exists for the "
                                                   "resource."]}
    assert make(concord, "Text", "cf_code", "companies")["resource_name"] == "companies"
    # Two ids PolyCRM would give one field name (letter case aside): the second one is refused, saying why.
    clash = concord.post("custom-fields", dict(GOOD, field_id="cf_co_de"))
    assert clash.status_code == 422 and "collides" in clash.json()["errors"]["field_id"][0]


BAD_VALUES = [
    ("Boolean", "yes", "The Probe field must be true or false."),
    ("Number", 1.5, "The Probe field must be an integer."),
    ("Number", "12a", "The Probe field must be an integer."),
    ("Numeric", "abc", "The Probe field must be a number."),
    ("Numeric", 1.2345, "The Probe field must have 0-3 decimal places."),
    ("Numeric", 1e13, "The Probe field must be between -999999999999.999 and 999999999999.999."),
    ("Numeric", True, "The Probe field must be a number."),
    ("Date", "2020-02-30", "The Probe field must be a valid date."),
    ("Date", 20200101, "The Probe field must be a valid date."),
    ("DateTime", "2020-01-01 25:00:00", "The Probe field must be a valid date."),
    ("ColorSwatch", "red", "The Probe field must be a valid hexadecimal color."),
    ("ColorSwatch", "#12345", "The Probe field must be a valid hexadecimal color."),
    ("Timezone", "Mars/Olympus", "The Probe field must be a valid timezone."),
    ("Url", "not a url", "The Probe field must be a valid URL."),
    ("Email", "nobody", "The Probe field must be a valid email address."),
    ("Text", "x" * 192, "The Probe field must not be greater than 191 characters."),
    ("Text", ["x"], "The Probe field must be a string."),
    ("Textarea", {"a": 1}, "The Probe field must be a string."),
    ("Select", 9, "The selected Probe is invalid."),
    ("Select", "Platinum", "The selected Probe is invalid."),
    ("Radio", [1], "The selected Probe is invalid."),
    ("MultiSelect", [1, 9, "Iron"], 'The provided options "9, Iron" are invalid.'),
    ("Checkbox", [7], 'The provided option "7" is invalid.'),
    ("Checkbox", True, "The Probe field must be an array."),
]


def test_bad_values_are_422_with_the_key(concord: Concord, subtests) -> None:
    """One field per type (adding columns is what costs), each bad value refused on create and update."""
    keys = {}
    for field_type in dict.fromkeys(field_type for field_type, _, _ in BAD_VALUES):
        extra = {"options": options("Bronze", "Silver", "Gold")} if field_type in OPTIONS else {}
        keys[field_type] = make(concord, field_type, f"cf_{field_type.lower()}", **extra)["field_id"]
    existing = concord.create("contacts", {"first_name": "Bo"})
    for field_type, value, message in BAD_VALUES:
        with subtests.test(field_type=field_type, value=value):
            key = keys[field_type]
            response = concord.post("contacts", {"first_name": "Ann", key: value})
            assert response.status_code == 422, response.text
            assert response.json()["errors"] == {key: [message]}
            assert concord.put(f"contacts/{existing['id']}", {key: value}).json()["errors"] == {key: [message]}
    assert concord.get("contacts").json()["meta"]["total"] == 1


def test_bad_filter_values_name_the_rule(concord: Concord) -> None:
    make(concord, "Select", options=options("Bronze", "Gold"))
    response = concord.get("contacts", filters=json.dumps(group(rule("cf_probe", "equal", 9))))
    assert response.status_code == 422
    assert response.json()["errors"] == {"filters.children.0.query.value": ['The value of "cf_probe" must be one '
                                                                           'of: 1, 2.']}
    radio = concord.get("contacts", filters=json.dumps(group(rule("cf_probe", "contains", "x"))))
    assert radio.status_code == 422
