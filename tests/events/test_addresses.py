"""The SSRF guard: which URLs and addresses webhooks may reach, and the pinning of resolved addresses."""

from __future__ import annotations

import ipaddress
import socket
import sys

import pytest

from polycrm.events.addresses import AddressGuard, BlockedTarget, inet_aton, is_public_address, parse_target
from tests.support.ssrf import ACCEPTED_HOSTS, BLOCKED_HOSTS, FakeDNS

NOT_PUBLIC = [
    "127.0.0.1", "127.5.5.5", "::1", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
    "169.254.1.1", "100.64.0.1", "100.127.255.254", "0.0.0.0", "0.1.2.3", "255.255.255.255", "192.0.0.9",
    "192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1", "198.19.255.1", "192.88.99.1", "224.0.0.1",
    "239.255.255.250", "240.0.0.1",
    "::", "fe80::1", "fe80::1%eth0", "2606:4700::1111%eth0", "fc00::1", "fd00:ec2::254", "fec0::1", "ff02::1",
    "ff0e::1", "100::1", "5f00::1", "2001:db8::1", "3fff::1", "2001:2::1",
    "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254", "::ffff:0.0.0.0",  # IPv4-mapped
    "::ffff:0:127.0.0.1", "::ffff:0:10.1.2.3",  # IPv4-translated
    "::127.0.0.1", "::10.0.0.1", "::8.8.8.8",  # IPv4-compatible (deprecated): refused whatever it embeds
    "64:ff9b::127.0.0.1", "64:ff9b::10.0.0.1", "64:ff9b::169.254.169.254", "64:ff9b::100.64.0.1",  # NAT64
    "64:ff9b:1::8.8.8.8", "64:ff9b:1::a00:1",  # NAT64 local use: refused whatever it embeds
    "2002:7f00:1::", "2002:a00:1::", "2002:808:808::1",  # 6to4: refused whatever it embeds
    "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::7f00:1", "2001:0:808:808::",  # Teredo
    "not an address", "",
]
PUBLIC = ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700::1111", "2606:4700:4700::1111", "2a00:1450:4001::1",
          "::ffff:8.8.8.8", "::ffff:0:8.8.8.8", "64:ff9b::8.8.8.8"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_private_and_special_addresses_are_not_public(address: str):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address: str):
    assert is_public_address(address)


INET_ATON = ["127.1", "127.0.1", "0177.0.0.1", "0x7f.0.0.1", "0X7f.1", "2130706433", "0x7f000001", "017700000001",
             "0177.0x0.0.1", "0x7f.0.0.0x1", "00000000000000127.0.0.1", "0", "1.16777215", "0xffffffff",
             "1.2.3.4.5", "256.0.0.1", "1.16777216", "0x100000000", "08.0.0.1", "0x", "0x.1", "1..2", "", "1.2.3.",
             "a.1", "0xg", "127.0.0.1 ", "1e3"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="compares with glibc's inet_aton")
@pytest.mark.parametrize("host", INET_ATON)
def test_numeric_hosts_read_as_the_c_library_reads_them(host: str):
    try:
        expected = ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        expected = None
    if host.endswith(" "):  # glibc's inet_aton stops at a space; URLs with one are refused before this
        expected = None
    assert inet_aton(host) == expected


@pytest.mark.parametrize("host", BLOCKED_HOSTS)
def test_blocked_spellings_are_refused_at_subscription_and_at_connect_time(host: str):
    url = f"http://{host}/hook"
    guard = AddressGuard(allow_private=False, resolver=FakeDNS())
    with pytest.raises(BlockedTarget):
        guard.check_url(url)
    with pytest.raises(BlockedTarget):
        guard.resolve(parse_target(url))
    allowed = AddressGuard(allow_private=True, resolver=FakeDNS())
    assert allowed.check_url(url).host  # a well-formed URL: only the address is refused


@pytest.mark.parametrize("host", sorted(ACCEPTED_HOSTS))
def test_public_spellings_are_accepted_and_pinned(host: str):
    guard = AddressGuard(allow_private=False, resolver=FakeDNS())
    target = guard.check_url(f"https://{host}/hook?a=1")
    address = guard.resolve(target)
    assert address == ACCEPTED_HOSTS[host]
    assert target.url_for(address).endswith(":443/hook?a=1")


@pytest.mark.parametrize(("url", "host", "address"), [
    ("http://127.1/", "127.0.0.1", "127.0.0.1"),
    ("http://0x7F000001:8080/", "127.0.0.1", "127.0.0.1"),
    ("http://127%2E0.0.1/", "127.0.0.1", "127.0.0.1"),
    ("http://①②⑦.0.0.1/", "127.0.0.1", "127.0.0.1"),
    ("http://[0:0:0:0:0:FFFF:7F00:1]/", "::ffff:7f00:1", "::ffff:7f00:1"),
    ("http://[fe80::1%25eth0]/", "fe80::1%25eth0", "fe80::1%25eth0"),
    ("http://LocalHost./", "localhost", None),
    ("http://Hooks.Example.COM./x", "hooks.example.com", None),
    ("http://b%C3%BCcher.example/", "xn--bcher-kva.example", None),
    ("http://BÜCHER.example/", "xn--bcher-kva.example", None),
])
def test_hosts_are_normalised_as_the_resolver_reads_them(url: str, host: str, address: str | None):
    target = parse_target(url)
    assert (target.host, target.address) == (host, address)


def test_the_host_header_and_the_lookup_use_the_normalised_name():
    dns = FakeDNS()
    guard = AddressGuard(allow_private=False, resolver=dns)
    target = guard.check_url("https://Public.Example.NET.:8443/in")
    assert guard.resolve(target) == "93.184.215.14"
    assert dns.lookups == ["public.example.net", "public.example.net"]  # subscription, then delivery
    assert target.host_header == "public.example.net:8443"
    assert parse_target("http://127.1/").host_header == "127.0.0.1"


def test_unresolvable_names_are_refused_at_subscription():
    with pytest.raises(BlockedTarget, match="cannot resolve"):
        AddressGuard(allow_private=False, resolver=FakeDNS()).check_url("https://nowhere.example.net/")
    # With private targets allowed nothing is looked up: local receivers may not be in DNS.
    dns = FakeDNS()
    assert AddressGuard(allow_private=True, resolver=dns).check_url("https://nowhere.example.net/").host
    assert dns.lookups == []


def test_the_system_resolver_is_looked_up_on_each_call(fake_dns: FakeDNS):
    guard = AddressGuard(allow_private=False)
    assert guard.resolve(parse_target("http://public.example.net/")) == "93.184.215.14"
    assert fake_dns.lookups == ["public.example.net"]


@pytest.mark.parametrize("url", [None, 12, "", "example.com/hook", "ftp://example.com/x", "file:///etc/passwd",
                                 "http://", "http://exa mple.com/", "http://user:pw@example.com/",
                                 "http://user@example.com/", "http://@example.com/", "http://example.com@127.0.0.1/",
                                 "http://example.com:99999/", "http://example.com:0/",
                                 "https://" + "a" * 2000 + ".com/",
                                 "http://1.2.3.4.5/", "http://08.0.0.1/", "http://example.123/", "http://0x/",
                                 "http://exa!mple.com/", "http://example..com/", "http://example.com../",
                                 "http://%ff.example.com/", "http://%5B::1%5D/", "http://[127.0.0.1]/",
                                 "http://[::1/", "http://" + "a" * 64 + ".example.com/"])
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
    answers = iter([["93.184.216.34"], ["93.184.216.34"], ["127.0.0.1"]])  # subscription, two deliveries
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
