"""`polycrm serve`: the first-start banner names the address served; behind a reverse proxy, the client address
that rate limits and login throttles count by is the forwarded one only when the proxy is trusted
(POLYCRM_TRUSTED_PROXIES), so no client can choose its own address."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import pytest
import uvicorn
from starlette.testclient import TestClient

import polycrm.cli.server
from polycrm.app import build_app
from polycrm.cli.server import proxy_options, served_url
from polycrm.config import load_config
from tests.ops.conftest import error_line, invoke

IP_LIMIT = "Max failed login attempts exceeded for IP address {}."


@pytest.mark.parametrize("host,port,url", [
    ("127.0.0.1", 8080, "http://127.0.0.1:8080"), ("0.0.0.0", 9000, "http://127.0.0.1:9000"),
    ("::", 80, "http://[::1]:80"), ("::1", 8443, "http://[::1]:8443"), ("crm.example.org", 81, "http://crm.example.org:81"),
])
def test_the_url_served(host, port, url):
    assert served_url(host, port) == url


@pytest.fixture
def started(monkeypatch) -> list[dict[str, Any]]:
    """uvicorn.run as `serve` calls it, recorded instead of serving."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append({"app": app, **options}))
    monkeypatch.setattr(polycrm.cli.server, "stdout_is_terminal", lambda: True)
    return calls


def test_the_first_start_banner_shows_the_host_and_port_served(started, tmp_path):
    env = {"POLYCRM_DATA_DIR": str(tmp_path), "POLYCRM_DATABASE_URL": None, "POLYCRM_SECRET_KEY": None,
           "POLYCRM_TRUSTED_PROXIES": None}
    result = invoke(env, "serve", "--host", "0.0.0.0", "--port", "9123")
    assert result.exit_code == 0, result.stderr
    assert "curl -H 'X-Api-Key: " in result.stdout and "' http://127.0.0.1:9123/api/v1/Account" in result.stdout
    assert "Interactive API docs: http://127.0.0.1:9123/docs" in result.stdout
    assert "PolyCRM on http://127.0.0.1:9123 " in result.stdout and ":8080" not in result.stdout
    options, = started
    assert (options["host"], options["port"], options["proxy_headers"]) == ("0.0.0.0", 9123, False)
    assert "forwarded_allow_ips" not in options


def test_serve_hands_the_trusted_proxies_to_uvicorn(started, tmp_path):
    env = {"POLYCRM_DATA_DIR": str(tmp_path), "POLYCRM_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8,::1"}
    assert invoke(env, "serve").exit_code == 0
    options, = started
    assert options["proxy_headers"] is True and options["forwarded_allow_ips"] == ["127.0.0.1", "10.0.0.0/8", "::1"]


@pytest.mark.parametrize("value", ["*", "10.0.0.0/33", "proxy.example.org", "127.0.0.1;rm"])
def test_untrustworthy_proxy_settings_are_refused(tmp_path, value):
    """`*` (uvicorn's "everyone") is refused too: it would let any client choose its address."""
    result = invoke({"POLYCRM_DATA_DIR": str(tmp_path), "POLYCRM_TRUSTED_PROXIES": value}, "serve")
    assert error_line(result).startswith("error: POLYCRM_TRUSTED_PROXIES must list IP addresses or CIDRs")
    assert not tmp_path.joinpath("polycrm.db").exists()


def served(app: Any, trusted: tuple[str, ...]) -> Any:
    """The application as uvicorn serves it with `serve`'s proxy options."""
    config = uvicorn.Config(app, log_config=None, **proxy_options(trusted))
    config.load()
    return config.loaded_app


def failed_login(app: Any, peer: str, forwarded_for: str | None, portal) -> Any:
    headers = {"Authorization": "Basic " + base64.b64encode(b"admin:wrong").decode()}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    client = TestClient(app, base_url="http://testserver", client=(peer, 50000))
    client.portal = portal
    return client.get("/api/v1/App/user", headers=headers)


@pytest.fixture
def throttled(config, store, directory):
    """The application allowing 2 failed logins per client address."""
    directory.create_user("admin", "admin-password-1", user_type="admin")
    return build_app(dataclasses.replace(config, login_failures_per_ip="2/15minutes",
                                         login_failures_per_user="1000/15minutes"), store.database)


def test_an_untrusted_peer_cannot_choose_its_address(throttled, portal):
    app = served(throttled, ("10.0.0.0/8",))
    for spoofed in ("198.51.100.1", "198.51.100.2"):
        assert failed_login(app, "203.0.113.5", spoofed, portal).status_code == 401
    refused = failed_login(app, "203.0.113.5", "198.51.100.3", portal)
    assert refused.status_code == 403 and refused.headers["x-status-reason"] == IP_LIMIT.format("203.0.113.5")
    # With no proxy trusted (the default) the header is ignored from everyone, loopback included.
    default = served(throttled, ())
    for _ in range(2):
        assert failed_login(default, "127.0.0.1", "198.51.100.9", portal).status_code == 401
    assert failed_login(default, "127.0.0.1", "198.51.100.10", portal).headers["x-status-reason"] == \
        IP_LIMIT.format("127.0.0.1")


def test_a_trusted_proxy_passes_the_real_client_on(throttled, portal):
    app = served(throttled, ("10.0.0.0/8",))
    for _ in range(2):
        assert failed_login(app, "10.1.2.3", "198.51.100.1", portal).status_code == 401
    refused = failed_login(app, "10.9.9.9", "198.51.100.1", portal)  # another proxy of the network, same client
    assert refused.status_code == 403 and refused.headers["x-status-reason"] == IP_LIMIT.format("198.51.100.1")
    # Another client behind the same proxy keeps its budget; a chain is read from the right, as uvicorn does.
    assert failed_login(app, "10.1.2.3", "198.51.100.2", portal).status_code == 401
    assert failed_login(app, "10.1.2.3", "192.0.2.77, 198.51.100.2", portal).status_code == 401
    assert failed_login(app, "10.1.2.3", "198.51.100.2", portal).headers["x-status-reason"] == \
        IP_LIMIT.format("198.51.100.2")


def test_the_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("POLYCRM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("POLYCRM_SECRET_KEY", "k")
    monkeypatch.delenv("POLYCRM_TRUSTED_PROXIES", raising=False)
    assert load_config().trusted_proxies == ()
    monkeypatch.setenv("POLYCRM_TRUSTED_PROXIES", " 192.168.0.0/16 ,, fd00::/8 ")
    assert load_config().trusted_proxies == ("192.168.0.0/16", "fd00::/8")
