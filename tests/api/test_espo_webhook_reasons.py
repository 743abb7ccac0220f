"""A webhook URL the EspoCRM API refuses says why in X-Status-Reason (after EspoCRM's validation failure),
names the setting that allows private targets, and never the address a name resolved to."""

from __future__ import annotations

import dataclasses

import pytest

from polycrm.app import build_app
from tests.api.conftest import ApiHarness
from tests.events.conftest import TEST_SETTINGS
from tests.support.ssrf import BLOCKED_HOSTS, DNS_ANSWERS

FAILURE = "Field validation failure; entityType: Webhook, field: url, type: valid. "
PRIVATE = ("Its host is or resolves to a loopback, private, link-local or other non-public address: webhooks "
           "reach only public addresses unless the server sets POLYCRM_WEBHOOK_ALLOW_PRIVATE=1.")


@pytest.fixture
def strict(api):
    """A client of an app without POLYCRM_WEBHOOK_ALLOW_PRIVATE (the default)."""
    return api


def test_a_private_target_is_refused_naming_the_setting_and_no_address(strict):
    for host in BLOCKED_HOSTS:
        response = strict.post("/api/v1/Webhook", json={"event": "Account.create", "url": f"http://{host}/x"})
        reason = response.headers["x-status-reason"]
        assert response.status_code == 400 and reason.startswith(FAILURE), host
        assert response.json()["messageTranslation"]["data"] == {"field": "url", "type": "valid"}
        if host == "nowhere.example.net":
            assert reason == FAILURE + "Its host name does not resolve.", host
            continue
        assert reason == FAILURE + PRIVATE, host
        for address in DNS_ANSWERS.get(host.lower().rstrip("."), []):
            assert address not in reason
    hook = strict.post("/api/v1/Webhook", json={"event": "Account.create", "url": "https://hooks.example.com/x"})
    changed = strict.patch(f"/api/v1/Webhook/{hook.json()['id']}", json={"url": "http://loopback.example.net/x"})
    assert (changed.status_code, changed.headers["x-status-reason"]) == (400, FAILURE + PRIVATE)


@pytest.mark.parametrize(("url", "why"), [
    ("not a url", "not a valid URL"),
    ("ftp://example.com/", "the URL must be http or https with a host"),
    ("https://user:pw@hooks.example.com/", "credentials in the URL are not allowed"),
    ("https://hooks.example.com:0/", "not a valid port"),
    ("https://bad_host!.example.com/", "not a valid host"),
    (5, "not a valid URL"),
])
def test_a_malformed_url_says_what_is_wrong(strict, url, why):
    response = strict.post("/api/v1/Webhook", json={"event": "Account.create", "url": url})
    assert (response.status_code, response.headers["x-status-reason"]) == (400, FAILURE + f"Not a webhook URL: {why}.")


def test_with_the_setting_a_private_target_is_accepted(harness, config, store):
    app = build_app(dataclasses.replace(config, webhooks=TEST_SETTINGS), store.database)  # allow_private=True
    client = ApiHarness(app, harness.directory, harness.admin_id, harness.admin_key).key_client(harness.admin_key)
    response = client.post("/api/v1/Webhook", json={"event": "Account.create", "url": "http://127.0.0.1:8099/hook"})
    assert response.status_code == 201
