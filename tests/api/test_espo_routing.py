"""Which EspoCRM paths exist: a path naming no resource (an unknown entity type, link or action, or a shape no
route has) is a 404 whatever the method, saying which name does not exist; a resource asked with a method it
does not take is a 405 whose Allow names the methods it does take (specs/espocrm.md §0, route table)."""

from __future__ import annotations

import pytest

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

NOT_FOUND = [
    # A generic 4-segment route (DELETE {entity}/{id}/{link}/{relatedId}) once took this and answered 405.
    ("/api/v1/Activities/Account/1/activities", "Controller 'Activities' does not exist."),
    ("/api/v1/Nope", "Controller 'Nope' does not exist."),
    ("/api/v1/Nope/1", "Controller 'Nope' does not exist."),
    ("/api/v1/Nope/1/contacts", "Controller 'Nope' does not exist."),
    ("/api/v1/Nope/1/stream", "Controller 'Nope' does not exist."),
    ("/api/v1/Nope/action/massUpdate", "Controller 'Nope' does not exist."),
    ("/api/v1/account/1", "Controller 'account' does not exist."),
    ("/api/v1/Account/1/nope", "Link does not exist."),
    ("/api/v1/Account/1/nope/2", "Link does not exist."),
    ("/api/v1/Task/1/parent", "Link does not exist."),  # a link-parent field has no relationship list
    ("/api/v1/Account/action/nope", "Action 'nope' does not exist."),
    ("/api/v1/Account/action/convert", "Action 'convert' does not exist."),  # Lead only
    ("/api/v1/Account/1/contacts/2/more", None),
    ("/api/v1/App/nope/more", "Controller 'App' does not exist."),
]


@pytest.mark.parametrize(("path", "reason"), NOT_FOUND)
def test_a_path_naming_no_resource_is_404_whatever_the_method(api, path, reason):
    for method in ALL_METHODS:
        response = api.request(method, path, json={} if method in ("POST", "PUT", "PATCH") else None)
        assert (response.status_code, response.content) == (404, b""), (method, path)
        assert response.headers.get("x-status-reason") == reason, (method, path)
        assert "allow" not in response.headers


ANY_GET = {"GET", "HEAD"}


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("GET", "/api/v1/Account/1/contacts/2", {"DELETE"}),
    ("PATCH", "/api/v1/Account", ANY_GET | {"POST"}),
    ("DELETE", "/api/v1/Account", ANY_GET | {"POST"}),
    ("POST", "/api/v1/Account/1", ANY_GET | {"PUT", "PATCH", "DELETE"}),
    ("PATCH", "/api/v1/Account/1/contacts", ANY_GET | {"POST", "DELETE"}),
    ("GET", "/api/v1/Account/action/massUpdate", {"POST", "PUT"}),
    ("PATCH", "/api/v1/Account/action/massDelete", {"POST", "DELETE"}),
    ("GET", "/api/v1/Account/action/massCreate", {"POST"}),
    ("DELETE", "/api/v1/Account/action/massCreate", {"POST"}),
    ("PUT", "/api/v1/Lead/action/convert", {"POST"}),
    ("GET", "/api/v1/Lead/action/getConvertAttributes", {"POST"}),
    ("GET", "/api/v1/Lead/1/convert", {"POST"}),
    ("GET", "/api/v1/Lead/1/action/convert", {"POST"}),
    ("POST", "/api/v1/Metadata", ANY_GET),
    ("PUT", "/api/v1/Account/1/stream", ANY_GET),
    ("POST", "/api/v1/Account/1/posts", ANY_GET),
    ("POST", "/api/v1/Account/1/subscription", {"PUT", "DELETE"}),
    ("PUT", "/api/v1/Account/1/followers", ANY_GET | {"POST", "DELETE"}),
    ("GET", "/api/v1/MassAction", {"POST"}),
    ("POST", "/api/v1/", ANY_GET),
    ("DELETE", "/api/v1/Webhook", ANY_GET | {"POST"}),
    ("POST", "/api/v1/Note/1", ANY_GET | {"PUT", "PATCH", "DELETE"}),
])
def test_a_resource_asked_with_another_method_is_405_naming_its_methods(api, method, path, allowed):
    response = api.request(method, path)
    assert (response.status_code, response.content) == (405, b"")
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


def test_the_methods_a_resource_takes_reach_it(api):
    """The routes still answer what they take (a sample of each kind of path)."""
    lead = api.post("/api/v1/Lead", json={"lastName": "Route"}).json()
    assert api.get("/api/v1/Lead").status_code == 200
    assert api.get(f"/api/v1/Lead/{lead['id']}/meetings").status_code == 200
    assert api.delete(f"/api/v1/Lead/{lead['id']}/meetings/999").status_code in (200, 404)
    assert api.post("/api/v1/Lead/action/getConvertAttributes", json={"id": lead["id"]}).status_code == 200
    created = api.post("/api/v1/Account/action/massCreate", json={"list": [{"name": "A"}]})
    assert created.status_code == 200
    for method in ("PUT", "POST"):
        updated = api.request(method, "/api/v1/Account/action/massUpdate",
                              json={"attributes": {"type": "Partner"}, "ids": created.json()["ids"]})
        assert updated.json()["count"] == 1
    deleted = api.request("DELETE", "/api/v1/Account/action/massDelete", json={"ids": created.json()["ids"]})
    assert deleted.json()["count"] == 1
