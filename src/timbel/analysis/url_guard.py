"""Decide whether a repository URL may be cloned, before any connection is opened.

Why: a user-supplied clone URL is a server-side request forgery vector. The guard accepts only
``https``, ``ssh``, ``git`` and scp-like ``user@host:path`` URLs (plain ``http`` only for
allow-listed hosts), refuses remote-helper transports, option injection and embedded credentials,
decodes every literal address form (decimal, hex, octal, short IPv4, IPv6 with embedded IPv4) and
resolves the host once. If ANY address is not publicly routable the URL is refused unless an admin
allow-list covers it. The checked addresses are returned so the clone connects only to them
(see ``timbel.analysis.clone`` for how each transport is pinned).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from timbel.core.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22, "git": 9418}
MAX_URL_LENGTH = 2048
_HELPER_TRANSPORT = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:\[\]]+)@)?(?P<host>\[[^\]/]*\]|[^:/\[\]@]+):(?P<path>.*)$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_METADATA = ipaddress.ip_address("169.254.169.254")
# IANA special-purpose blocks that are not globally reachable, listed here so the decision does not
# depend on the Python patch release's ``is_global`` table.
_SPECIAL = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
        "240.0.0.0/4", "100::/64", "2001::/23", "2001:db8::/32", "5f00::/16",
    )
)  # fmt: skip


class UnsafeRepositoryUrl(ValidationFailed):
    """The repository URL is refused; ``detail`` says why in one sentence."""

    code = "unsafe-repository-url"
    title = "Repository URL refused"


class Resolver(Protocol):
    """Turn a host name into the IP addresses a connection could reach."""

    def resolve(self, host: str) -> list[str]:
        """Return every address of ``host`` as text; raise ``OSError`` when it does not resolve."""
        ...


class SystemResolver:
    """Resolve with the operating system (``socket.getaddrinfo``)."""

    def resolve(self, host: str) -> list[str]:
        """Return the distinct TCP addresses of ``host``."""
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class AllowList:
    """Admin-approved internal hosts (exact names) and networks that the guard lets through."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> AllowList:
        """Build from strings: a CIDR or address (``127.0.0.0/8``) or a host name (``git.corp``)."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in entries:
            text = entry.strip().lower()
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                hosts.add(text.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def covers(self, address: IPAddress) -> bool:
        """True when ``address`` is inside an allowed network."""
        return any(address.version == net.version and address in net for net in self.networks)


@dataclass(frozen=True)
class CheckedUrl:
    """A URL that passed the guard, with the addresses the clone must connect to."""

    url: str
    scheme: str  # https, http, ssh or git (scp-like URLs are reported as ssh)
    host: str  # lower case, no brackets, no trailing dot
    port: int
    path: str
    user: str | None
    addresses: tuple[str, ...] = field(default=())
    allow_listed: bool = False


def check_repo_url(url: str, *, resolver: Resolver, allow: AllowList) -> CheckedUrl:
    """Return the checked URL with its pinned addresses, or raise ``UnsafeRepositoryUrl``."""
    scheme, raw_host, port, path, user = _split(url)
    host = raw_host.lower()
    host = host[:-1] if host.endswith(".") and not host.startswith("[") else host
    literal = _literal_address(host)
    name_allowed = literal is None and host in allow.hosts
    if literal is None and (host == "localhost" or host.endswith(".localhost")) and not name_allowed:
        raise UnsafeRepositoryUrl(f"host {host!r} is a loopback name")
    if literal is not None:
        addresses = [literal]
    else:
        try:
            resolved = resolver.resolve(host)
        except (OSError, UnicodeError) as exc:
            raise UnsafeRepositoryUrl(f"host {host!r} does not resolve") from exc
        addresses = [_parse_resolved(host, text) for text in resolved]
        if not addresses:
            raise UnsafeRepositoryUrl(f"host {host!r} has no address")
    all_allowed = name_allowed or all(allow.covers(address) for address in addresses)
    if not name_allowed:
        for address in addresses:
            reason = address_refusal(address)
            if reason is not None and not allow.covers(address):
                raise UnsafeRepositoryUrl(f"host {host!r} resolves to {address}, {reason}")
    if scheme == "http" and not all_allowed:
        raise UnsafeRepositoryUrl("plain http is accepted only for allow-listed hosts; use https")
    pinned = tuple(dict.fromkeys(str(address) for address in addresses))
    bare_host = host.strip("[]")
    return CheckedUrl(url, scheme, bare_host, port, path, user, pinned, all_allowed)


def address_refusal(address: IPAddress) -> str | None:
    """Say why an address must not be contacted, or None when it is publicly routable."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = address_refusal(embedded)
            return None if inner is None else f"an IPv6 form of {embedded} ({inner})"
        if address in _NAT64_LOCAL:
            return "a local-use NAT64 address"
    checks: Sequence[tuple[bool, str]] = (
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address == _METADATA, "the cloud metadata address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.version == 4 and address in _CGNAT, "a carrier-grade NAT address"),
        (address.version == 6 and address.is_site_local, "a site-local address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (
            any(address.version == net.version and address in net for net in _SPECIAL),
            "a special-purpose address",
        ),
        (not address.is_global, "not a public address"),
    )
    return next((reason for failed, reason in checks if failed), None)


def parse_legacy_ipv4(host: str) -> ipaddress.IPv4Address:
    """Decode an IPv4 literal the way ``inet_aton`` does (``127.1``, ``0x7f000001``, ``0177.0.0.1``)."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMERIC_LABEL.match(part) for part in parts):
        raise ValueError(f"{host!r} is not an IPv4 literal")
    numbers = [_parse_number(part) for part in parts]
    *leading, last = numbers
    if any(number > 255 for number in leading) or last >= 256 ** (5 - len(parts)):
        raise ValueError(f"{host!r} is out of range")
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _parse_number(part: str) -> int:
    """Read one inet_aton component: ``0x`` hex, leading-zero octal, or decimal."""
    if part.startswith("0x"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part)


def _split(url: str) -> tuple[str, str, int, str, str | None]:
    """Split into scheme, host (brackets kept for IPv6), port, path and ssh user; refuse odd forms."""
    if not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeRepositoryUrl("the URL is empty or too long")
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url) or "\\" in url:
        raise UnsafeRepositoryUrl("the URL contains whitespace, control characters or backslashes")
    if url.startswith("-"):
        raise UnsafeRepositoryUrl("the URL looks like a command-line option")
    if _HELPER_TRANSPORT.match(url):
        raise UnsafeRepositoryUrl("remote-helper transports (ext::, fd::, ...) are refused")
    match = _SCHEME.match(url)
    if match is None:
        return _split_scp_like(url)
    scheme = match.group(1).lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeRepositoryUrl(f"the {scheme}:// scheme is refused; use https, ssh or git")
    parts = urlsplit(url)
    if parts.password is not None or (parts.username is not None and scheme != "ssh"):
        raise UnsafeRepositoryUrl("credentials in the URL are refused; they come from the credential store")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise UnsafeRepositoryUrl("query strings and fragments are refused in repository URLs")
    netloc_host = parts.netloc.rpartition("@")[2]
    host = netloc_host[: netloc_host.index("]") + 1] if netloc_host.startswith("[") else netloc_host
    host = host.rsplit(":", 1)[0] if not host.startswith("[") else host
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise UnsafeRepositoryUrl("the port is not a number between 1 and 65535") from exc
    return scheme, _valid_host(host), port, _valid_path(parts.path), _valid_user(parts.username)


def _split_scp_like(url: str) -> tuple[str, str, int, str, str | None]:
    """Read ``user@host:path`` (git's scp-like ssh syntax); anything else is a local path."""
    match = _SCP_LIKE.match(url)
    if match is None:
        raise UnsafeRepositoryUrl("local paths and unknown URL forms are refused; use https, ssh or git")
    path = match.group("path")
    return "ssh", _valid_host(match.group("host")), 22, _valid_path(path), _valid_user(match.group("user"))


def _valid_host(host: str) -> str:
    """Refuse empty, option-like, percent-encoded or otherwise malformed hosts."""
    if not host or host.startswith("-") or "%" in host or "@" in host:
        raise UnsafeRepositoryUrl("the host is missing or malformed")
    lowered = host.lower()
    if lowered.startswith("["):
        if not lowered.endswith("]"):
            raise UnsafeRepositoryUrl("the bracketed IPv6 host is malformed")
        try:
            ipaddress.IPv6Address(lowered[1:-1])
        except ValueError as exc:
            raise UnsafeRepositoryUrl("the bracketed IPv6 host is malformed") from exc
        return lowered
    if not _HOSTNAME.match(lowered.removesuffix(".")):
        raise UnsafeRepositoryUrl("the host is not a valid DNS name or address")
    return lowered


def _valid_path(path: str) -> str:
    """Refuse empty repository paths and option-like paths (``--upload-pack=...``)."""
    if not path.strip("/"):
        raise UnsafeRepositoryUrl("the repository path is missing")
    if path.lstrip("/").startswith("-"):
        raise UnsafeRepositoryUrl("the repository path looks like a command-line option")
    return path


def _valid_user(user: str | None) -> str | None:
    """Accept a plain ssh user name such as ``git``."""
    if user is not None and not _USER.match(user):
        raise UnsafeRepositoryUrl("the ssh user name is malformed")
    return user


def _literal_address(host: str) -> IPAddress | None:
    """Return the address a literal host denotes, or None for a DNS name; refuse ambiguous numbers."""
    if host.startswith("["):
        return ipaddress.IPv6Address(host[1:-1])
    last_label = host.rsplit(".", 1)[-1]
    if not _NUMERIC_LABEL.match(last_label):
        return None  # a name: digits elsewhere (e.g. ``1e100.net``) do not make it an address
    try:
        address = parse_legacy_ipv4(host)
    except ValueError as exc:
        raise UnsafeRepositoryUrl(f"host {host!r} is neither a DNS name nor an IPv4 address") from exc
    if str(address) != host:
        reason = address_refusal(address)
        suffix = f", {reason}" if reason else f"; write it as {address}"
        raise UnsafeRepositoryUrl(f"host {host!r} is a non-canonical form of {address}{suffix}")
    return address


def _parse_resolved(host: str, text: str) -> IPAddress:
    """Parse one resolver answer; a zone suffix (``fe80::1%eth0``) is dropped before classifying."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError as exc:
        raise UnsafeRepositoryUrl(f"host {host!r} resolved to an unreadable address") from exc


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address carried by mapped, compatible, NAT64 or 6to4 IPv6 forms."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    value = int(address)
    if address in _NAT64 or (value >> 32 == 0 and value > 1):  # NAT64 or deprecated IPv4-compatible
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None
