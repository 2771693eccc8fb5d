"""Real ``docker-registry`` servers on loopback: anonymous, Basic (htpasswd) and Bearer (token service)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers.docker_registry import DockerRegistryServer, TokenIssuer, start_docker_registry
from timbel.integrations.registry import DockerRegistry, RegistryConfig

USERS = {"alice": "Amber-Walrus-77", "reader": "Quiet-Heron-31"}


class RecordingTransport(httpx.HTTPTransport):
    """A real transport that remembers every request the adapter sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return super().handle_request(request)


def reader_grant(user: str, kind: str, name: str, actions: list[str]) -> list[str]:
    """``reader`` may pull repositories but not list the catalog, push or delete; others get everything."""
    if user != "reader":
        return actions
    return [a for a in actions if kind == "repository" and a == "pull"]


def make_adapter(url: str, transport: httpx.BaseTransport | None = None, **options: object) -> DockerRegistry:
    """An adapter for a test registry (no retry sleeps)."""
    config = RegistryConfig.model_validate(
        {"name": "test-registry", "base_url": url, "backoff_seconds": 0, **options}
    )
    return DockerRegistry(config, transport=transport)


@pytest.fixture
def registry_server(tmp_path: Path) -> Iterator[DockerRegistryServer]:
    """An anonymous registry with deletion enabled."""
    server = start_docker_registry(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def basic_registry(tmp_path: Path) -> Iterator[DockerRegistryServer]:
    """A registry behind htpasswd Basic auth (the stand-in for Nexus-style auth)."""
    server = start_docker_registry(tmp_path, users=USERS)
    yield server
    server.stop()


@pytest.fixture
def token_issuer() -> Iterator[TokenIssuer]:
    """A loopback token service the token registry trusts."""
    issuer = TokenIssuer(users=USERS, grant=reader_grant).start()
    yield issuer
    issuer.stop()


@pytest.fixture
def token_registry(tmp_path: Path, token_issuer: TokenIssuer) -> Iterator[DockerRegistryServer]:
    """A registry using Docker token auth (``WWW-Authenticate: Bearer realm=…``)."""
    server = start_docker_registry(tmp_path, token=token_issuer)
    yield server
    server.stop()
