"""The SSRF guard: webhook URLs must lead to public addresses unless the operator allows private ones.

Every address a host resolves to is checked (one private address is enough to refuse), and the request is
then made to the checked address itself, so a DNS answer that changes between check and connect (DNS
rebinding) cannot redirect it. Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000
# Names that only ever mean "inside": refused before any lookup.
INTERNAL_NAMES = ("localhost",)
INTERNAL_SUFFIXES = (".localhost", ".internal", ".local", ".lan", ".home.arpa")

Resolver = Callable[[str, int], list[str]]
# Whitespace, and NUL, which no stored text may hold (PostgreSQL cannot store it).
NOT_IN_URL = re.compile(r"[\s\x00]")


class BlockedTarget(ValueError):
    """The URL is malformed or leads to an address webhooks may not reach."""


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str  # as written (lower case, IPv6 without brackets)
    port: int
    path: str  # path and query, at least "/"

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
    if parts.username is not None or parts.password is not None:
        raise BlockedTarget("credentials in the URL are not allowed")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname.lower().rstrip("."), port or (443 if parts.scheme == "https" else 80),
                  path)


def is_public_address(address: str) -> bool:
    """Whether an IP address is globally routable: not loopback, private, link-local (cloud metadata at
    169.254.169.254 included), shared, reserved, multicast or unspecified; IPv4-mapped IPv6 is unwrapped."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
    return ip.is_global and not ip.is_multicast


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class AddressGuard:
    """Checks webhook URLs when they are subscribed and resolves them, checked, when they are called."""

    def __init__(self, allow_private: bool, resolver: Resolver = system_resolver):
        self.allow_private = allow_private
        self.resolver = resolver

    def _literal(self, host: str) -> str | None:
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            return None

    def check_url(self, url: object) -> Target:
        """Refuse URLs that are malformed or plainly internal (by name or literal address). Names are
        resolved again, and checked, on every delivery."""
        target = parse_target(url)
        if self.allow_private:
            return target
        literal = self._literal(target.host)
        if literal is not None:
            if not is_public_address(literal):
                raise BlockedTarget("the URL leads to a private or local address")
        elif target.host in INTERNAL_NAMES or target.host.endswith(INTERNAL_SUFFIXES) or "." not in target.host:
            raise BlockedTarget("the URL leads to an internal host name")
        return target

    def resolve(self, target: Target) -> str:
        """The address to connect to: every address of the host must be allowed (the first is used)."""
        self.check_url(f"{target.scheme}://{target.host_header}{target.path}")
        literal = self._literal(target.host)
        try:
            addresses = [literal] if literal else self.resolver(target.host, target.port)
        except OSError as exc:
            raise BlockedTarget(f"cannot resolve {target.host}: {exc}") from None
        if not addresses:
            raise BlockedTarget(f"{target.host} has no address")
        if not self.allow_private:
            for address in addresses:
                if not is_public_address(address):
                    raise BlockedTarget(f"{target.host} resolves to a private or local address ({address})")
        return addresses[0]
