"""The URL guard refuses unsafe repository URLs and pins safe ones, deciding without any connection."""

from __future__ import annotations

import ipaddress
import itertools
from typing import ClassVar

import pytest

from timbel.analysis.url_guard import (
    AllowList,
    CheckedUrl,
    SystemResolver,
    UnsafeRepositoryUrl,
    address_refusal,
    check_repo_url,
    parse_legacy_ipv4,
)

PUBLIC_V4 = "140.82.112.3"
PUBLIC_V6 = "2606:50c0:8000::153"
NO_ALLOW = AllowList()


class FakeResolver:
    """Answers from a table and records every lookup; unknown names do not resolve."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = table or {}
        self.asked: list[str] = []

    def resolve(self, host: str) -> list[str]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(f"unknown host {host}")
        return self.table[host]


def check(url: str, addresses: list[str] | None = None, allow: AllowList = NO_ALLOW) -> CheckedUrl:
    """Check ``url`` with every DNS name resolving to ``addresses`` (a public address by default)."""
    answer = addresses if addresses is not None else [PUBLIC_V4]
    resolver = FakeResolver(
        {name: answer for name in ("github.com", "git.example.org", "git.corp", "localhost")}
    )
    return check_repo_url(url, resolver=resolver, allow=allow)


def refused(url: str, addresses: list[str] | None = None, allow: AllowList = NO_ALLOW) -> str:
    with pytest.raises(UnsafeRepositoryUrl) as caught:
        check(url, addresses, allow)
    return caught.value.detail


# Every address a resolver might return that must never be contacted.
BLOCKED_ADDRESSES = [
    "127.0.0.1", "127.255.255.254", "0.0.0.0", "10.0.0.1", "10.255.255.255", "172.16.0.1",  # noqa: S104
    "172.31.255.1",
    "192.168.1.1", "169.254.169.254", "169.254.0.1", "100.64.0.1", "100.127.255.254", "224.0.0.1",
    "239.255.255.250", "240.0.0.1", "255.255.255.255", "192.0.0.8", "198.18.0.1", "192.0.2.1",
    "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1", "fec0::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:7f00:1", "::127.0.0.1",
    "::10.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "2002:7f00:1::1",
    "2002:a00:1::1", "2001:db8::1", "fe80::1%eth0",
]  # fmt: skip
PUBLIC_ADDRESSES = [PUBLIC_V4, "8.8.8.8", "1.1.1.1", PUBLIC_V6, "::ffff:8.8.8.8", "64:ff9b::808:808"]


class TestAddressClassification:
    @pytest.mark.parametrize("address", BLOCKED_ADDRESSES)
    def test_resolving_to_a_blocked_address_is_refused(self, address: str) -> None:
        assert "resolves to" in refused("https://github.com/org/repo.git", [address])

    def test_one_blocked_address_among_public_ones_refuses_the_host(self) -> None:
        for blocked in BLOCKED_ADDRESSES:
            refused("https://git.example.org/r.git", [PUBLIC_V4, blocked, PUBLIC_V6])

    @pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
    def test_public_addresses_pass_and_are_pinned(self, address: str) -> None:
        checked = check("https://github.com/org/repo.git", [address, address])
        assert checked.addresses == (str(ipaddress.ip_address(address)),)

    def test_every_rfc1918_and_loopback_block_edge_is_refused(self) -> None:
        for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "100.64.0.0/10"):
            network = ipaddress.ip_network(cidr)
            for address in (network[0], network[1], network[-2], network[-1]):
                assert address_refusal(address) is not None, address
                mapped = ipaddress.IPv6Address(f"::ffff:{address}")
                nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) + int(address))
                assert address_refusal(mapped) is not None and address_refusal(nat64) is not None

    def test_the_metadata_address_is_named(self) -> None:
        assert "metadata" in refused("https://github.com/r.git", ["169.254.169.254"])


class TestLiteralHosts:
    LOOPBACK_FORMS: ClassVar[list[str]] = [
        "127.0.0.1", "127.1", "127.0.1", "2130706433", "0x7f000001", "0x7F.1", "0177.0.0.1", "0177.1",
        "017700000001", "0x7f.0.0.1", "127.0.0.1.", "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
        "[0:0:0:0:0:0:0:1]", "[64:ff9b::7f00:1]", "0", "0.0.0.0", "localhost", "LOCALHOST",  # noqa: S104
        "localhost.",
        "api.localhost", "a.b.localhost.",
    ]  # fmt: skip

    @pytest.mark.parametrize("host", LOOPBACK_FORMS)
    def test_loopback_forms_are_refused_under_every_scheme(self, host: str) -> None:
        for url in (
            f"https://{host}/r.git",
            f"git://{host}/r.git",
            f"ssh://git@{host}/r.git",
            f"git@{host}:r.git",
        ):
            resolver = FakeResolver()
            with pytest.raises(UnsafeRepositoryUrl):
                check_repo_url(url, resolver=resolver, allow=NO_ALLOW)
            assert resolver.asked == []  # decided from the literal, no lookup

    def test_generated_numeric_forms_of_private_addresses_are_refused(self) -> None:
        for text in ("10.1.2.3", "192.168.0.1", "169.254.169.254", "172.16.5.4", "127.0.0.1"):
            value = int(ipaddress.IPv4Address(text))
            a, b, c, d = (value >> 24) & 255, (value >> 16) & 255, (value >> 8) & 255, value & 255
            forms = [str(value), hex(value), f"0{value:o}", f"{a}.{(b << 16) | (c << 8) | d}"]
            forms += [
                f"{a}.{b}.{(c << 8) | d}",
                f"{hex(a)}.{hex(b)}.{hex(c)}.{hex(d)}",
                f"0{a:o}.{b}.{c}.{d}",
            ]
            for form, scheme in itertools.product(forms, ("https", "git")):
                assert parse_legacy_ipv4(form) == ipaddress.IPv4Address(text), form
                detail = refused(f"{scheme}://{form}/r.git")
                assert text in detail or form == text

    def test_non_canonical_public_forms_are_refused_with_the_canonical_spelling(self) -> None:
        assert "write it as 8.8.8.8" in refused("https://134744072/r.git")

    def test_invalid_numeric_hosts_are_refused(self) -> None:
        for host in ("256.0.0.1", "1.2.3.4.5", "0x", "09.0.0.1", "example.123", "4294967296"):
            refused(f"https://{host}/r.git")

    def test_public_literals_pass_without_lookup(self) -> None:
        resolver = FakeResolver()
        checked = check_repo_url(f"https://[{PUBLIC_V6}]:8443/r.git", resolver=resolver, allow=NO_ALLOW)
        assert (checked.host, checked.port, checked.addresses) == (PUBLIC_V6, 8443, (PUBLIC_V6,))
        assert resolver.asked == []


class TestSchemesAndInjection:
    @pytest.mark.parametrize(
        "url",
        [
            "file:///etc/passwd", "file://github.com/r.git", "/srv/repos/r.git", "./r", "../r.git", "r.git",
            "ftp://github.com/r.git", "ext::sh -c touch% /tmp/pwned", "fd::17", "git+ssh://github.com/r.git",
            "-uhttps://github.com/r.git", "--upload-pack=touch /tmp/x", "ssh://-oProxyCommand=id/r.git",
            "git@-oProxyCommand=id:r.git", "ssh://git@github.com/-r.git", "git@github.com:--upload-pack=x",
            "https://user:pw@github.com/r.git", "https://token@github.com/r.git", "ssh://git:pw@github.com/r.git",
            "https://github.com\\@127.0.0.1/r.git", "https://github.com /r.git", "https://github.com/r.git\n",
            "https://github.com", "https://github.com/", "https://github.com:99999/r.git", "https://%6cocalhost/r",
            "https://[fe80::1%25eth0]/r.git", "https://github.com/r.git?x=1", "https://github.com/r.git#frag",
            "https://gith_ub.com/r.git", "", "x" * 3000,
        ],
    )  # fmt: skip
    def test_unsafe_forms_are_refused_before_any_lookup(self, url: str) -> None:
        resolver = FakeResolver({"github.com": [PUBLIC_V4]})
        with pytest.raises(UnsafeRepositoryUrl):
            check_repo_url(url, resolver=resolver, allow=NO_ALLOW)
        assert resolver.asked == []

    def test_accepted_forms_are_normalised(self) -> None:
        cases = {
            "https://GitHub.com./org/repo.git": ("https", "github.com", 443, "/org/repo.git", None),
            "ssh://git@github.com:2222/org/repo.git": ("ssh", "github.com", 2222, "/org/repo.git", "git"),
            "git@github.com:org/repo.git": ("ssh", "github.com", 22, "org/repo.git", "git"),
            "github.com:org/repo": ("ssh", "github.com", 22, "org/repo", None),
            "git://github.com/org/repo.git": ("git", "github.com", 9418, "/org/repo.git", None),
        }
        for url, expected in cases.items():
            checked = check(url)
            assert (checked.scheme, checked.host, checked.port, checked.path, checked.user) == expected
            assert checked.addresses == (PUBLIC_V4,) and checked.url == url

    def test_unresolvable_hosts_are_refused(self) -> None:
        assert "does not resolve" in refused("https://nowhere.invalid/r.git")
        assert "no address" in refused("https://github.com/r.git", [])
        assert "unreadable" in refused("https://github.com/r.git", ["not-an-ip"])


class TestAllowList:
    def test_plain_http_needs_an_allow_listed_host(self) -> None:
        assert "plain http" in refused("http://github.com/r.git")
        allow = AllowList.from_entries(["git.corp"])
        assert check("http://git.corp/r.git", ["10.1.2.3"], allow).allow_listed

    def test_a_network_entry_permits_internal_addresses(self) -> None:
        allow = AllowList.from_entries(["127.0.0.0/8", "fd00::/8", "10.9.0.0/16"])
        assert check("http://127.0.0.1:8080/git/r.git", allow=allow).addresses == ("127.0.0.1",)
        assert check("https://git.corp/r.git", ["10.9.1.1", "fd00::5"], allow).allow_listed
        assert "10.8.0.1" in refused("https://git.corp/r.git", ["10.9.1.1", "10.8.0.1"], allow)
        assert "plain http" in refused("http://git.corp/r.git", [PUBLIC_V4], allow)

    def test_a_host_entry_does_not_open_other_names(self) -> None:
        allow = AllowList.from_entries(["git.corp."])
        assert check("https://GIT.CORP/r.git", ["192.168.3.4"], allow).addresses == ("192.168.3.4",)
        refused("https://git.example.org/r.git", ["192.168.3.4"], allow)
        refused("https://localhost/r.git", allow=allow)
        assert check("https://localhost/r.git", ["127.0.0.1"], AllowList.from_entries(["localhost"]))


def test_the_system_resolver_reads_literals_without_dns() -> None:
    assert SystemResolver().resolve("127.0.0.1") == ["127.0.0.1"]
