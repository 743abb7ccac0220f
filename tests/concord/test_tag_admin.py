"""Concord's tag administration (`POST /api/tags/{type?}`, `PUT/DELETE /api/tags/{id}`, `POST /api/tags/order`,
super admins only) as a running Concord CRM 1.4.1 answers it: TagResource objects, TagRequest's messages, the
super-admin 403 after the tag's 404; over the Tag records `/api/v1/Tag` shows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.concord.conftest import JSON_HEADERS, Concord

TAG_KEYS = ["id", "name", "swatch_color", "display_order", "type"]  # Concord's TagResource, in its order
ADMIN_ONLY = {"message": "Your account is not authorized to perform this action."}
MODEL = "Modules\\Core\\Models\\Tag"


def espo(concord: Concord) -> Any:
    return concord.harness.key_client(concord.harness.admin_key, validate=False)


def make(concord: Concord, name: str, tag_type: str = "contacts", color: str = "#333333") -> dict[str, Any]:
    response = concord.post(f"tags/{tag_type}", {"name": name, "swatch_color": color})
    assert response.status_code == 201, response.content
    return response.json()


def test_an_admin_makes_a_tag_and_a_second_make_gives_it_its_colour(concord: Concord):
    made = concord.post("tags/contacts", {"name": "  ZZ Peer Tag  ", "swatch_color": "#333333"})
    assert made.status_code == 201, made.content
    shown = made.json()
    assert list(shown) == TAG_KEYS  # as Concord 1.4.1 answered: trimmed, display order 1000
    assert {**shown, "id": 0} == {"id": 0, "name": "ZZ Peer Tag", "swatch_color": "#333333", "display_order": 1000,
                                  "type": "contacts"}
    again = concord.post("tags/contacts", {"name": "zz peer tag", "swatch_color": "#444444"})
    assert again.status_code == 200  # Tag::findOrCreate found it (MySQL compares names ignoring case)
    assert again.json() == {**shown, "swatch_color": "#444444"}
    # another type is another tag; a type Concord does not use is taken as it is, as Concord's route takes it
    deals = make(concord, "ZZ Peer Tag", "deals")
    assert deals["id"] != shown["id"] and deals["type"] == "deals"
    assert make(concord, "ZZ Weird", "whatever")["type"] == "whatever"
    untyped = concord.post("tags", {"name": "No type", "swatch_color": "#abc"})
    assert untyped.status_code == 201 and untyped.json()["type"] is None  # 1.4.1: 500
    # the tag is the one records take by name and `/api/v1/Tag` shows
    contact = concord.create("contacts", {"first_name": "Ann", "tags": ["ZZ PEER TAG"]})
    assert contact["tags"] == [{**shown, "swatch_color": "#444444"}]
    tag = espo(concord).get(f"/api/v1/Tag/{shown['id']}").json()
    assert (tag["name"], tag["type"], tag["swatchColor"], tag["displayOrder"]) == (
        "ZZ Peer Tag", "contacts", "#444444", 1000)


def test_an_admin_changes_a_tag(concord: Concord):
    tag, other = make(concord, "ZZ Renamed Later"), make(concord, "ZZ Trim")
    path = f"tags/{tag['id']}"
    changed = concord.put(path, {"name": "ZZ Renamed", "swatch_color": "#111111", "display_order": 7})
    assert changed.status_code == 200, changed.content
    assert changed.json() == {**tag, "name": "ZZ Renamed", "swatch_color": "#111111", "display_order": 7}
    # the path id is read as MySQL casts it; a digit string is an order (1.4.1 echoes it as the string "12")
    assert concord.put(f"tags/{tag['id']}abc", {"name": "ZZ Renamed", "swatch_color": "#111111",
                                                "display_order": "12"}).json()["display_order"] == 12
    # without an order, or with null (1.4.1: 500), the order stays; the name may change case
    kept = concord.put(path, {"name": "zz renamed", "swatch_color": "#222", "display_order": None}).json()
    assert (kept["name"], kept["swatch_color"], kept["display_order"]) == ("zz renamed", "#222", 12)
    # a name is unique within its type, ignoring case; the seeded Customer tag too
    for taken in ("ZZ Trim", "zz trim", "Customer"):
        refused = concord.put(path, {"name": taken, "swatch_color": "#111111"})
        assert refused.status_code == 422
        assert refused.json() == {"message": "The name has already been taken.",
                                  "errors": {"name": ["The name has already been taken."]}}
    assert concord.put(f"tags/{make(concord, 'ZZ Trim', 'deals')['id']}",
                       {"name": "ZZ Trim", "swatch_color": "#000"}).status_code == 200  # another type's name
    espo_tag = espo(concord).get(f"/api/v1/Tag/{tag['id']}").json()
    assert (espo_tag["name"], espo_tag["swatchColor"], espo_tag["displayOrder"]) == ("zz renamed", "#222", 12)
    assert other["id"] != tag["id"]


def test_the_display_order_route_orders_the_tags_records_show(concord: Concord):
    first, second = make(concord, "First"), make(concord, "Second")
    contact = concord.create("contacts", {"first_name": "Ann", "tags": ["First", "Second"]})
    assert [t["name"] for t in contact["tags"]] == ["First", "Second"]
    done = concord.post("tags/order", [{"id": first["id"], "display_order": 9},
                                       {"id": str(second["id"]), "display_order": "8"}])
    assert done.status_code == 204 and done.content == b""
    shown = concord.get(f"contacts/{contact['id']}").json()["tags"]
    assert [(t["name"], t["display_order"]) for t in shown] == [("Second", 8), ("First", 9)]
    # an object's values are the items, as PHP reads it; an empty body or `{}` changes nothing
    assert concord.post("tags/order", {"a": {"id": first["id"], "display_order": 2}}).status_code == 204
    assert concord.http.post("/api/tags/order").status_code == 204
    assert concord.post("tags/order", []).status_code == 204
    assert espo(concord).get(f"/api/v1/Tag/{first['id']}").json()["displayOrder"] == 2


def test_deleting_a_tag_detaches_it_from_its_records(concord: Concord):
    tag = make(concord, "Doomed")
    contact = concord.create("contacts", {"first_name": "Ann", "tags": ["Doomed", "Customer"]})
    company = concord.create("companies", {"name": "Acme", "tags": ["Doomed"]})
    client = espo(concord)
    assert client.get(f"/api/v1/Contact/{contact['id']}").json()["tagsIds"] in (
        [1, tag["id"]], ["1", str(tag["id"])], [tag["id"], 1], [str(tag["id"]), "1"])
    deleted = concord.delete(f"tags/{tag['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert [t["name"] for t in concord.get(f"contacts/{contact['id']}").json()["tags"]] == ["Customer"]
    assert concord.get(f"companies/{company['id']}").json()["tags"] == []
    assert client.get(f"/api/v1/Tag/{tag['id']}").status_code == 404
    assert client.get(f"/api/v1/Contact/{contact['id']}").json()["tagsIds"] in ([1], ["1"])
    assert client.get(f"/api/v1/Tag/{tag['id']}/contacts").status_code in (404, 403)
    # the name is free again: a record naming it makes a new tag
    again = concord.create("contacts", {"first_name": "Bob", "tags": ["Doomed"]})
    assert again["tags"][0]["id"] != tag["id"]
    missing = concord.delete(f"tags/{tag['id']}")
    assert missing.status_code == 404
    assert missing.json() == {"message": f"No query results for model [{MODEL}] {tag['id']}"}


def test_a_tag_made_through_espocrm_is_changed_and_deleted_through_concord(concord: Concord):
    client = espo(concord)
    made = client.post("/api/v1/Tag", json={"name": "From Espo", "type": "deals"}).json()
    changed = concord.put(f"tags/{made['id']}", {"name": "Espo Renamed", "swatch_color": "#ABCDEF"}).json()
    assert changed == {"id": int(made["id"]), "name": "Espo Renamed", "swatch_color": "#ABCDEF",
                       "display_order": made["displayOrder"], "type": "deals"}
    assert client.get(f"/api/v1/Tag/{made['id']}").json()["name"] == "Espo Renamed"
    assert concord.delete(f"tags/{made['id']}").status_code == 204
    assert client.get(f"/api/v1/Tag/{made['id']}").status_code == 404


@pytest.mark.parametrize("body, errors", [
    ({}, {"name": ["The name field is required."], "swatch_color": ["The swatch color field is required."]}),
    ({"name": "  ", "swatch_color": ""}, {"name": ["The name field is required."],
                                         "swatch_color": ["The swatch color field is required."]}),
    ({"name": 5, "swatch_color": "red"}, {"name": ["The name field must be a string."],
                                          "swatch_color": ["The swatch color field must be a valid hexadecimal color."]}),
    ({"name": "a,b", "swatch_color": "#12345"}, {"name": ["Comas are not allowed in tag names."],
                                                 "swatch_color": ["The swatch color field must be a valid hexadecimal color."]}),
    ({"name": "x" * 192, "swatch_color": "#333"}, {"name": ["The name field must not be greater than 191 characters."]}),
    ({"name": ["x"], "swatch_color": "#abc"}, {"name": ["The name field must be a string."]}),  # 1.4.1: 500
    ({"name": "Eight", "swatch_color": "#aabbccdd"},  # 1.4.1: 500 (a 7-character column), after making the tag
     {"swatch_color": ["The swatch color field must not be greater than 7 characters."]}),
    ({"name": "x", "swatch_color": {"a": 1}}, {"swatch_color": ["The swatch color field must be a valid hexadecimal color."]}),
])
def test_a_bad_tag_is_concords_422_and_nothing_is_made(concord: Concord, body: Any, errors: dict[str, Any]):
    response = concord.post("tags/contacts", body)
    assert response.status_code == 422, response.content
    assert response.json()["errors"] == errors
    messages = [m for items in errors.values() for m in items]
    assert response.json()["message"] == messages[0] + (" (and 1 more error)" if len(messages) == 2 else "")
    assert espo(concord).get("/api/v1/Tag").json()["total"] == 4  # Concord's seeded contacts tags only


def test_bad_bodies_and_changes(concord: Concord):
    tag = make(concord, "Kept")
    path = f"tags/{tag['id']}"
    for body in ([1], "text", 5):
        refused = concord.post("tags/contacts", body)
        assert refused.status_code == 422 and refused.json()["errors"] == {
            "body": ["The request body must be a JSON object."]}
    assert concord.put(path, {"name": "Kept"}).json()["errors"] == {
        "swatch_color": ["The swatch color field is required."]}  # required on PUT too, as TagRequest
    for order, message in (("abc", "must be an integer."), (-3, "must be at least 0."), (1.5, "must be an integer."),
                           (2 ** 31, "must not be greater than 2147483647.")):
        refused = concord.put(path, {"name": "Kept", "swatch_color": "#333333", "display_order": order})
        assert refused.status_code == 422  # 1.4.1: 500
        assert refused.json()["errors"] == {"display_order": [f"The display order field {message}"]}
    malformed = concord.http.put(f"/api/{path}", content=b'{"name": ', headers=JSON_HEADERS)
    assert malformed.status_code == 422 and "body" in malformed.json()["errors"]
    oversized = b'{"name": "' + b"a" * (11 * 1024 * 1024) + b'", "swatch_color": "#333"}'
    assert concord.http.post("/api/tags/contacts", content=oversized, headers=JSON_HEADERS).status_code == 413
    for bad_type in ("t" * 192, "a%00b"):
        refused = concord.http.post(f"/api/tags/{bad_type}", json={"name": "Long", "swatch_color": "#333"})
        assert refused.status_code == 422 and list(refused.json()["errors"]) == ["type"], refused.content
    assert espo(concord).get(f"/api/v1/Tag/{tag['id']}").json()["name"] == "Kept"
    # unknown keys are left alone and named; the keys of a TagResource sent back are not
    echoed = concord.put(path, {**tag, "swatch_color": "#444444", "bogus": 1})
    assert echoed.status_code == 200 and echoed.headers["X-PolyCRM-Warning"].endswith("bogus")
    assert "X-PolyCRM-Warning" not in concord.put(path, {**tag, "swatch_color": "#444444"}).headers


@pytest.mark.parametrize("body, errors", [
    ([{"id": None, "display_order": None}], {"0.id": ["The 0.id field is required."],
                                            "0.display_order": ["The 0.display_order field is required."]}),
    ([{"id": "x", "display_order": 1.5}], {"0.id": ["The 0.id field must be an integer."],
                                          "0.display_order": ["The 0.display_order field must be an integer."]}),
    ([5], {"0.id": ["The 0.id field is required."], "0.display_order": ["The 0.display_order field is required."]}),
    ([{"id": "first", "display_order": 1}, {"id": 99999, "display_order": 2}],
     {"1.id": ["The selected 1.id is invalid."]}),  # 1.4.1: 500, after changing the tags before it
    ([{"id": "first", "display_order": -1}], {"0.display_order": ["The 0.display_order field must be at least 0."]}),
])
def test_a_bad_order_is_a_422_and_nothing_changes(concord: Concord, body: list[Any], errors: dict[str, Any]):
    first = make(concord, "First")
    body = [{**item, "id": first["id"]} if isinstance(item, dict) and item.get("id") == "first" else item
            for item in body]
    response = concord.post("tags/order", body)
    assert response.status_code == 422, response.content
    assert response.json()["errors"] == errors
    assert espo(concord).get(f"/api/v1/Tag/{first['id']}").json()["displayOrder"] == 1000


def test_an_order_body_that_is_no_list(concord: Concord):
    for body in ("text", 5):
        assert concord.post("tags/order", body).json()["errors"] == {"body": ["The request body must be a JSON array."]}
    too_many = concord.post("tags/order", [{"id": 1, "display_order": 1}] * 1001)
    assert too_many.status_code == 422 and "body" in too_many.json()["errors"]


def test_only_super_admins_manage_tags_and_a_missing_tag_is_404_first(concord: Concord):
    tag = make(concord, "Guarded")
    pat = concord.as_user("pat", {"Tag": {"read": "all", "create": "yes", "edit": "all", "delete": "all"}})
    for response in (pat.post("tags/contacts", {"name": "x", "swatch_color": "#abc"}),
                     pat.post("tags", {"name": "x", "swatch_color": "#abc"}),
                     pat.post("tags/order", []),
                     pat.put(f"tags/{tag['id']}", {}),
                     pat.delete(f"tags/{tag['id']}")):
        assert response.status_code == 403, response.content
        assert response.json() == ADMIN_ONLY
    for response in (pat.put("tags/99999", {}), pat.delete("tags/99999")):
        assert response.status_code == 404  # Laravel binds the tag before the super-admin middleware
        assert response.json() == {"message": f"No query results for model [{MODEL}] 99999"}
    assert espo(concord).get(f"/api/v1/Tag/{tag['id']}").json()["name"] == "Guarded"


def test_unauthenticated_calls_and_unserved_methods(concord: Concord):
    anonymous = concord.harness.client(JSON_HEADERS, validate=False)
    for method, path in (("POST", "tags/contacts"), ("POST", "tags"), ("POST", "tags/order"), ("PUT", "tags/1"),
                         ("DELETE", "tags/1")):
        response = anonymous.request(method, f"/api/{path}", json={})
        assert response.status_code == 401 and response.json() == {"message": "Unauthenticated."}
    # Concord lists no tags: GET is the generic resource route, which knows no `tags` resource
    for path in ("tags", "tags/1"):
        missing = concord.get(path)
        assert missing.status_code == 404 and missing.json() == {"message": ""}
    patch = concord.http.patch("/api/tags/1", json={})
    assert patch.status_code == 405 and "PUT" in patch.headers["Allow"]
