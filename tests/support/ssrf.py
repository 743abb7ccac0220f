"""SSRF test data: a resolver that answers from a table (no test looks a name up on the network, and this
machine has none), and the host spellings that webhooks must never reach, or may reach, each written as
it would appear in a URL (`http://{host}/hook`)."""

from __future__ import annotations

import ipaddress
import socket

PUBLIC_V4, PUBLIC_V6 = "93.184.215.14", "2606:4700::1111"

DNS_ANSWERS: dict[str, list[str]] = {
    # Public names the webhook tests subscribe to.
    "your-app.com": [PUBLIC_V4],
    "hooks.example.com": [PUBLIC_V4, PUBLIC_V6],
    "public.example.net": [PUBLIC_V4, PUBLIC_V6],
    # Names that lead inside: one blocked address among public ones is enough.
    "loopback.example.net": ["127.0.0.1"],
    "private.example.net": ["10.0.0.5"],
    "metadata.example.net": ["169.254.169.254"],
    "mixed.example.net": [PUBLIC_V4, "10.0.0.5"],
    "mixed6.example.net": [PUBLIC_V6, "::1"],
    "mapped.example.net": ["::ffff:127.0.0.1"],
    "nat64.example.net": ["64:ff9b::a9fe:a9fe"],
    "ula.example.net": ["fd00::1"],
    "scoped.example.net": ["fe80::1%eth0"],
}


class FakeDNS:
    """A `Resolver` over `answers`; a numeric host is read as getaddrinfo reads it (the C library's inet_aton,
    no lookup), an unknown name fails as getaddrinfo fails for it."""

    def __init__(self) -> None:
        self.answers = {name: list(found) for name, found in DNS_ANSWERS.items()}
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        try:
            return [str(ipaddress.IPv4Address(socket.inet_aton(host)))]
        except OSError:
            pass
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.answers[host])


# Refused at subscription (both protocols) and at delivery, whatever the spelling.
BLOCKED_HOSTS = [
    # IPv4 as inet_aton (and so getaddrinfo) reads it: short, octal, hexadecimal, one number, mixed
    "127.0.0.1", "127.1", "127.0.1", "0177.0.0.1", "0x7f.0.0.1", "0X7F.1", "2130706433", "0x7f000001",
    "017700000001", "0177.0x0.0.1", "0x7f.0.0.0x1", "127.0.0.1.", "0", "0.0.0.0", "10.1", "0xa000001",
    "192.168.1", "3232235777", "172.16.5.4", "0xa9.0xfe.0xa9.0xfe", "0251.0376.0251.0376", "169.254.43518",
    "2852039166", "100.64.0.1", "192.0.0.9", "192.0.2.1", "198.18.0.1", "203.0.113.9", "224.0.0.1",
    "240.0.0.1", "255.255.255.255",
    # what the resolver decodes: percent escapes, IDNA (NFKC: full-width and circled digits)
    "127%2e0%2e0%2e1", "%31%32%37.0.0.1", "%6c%6fcalhost", "ｌｏｃａｌｈｏｓｔ", "①②⑦.0.0.1", "１２７。０。０。１",
    # IPv6: loopback, unspecified, IPv4-mapped, -translated, -compatible, NAT64 (both prefixes), 6to4,
    # Teredo, zone ids, link-local, unique and site local, multicast, documentation, discard, SRv6
    "[::1]", "[0:0:0:0:0:0:0:1]", "[::]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:FFFF:127.0.0.1]",
    "[::ffff:169.254.169.254]", "[::ffff:0:127.0.0.1]", "[::ffff:0:a00:1]", "[::127.0.0.1]", "[::7f00:1]",
    "[::8.8.8.8]", "[64:ff9b::127.0.0.1]", "[64:ff9b::a9fe:a9fe]", "[64:ff9b::10.0.0.1]", "[64:ff9b:1::8.8.8.8]",
    "[64:ff9b:1::7f00:1]", "[2002:7f00:1::]", "[2002:a9fe:a9fe::1]", "[2002:808:808::1]",
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "[2001::]", "[fe80::1]", "[fe80::1%25eth0]", "[fc00::1]",
    "[fd00:ec2::254]", "[fec0::1]", "[ff02::1]", "[2001:db8::1]", "[3fff::1]", "[100::1]", "[5f00::1]",
    # names that only mean "inside"
    "localhost", "localhost.", "LOCALHOST", "sub.localhost", "metadata.google.internal",
    "metadata.google.internal.", "printer.local", "nas.lan", "intranet", "router.home.arpa",
    # names whose addresses are (partly) blocked, and one that does not resolve
    "loopback.example.net", "loopback.example.net.", "LOOPBACK.Example.Net", "private.example.net",
    "metadata.example.net", "mixed.example.net", "mixed6.example.net", "mapped.example.net", "nat64.example.net",
    "ula.example.net", "scoped.example.net", "nowhere.example.net",
]

# Public: accepted at subscription, pinned to the address they are or resolve to.
ACCEPTED_HOSTS = {
    "93.184.215.14": PUBLIC_V4, "1572394766": PUBLIC_V4, "[2606:4700::1111]": PUBLIC_V6,
    "[::ffff:93.184.215.14]": "::ffff:5db8:d70e", "[64:ff9b::93.184.215.14]": "64:ff9b::5db8:d70e",
    "public.example.net": PUBLIC_V4, "Public.Example.NET.": PUBLIC_V4, "hooks.example.com": PUBLIC_V4,
}
