"""The SSRF guard: which URLs and addresses webhooks may reach, and the pinning of resolved addresses."""

from __future__ import annotations

import pytest

from polycrm.events.addresses import AddressGuard, BlockedTarget, is_public_address, parse_target


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.5.5.5", "::1", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
    "169.254.1.1", "100.64.0.1", "0.0.0.0", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "::ffff:127.0.0.1",
    "::ffff:10.1.2.3", "2002:7f00:1::", "224.0.0.1", "ff02::1", "240.0.0.1", "198.18.0.1"])
def test_private_and_special_addresses_are_not_public(address: str):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "1.1.1.1"])
def test_public_addresses(address: str):
    assert is_public_address(address)


@pytest.mark.parametrize("url", [None, 12, "", "example.com/hook", "ftp://example.com/x", "file:///etc/passwd",
                                 "http://", "http://exa mple.com/", "http://user:pw@example.com/",
                                 "http://example.com:99999/", "https://" + "a" * 2000 + ".com/"])
def test_malformed_urls(url):
    with pytest.raises(BlockedTarget):
        AddressGuard(allow_private=True).check_url(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1/x", "http://localhost:8080/", "http://[::1]/", "http://10.1.1.1/",
                                 "http://169.254.169.254/latest/meta-data", "http://metadata.google.internal/",
                                 "http://printer.local/", "http://intranet/", "http://router.lan/",
                                 "http://[::ffff:127.0.0.1]/", "http://0.0.0.0:80/"])
def test_internal_urls_refused_unless_allowed(url: str):
    with pytest.raises(BlockedTarget):
        AddressGuard(allow_private=False).check_url(url)
    assert AddressGuard(allow_private=True).check_url(url).host


def test_every_resolved_address_is_checked_and_the_first_is_pinned():
    answers = {"hooks.example.com": ["93.184.216.34", "10.0.0.5"], "ok.example.com": ["93.184.216.34", "1.1.1.1"]}
    guard = AddressGuard(allow_private=False, resolver=lambda host, port: answers[host])
    with pytest.raises(BlockedTarget, match="10.0.0.5"):
        guard.resolve(parse_target("https://hooks.example.com/x"))
    target = parse_target("https://ok.example.com:8443/in?a=1")
    address = guard.resolve(target)
    assert address == "93.184.216.34"
    assert target.url_for(address) == "https://93.184.216.34:8443/in?a=1"
    assert target.host_header == "ok.example.com:8443"


def test_rebinding_to_a_private_address_is_caught_at_send_time():
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    guard = AddressGuard(allow_private=False, resolver=lambda host, port: next(answers))
    target = guard.check_url("http://rebind.example.com/")
    assert guard.resolve(target) == "93.184.216.34"
    with pytest.raises(BlockedTarget):
        guard.resolve(target)


def test_unresolvable_hosts_are_refused_at_send_time():
    def fail(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(BlockedTarget, match="cannot resolve"):
        AddressGuard(allow_private=False, resolver=fail).resolve(parse_target("http://nx.example.com/"))


def test_ipv6_targets_keep_brackets():
    target = parse_target("http://[2606:4700:4700::1111]:8080/h")
    assert target.url_for("2606:4700:4700::1111") == "http://[2606:4700:4700::1111]:8080/h"
    assert target.host_header == "[2606:4700:4700::1111]:8080"
