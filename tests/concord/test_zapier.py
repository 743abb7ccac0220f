"""Zapier's REST hooks through the Concord API: subscribing and unsubscribing (deliveries:
tests/events/test_zapier_delivery.py), bad input, and who may do what."""

from __future__ import annotations

import pytest

from tests.concord.conftest import Concord
from tests.support.ssrf import BLOCKED_HOSTS

HOOK_URL = "https://hooks.example.com/hooks/standard/1/abc"  # a public name of the tests' DNS: never called


def test_subscribe_and_unsubscribe(concord: Concord) -> None:
    made = concord.post("zapier/hooks/contacts/created", {"targetUrl": HOOK_URL, "zapId": "subscription:12345",
                                                          "data": {"triggerWhen": {"first_name": "Zed"}}})
    assert made.status_code == 201
    hook = made.json()
    assert list(hook) == ["hook", "resource_name", "action", "user_id", "zap_id", "data", "id"]  # Concord 1.4.1's
    assert hook["hook"] == HOOK_URL and hook["resource_name"] == "contacts" and hook["action"] == "created"
    assert hook["user_id"] == concord.user_id and hook["zap_id"] == 12345
    assert hook["data"] == {"triggerWhen": {"first_name": "Zed"}}
    second = concord.post("zapier/hooks/deals/updated", {"targetUrl": HOOK_URL, "zapId": 778}).json()
    assert second["action"] == "updated" and second["data"] is None and second["zap_id"] == 778
    # The same subscription is a PolyCRM webhook: the admin's EspoCRM webhook list does not mix them in.
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    assert espo.get("/api/v1/Webhook").json()["total"] == 0
    assert concord.delete(f"zapier/hooks/{hook['id']}").status_code == 204
    gone = concord.delete(f"zapier/hooks/{hook['id']}")
    assert gone.status_code == 404
    assert gone.json() == {"message": f"No query results for model [Modules\\Core\\App\\Models\\ZapierHook] "
                                      f"{hook['id']}"}


@pytest.mark.parametrize("body, key", [
    ({}, "targetUrl"),
    ({"targetUrl": ""}, "targetUrl"),
    ({"targetUrl": 5}, "targetUrl"),
    ({"targetUrl": "not a url"}, "targetUrl"),
    ({"targetUrl": "ftp://hooks.example.com/x"}, "targetUrl"),
    ({"targetUrl": "http://127.0.0.1:8080/api/v1/User"}, "targetUrl"),  # the server's own network: refused
    ({"targetUrl": "http://169.254.169.254/latest/meta-data"}, "targetUrl"),
    ({"targetUrl": HOOK_URL + "/" + "x" * 2100}, "targetUrl"),
    ({"targetUrl": HOOK_URL, "data": "when"}, "data"),
    ({"targetUrl": HOOK_URL, "zapId": "9" * 200}, "zapId"),
    (["targetUrl", HOOK_URL], "targetUrl"),
])
def test_bad_subscriptions_are_422(concord: Concord, body: object, key: str) -> None:
    refused = concord.post("zapier/hooks/contacts/created", body)
    assert refused.status_code == 422, refused.text
    assert key in refused.json()["errors"]


@pytest.mark.parametrize("host", BLOCKED_HOSTS[:12] + ["loopback.example.net", "metadata.example.net",
                                                      "mixed.example.net", "nowhere.example.net"])
def test_hooks_reach_only_public_addresses(concord: Concord, host: str) -> None:
    refused = concord.post("zapier/hooks/contacts/created", {"targetUrl": f"http://{host}/hook"})
    assert refused.status_code == 422 and list(refused.json()["errors"]) == ["targetUrl"]


def test_unknown_resources_actions_and_hooks_are_404(concord: Concord) -> None:
    assert concord.post("zapier/hooks/nothing/created", {"targetUrl": HOOK_URL}).status_code == 404
    assert concord.post("zapier/hooks/contacts/deleted", {"targetUrl": HOOK_URL}).status_code == 404
    assert concord.post("zapier/hooks/contacts%27%3B--/created", {"targetUrl": HOOK_URL}).status_code == 404
    for hook_id in ("abc", "99999999", "1%20OR%201=1", "9" * 40):
        assert concord.delete(f"zapier/hooks/{hook_id}").status_code == 404
    assert concord.get("zapier/hooks/1").status_code == 404  # `{resource}/{id}/{associated}` takes GET (1.4.1: 500)
    assert concord.put("zapier/hooks/1", {}).status_code == 405


def test_hooks_are_their_owners(concord: Concord) -> None:
    reader = concord.as_user("zap-reader", {"Contact": {"read": "own"}})
    mine = reader.post("zapier/hooks/contacts/created", {"targetUrl": HOOK_URL, "zapId": 1})
    assert mine.status_code == 201 and mine.json()["user_id"] == reader.user_id
    theirs = concord.post("zapier/hooks/contacts/created", {"targetUrl": HOOK_URL, "zapId": 2}).json()
    assert reader.delete(f"zapier/hooks/{theirs['id']}").status_code == 404  # another user's: not found
    assert concord.delete(f"zapier/hooks/{mine.json()['id']}").status_code == 404  # not even an admin's to take
    # A resource the user may not read cannot be subscribed to.
    assert reader.post("zapier/hooks/deals/created", {"targetUrl": HOOK_URL}).status_code == 404
    assert reader.delete(f"zapier/hooks/{mine.json()['id']}").status_code == 204


def test_unauthenticated(concord: Concord) -> None:
    anonymous = concord.harness.client({"Accept": "application/json"}, validate=False)
    refused = anonymous.post("/api/zapier/hooks/contacts/created", json={"targetUrl": HOOK_URL})
    assert refused.status_code == 401 and refused.json() == {"message": "Unauthenticated."}
