"""A planted secret, saved through the admin pages and the API (real Prometheus and a real Basic-auth
registry on loopback, plus an adapter that wrongly echoes it), never appears in any page, API answer,
audit entry, log line or error page."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, SecretStr
from sqlalchemy import select

from tests.conftest import MakeUser, login
from tests.servers import free_port
from tests.servers.docker_registry import DockerRegistryServer, start_docker_registry
from tests.servers.prometheus import PrometheusServer, start_prometheus
from tests.web.conftest import page_token, post_form, sign_in
from timbel.audit.models import AuditEntry
from timbel.core.errors import IntegrationAuthError
from timbel.integrations import registry_of_adapters as adapters
from timbel.integrations import service
from timbel.integrations.base import Check, ConnectionReport, IntegrationKind
from timbel.integrations.models import Integration

PLANTED = "planted-page-secret-4c8d20"
PAGE = "/admin/integrations"
API = "/api/v1/integrations"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A real Prometheus on loopback."""
    server = start_prometheus(tmp_path_factory.mktemp("prometheus-planted"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[DockerRegistryServer]:
    """A real registry whose only user's password is the planted secret."""
    server = start_docker_registry(tmp_path, users={"ci": PLANTED})
    try:
        yield server
    finally:
        server.stop()


class EchoConfig(BaseModel):
    """Config of the careless adapter below."""

    model_config = ConfigDict(extra="forbid")

    name: str
    base_url: str
    token: SecretStr | None = None


class EchoAdapter:
    """An adapter that (wrongly) puts its token in check details, the version and an error."""

    def __init__(self, config: adapters.InstanceConfig) -> None:
        self.config = config

    def test_connection(self) -> ConnectionReport:
        token = self.config.secrets.get("token", "")
        if self.config.base_url.endswith(":9"):
            raise IntegrationAuthError(f"{self.config.name}: token {token} refused")
        return ConnectionReport(
            checks=[Check("reachable", True, f"sent {token}"), Check("authentication", False, f"{token}?")],
            version=f"v-{token}",
        )


@pytest.fixture
def echo_kind(app: FastAPI) -> Iterator[IntegrationKind]:
    """A kind served by the echoing adapter for this test (a shipped adapter is put back afterwards)."""
    registered = adapters.registered_kinds()
    kind = next((k for k in IntegrationKind if k not in registered), IntegrationKind.notify)
    saved = adapters._ADAPTERS.get(kind)
    adapters.register_adapter(kind, EchoAdapter, config=EchoConfig)
    try:
        yield kind
    finally:
        adapters._ADAPTERS.pop(kind, None)
        if saved is not None:
            adapters._ADAPTERS[kind] = saved


def test_planted_secret_never_shown(
    client: TestClient,
    app: FastAPI,
    make_user: MakeUser,
    prometheus: PrometheusServer,
    registry: DockerRegistryServer,
    echo_kind: IntegrationKind,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = make_user(roles=("admin",))
    sign_in(client, admin)
    headers = login(client, admin)
    seen: list[str] = []

    def page_post(path: str, data: dict[str, object], token_from: str, status: int = 303) -> str:
        response = post_form(client, path, data, token_from=token_from)
        assert response.status_code == status, response.text
        seen.append(response.text)
        return str(response.headers.get("location", ""))

    new = f"{PAGE}/new?kind="
    prom = page_post(
        f"{PAGE}/new",
        {
            "kind": "prometheus",
            "name": "prom",
            "base_url": prometheus.url,
            "opt.username": "kim",
            "secret.password": PLANTED,
            "secret.bearer_token": PLANTED,
        },
        f"{new}prometheus",
    )
    reg = page_post(
        f"{PAGE}/new",
        {
            "kind": "registry",
            "name": "reg",
            "base_url": registry.url,
            "opt.username": "ci",
            "secret.password": PLANTED,
            "opt.retries": "0",
        },
        f"{new}registry",
    )
    echo = page_post(
        f"{PAGE}/new",
        {"kind": echo_kind.value, "name": "echo", "base_url": "http://127.0.0.1:8", "secret.token": PLANTED},
        f"{new}{echo_kind.value}",
    )
    # Refused forms (bad name, out of range, taken name) carrying the secret: re-rendered without it.
    page_post(
        f"{PAGE}/new",
        {"kind": "registry", "name": "Bad Name", "base_url": registry.url, "secret.password": PLANTED},
        f"{new}registry",
        status=422,
    )
    page_post(
        f"{PAGE}/new",
        {"kind": "registry", "name": "reg", "base_url": registry.url, "secret.password": PLANTED},
        f"{new}registry",
        status=422,
    )
    page_post(
        reg,
        {"name": "reg", "base_url": registry.url, "opt.retries": "99", "secret.password": PLANTED},
        reg,
        status=422,
    )
    page_post(
        reg,
        {
            "name": "reg",
            "base_url": registry.url,
            "opt.username": "ci",
            "opt.retries": "0",
            "secret.password": PLANTED,
        },
        reg,
    )
    # Through the API too (an instance of the echoing kind that fails with the token in its error).
    created = client.post(
        f"{API}",
        headers=headers,
        json={
            "kind": echo_kind.value,
            "name": "echo-api",
            "base_url": "http://127.0.0.1:9",
            "secrets": {"token": PLANTED},
        },
    )
    assert created.status_code == 201, created.text
    refused = client.post(
        f"{API}",
        headers=headers,
        json={
            "kind": "registry",
            "name": "reg-api",
            "base_url": f"http://ci:{PLANTED}@127.0.0.1:{free_port()}",
            "secrets": {"password": PLANTED},
        },
    )
    assert refused.status_code == 422
    seen += [created.text, refused.text]

    with app.state.session_factory() as session:
        rows = {r.name: r.id for r in session.scalars(select(Integration))}
    for name in ("prom", "reg", "echo", "echo-api"):
        tested = post_form(client, f"{PAGE}/{rows[name]}/test", {}, token_from=PAGE)
        assert tested.status_code == 200
        seen.append(tested.text)
        if name in ("prom", "reg"):
            assert "연결 성공" in tested.text, tested.text
        else:
            assert "연결 실패" in tested.text and service.MASK in tested.text
        seen.append(client.post(f"{API}/{rows[name]}/test", headers=headers).text)
        seen += [
            client.get(f"{PAGE}/{rows[name]}").text,
            client.get(f"{API}/{rows[name]}", headers=headers).text,
        ]
    assert prom and echo
    for path, auth in (
        (PAGE, {}),
        (API, headers),
        (f"{API}/kinds", headers),
        ("/admin/audit", {}),
        ("/api/v1/audit", headers),
    ):
        response = client.get(path, headers=auth)
        assert response.status_code == 200, path
        seen.append(response.text)
    seen.append(client.get(f"{PAGE}/00000000-0000-4000-8000-000000000000").text)  # the 404 page
    token = page_token(client, PAGE)
    forged = client.post(
        f"{PAGE}/new",
        data={"kind": "registry", "name": "x", "secret.password": PLANTED, "csrf_token": token + "x"},
    )
    assert forged.status_code == 403
    seen.append(forged.text)
    with app.state.session_factory() as session:
        columns = AuditEntry.__table__.columns
        audit = [
            json.dumps({c.name: getattr(e, c.key) for c in columns}, default=str)
            for e in session.scalars(select(AuditEntry))
        ]
        stored = [
            json.dumps([r.options, r.last_error, r.base_url]) for r in session.scalars(select(Integration))
        ]
    assert sum('"integration.test"' in a for a in audit) == 8 and any(
        '"integration.update"' in a for a in audit
    )
    for index, text in enumerate(seen + audit + stored + [caplog.text]):
        assert PLANTED not in text, f"planted secret leaked in item {index}: {text[:300]}"
