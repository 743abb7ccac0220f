"""The SSRF guard: webhook URLs must lead to public addresses unless the operator allows private ones.

A URL's host is read as the system resolver would read it: inet_aton numbers (`127.1`, `0177.0.0.1`,
`0x7f000001`, `2130706433`) are IPv4 addresses, percent escapes and IDNA are decoded, case and one trailing
dot do not count. The decision is made on that host, by one rule for every address (`is_public_address`).
A name is resolved and every address it has is checked (one blocked address is enough to refuse) when a
webhook is subscribed and again on every delivery; the request is then made to the checked address itself,
so a DNS answer that changes between check and connect (DNS rebinding) cannot redirect it. Redirects are
never followed (events.sender).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable
from urllib.parse import unquote, urlsplit

MAX_URL_LENGTH = 2000
# Names that only ever mean "inside": refused before any lookup.
INTERNAL_NAMES = ("localhost",)
INTERNAL_SUFFIXES = (".localhost", ".internal", ".local", ".lan", ".home.arpa")

Resolver = Callable[[str, int], list[str]]
# Whitespace, and NUL, which no stored text may hold (PostgreSQL cannot store it).
NOT_IN_URL = re.compile(r"[\s\x00]")
LABEL = re.compile(r"[a-z0-9_-]{1,63}")
# A last label that is a number makes the host an IPv4 address or nothing (as in the WHATWG URL standard):
# no top-level domain is numeric, so `1.2.3.4.5` or `08.0.0.1` is refused rather than looked up.
NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
IPV4_PART = {16: re.compile(r"[0-9a-f]+"), 8: re.compile(r"[0-7]+"), 10: re.compile(r"[0-9]+")}

# IPv4 ranges that are not globally reachable. Python's `is_global` covers most of them, but what it covers
# has changed between Python versions, so they are listed here as well.
BLOCKED_IPV4 = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8",  # "this network", 0.0.0.0 reaches the local host
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",  # private
    "100.64.0.0/10",  # shared address space (carrier-grade NAT)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local, with the cloud metadata service at 169.254.169.254
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",  # documentation
    "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
    "198.18.0.0/15",  # benchmarking
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, 255.255.255.255 (broadcast) included
))
# Only global unicast IPv6 (2000::/3) is reachable, less the special ranges inside it. Everything outside
# it is refused: ::/8 (unspecified, loopback, IPv4-compatible, NAT64 local-use 64:ff9b:1::/48), 100::/64
# (discard), 5f00::/16 (SRv6), fc00::/7 (unique local), fe80::/10 (link-local), fec0::/10 (site-local),
# ff00::/8 (multicast); except the forms below that embed an IPv4 address, which are judged by that address.
GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
BLOCKED_IPV6 = tuple(ipaddress.IPv6Network(n) for n in (
    "2001::/23",  # IETF protocol assignments: Teredo 2001::/32 (a tunnel to any IPv4 address), benchmarking
    "2001:db8::/32", "3fff::/20",  # documentation
    "2002::/16",  # 6to4: a tunnel to the IPv4 address it embeds, through relays nobody controls
))
IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT, ::ffff:0:a.b.c.d
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known NAT64 prefix: reaches the embedded IPv4 address


class BlockedTarget(ValueError):
    """The URL is malformed or leads to an address webhooks may not reach."""


class PrivateTarget(BlockedTarget):
    """The URL leads to an internal name or a non-public address: allowed only with allow_private."""


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str  # normalised: a lower-case ASCII name without a trailing dot, or an IP address as Python writes it
    port: int
    path: str  # path and query, at least "/"
    address: str | None = None  # the host, if it is an IP address

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    def url_for(self, address: str) -> str:
        """The URL with the host replaced by a checked address (the connection is pinned to it)."""
        host = f"[{address}]" if ":" in address else address
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def parse_target(url: object) -> Target:
    """A webhook URL's parts; BlockedTarget unless it is an absolute http(s) URL with a host."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH or NOT_IN_URL.search(url):
        raise BlockedTarget("not a valid URL")
    return _parse_target(url)


@lru_cache(maxsize=4096)
def _parse_target(url: str) -> Target:
    """Parsed once per URL: every delivery of a subscription parses the same one (twice: send, guard)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BlockedTarget("not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedTarget("the URL must be http or https with a host")
    # Refused rather than stripped: the URL is shown to everyone who lists webhooks, so credentials in it
    # would leak, and `https://trusted.example@10.0.0.1/` is the classic URL that looks like another host.
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise BlockedTarget("credentials in the URL are not allowed")
    if port == 0:
        raise BlockedTarget("not a valid port")
    host, address = normalise_host(parts.hostname, bracketed=parts.netloc.startswith("["))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path, address)


def normalise_host(hostname: str, bracketed: bool = False) -> tuple[str, str | None]:
    """(host, address): the host as the resolver reads it, and the IP address if it is one. `hostname` is
    urlsplit's (lower case, brackets removed); a bracketed one must be an IPv6 address."""
    if bracketed:
        try:
            # A zone id (`fe80::1%eth0`) is kept: it marks the address as scoped, which is never public.
            address = str(ipaddress.IPv6Address(hostname))
        except ValueError:
            raise BlockedTarget("not a valid IPv6 address") from None
        return address, address
    host = hostname
    if "%" in host:
        try:
            host = unquote(host, errors="strict")
        except UnicodeDecodeError:
            raise BlockedTarget("not a valid host") from None
    if not host.isascii():
        # The codec socket.getaddrinfo applies to names itself (IDNA 2003, with NFKC: `①②⑦.0.0.1` and
        # full-width `ｌｏｃａｌｈｏｓｔ` come out as `127.0.0.1` and `localhost`).
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise BlockedTarget("not a valid host") from None
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    address = inet_aton(host)
    if address is not None:
        return str(address), str(address)
    labels = host.split(".")
    if NUMERIC_LABEL.fullmatch(labels[-1]) or len(host) > 253 or not all(map(LABEL.fullmatch, labels)):
        raise BlockedTarget("not a valid host")
    return host, None


def inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address that the C library's inet_aton (and so getaddrinfo) reads in `host`: one to four
    parts, each decimal, octal (leading 0) or hexadecimal (0x), the last filling the remaining bytes."""
    parts = host.split(".")
    if len(parts) > 4:
        return None
    numbers = []
    for part in parts:
        base, digits = (16, part[2:]) if part[:2] in ("0x", "0X") else (8, part) if part[:1] == "0" else (10, part)
        if not IPV4_PART[base].fullmatch(digits.lower()):
            return None
        numbers.append(int(digits, base))
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    value = last
    for index, number in enumerate(head):
        value |= number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def is_public_address(address: str) -> bool:
    """Whether webhooks may reach an IP address: a globally reachable unicast address, not loopback,
    private, link-local (cloud metadata included), shared, reserved, multicast, unspecified, broadcast,
    documentation or benchmarking. An IPv6 address that embeds an IPv4 one (IPv4-mapped, IPv4-translated,
    NAT64 64:ff9b::/96) is decided by that; other tunnels and scoped addresses (`%zone`) are refused."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        return _public_ipv4(ip)
    if ip.scope_id is not None:
        return False
    if ip.ipv4_mapped is not None:
        return _public_ipv4(ip.ipv4_mapped)
    if ip in IPV4_TRANSLATED or ip in NAT64:
        return _public_ipv4(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    return ip in GLOBAL_UNICAST and ip.is_global and not any(ip in network for network in BLOCKED_IPV6)


def _public_ipv4(ip: ipaddress.IPv4Address) -> bool:
    return ip.is_global and not any(ip in network for network in BLOCKED_IPV4)


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_internal_name(host: str) -> bool:
    """Names that mean "this network" wherever they are looked up (a name without a dot is completed
    with the local search domains)."""
    return host in INTERNAL_NAMES or host.endswith(INTERNAL_SUFFIXES) or "." not in host


class AddressGuard:
    """Checks webhook URLs when they are subscribed and resolves them, checked, when they are called."""

    def __init__(self, allow_private: bool, resolver: Resolver | None = None):
        self.allow_private = allow_private
        self.resolver = resolver  # None: the system resolver, looked up on each call (tests replace it)

    def check_url(self, url: object) -> Target:
        """Subscription time: refuse a malformed URL, an internal name, a blocked address, and a name that
        does not resolve or has a blocked address. Names are resolved and checked again on every delivery."""
        target = parse_target(url)
        if not self.allow_private:
            self.addresses(target)
        return target

    def resolve(self, target: Target) -> str:
        """Connect time: the address to connect to, after every address of the host was checked again."""
        return self.addresses(target)[0]

    def addresses(self, target: Target) -> list[str]:
        """Every address of the target's host; BlockedTarget if one of them may not be reached."""
        if target.address is not None:
            addresses = [target.address]
        else:
            if not self.allow_private and is_internal_name(target.host):
                raise PrivateTarget("the URL leads to an internal host name")
            try:
                addresses = (self.resolver or system_resolver)(target.host, target.port)
            except (OSError, UnicodeError) as exc:
                raise BlockedTarget(f"cannot resolve {target.host}: {exc}") from None
            if not addresses:
                raise BlockedTarget(f"{target.host} has no address")
        if not self.allow_private:
            for address in addresses:
                if not is_public_address(address):
                    raise PrivateTarget(f"{target.host} is or resolves to a private or local address ({address})")
        return addresses
