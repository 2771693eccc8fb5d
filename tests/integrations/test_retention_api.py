"""Retention through the API against a real ``docker-registry``: dry run by default, apply on request,
protected tags kept, counts-only audit entries; plus a Nexus instance (fake Nexus 3) through the route."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import MakeUser, login
from tests.fakes.nexus import NexusState, create_app
from tests.fakes.server import serve
from tests.integrations.registry.images import push_image
from tests.servers.docker_registry import DockerRegistryServer, start_docker_registry
from timbel.audit.models import AuditEntry
from timbel.core.db import session_scope
from timbel.integrations import registry_of_adapters as adapters
from timbel.integrations import retention_service
from timbel.integrations.base import IntegrationKind
from timbel.integrations.nexus import NexusConfig, from_instance
from timbel.integrations.registry import DockerRegistry, RegistryConfig
from timbel.integrations.retention_routes import router

API = "/api/v1/integrations"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def routed(app: FastAPI) -> FastAPI:
    """The app with the retention router (the lead wires it into ``create_app``)."""
    if not any(getattr(r, "path", "") == f"{API}/{{integration_id}}/retention" for r in app.routes):
        app.include_router(router)
    return app


@pytest.fixture
def admin(routed: FastAPI, client: TestClient, make_user: MakeUser) -> dict[str, str]:
    """Bearer headers of an administrator."""
    return login(client, make_user(roles=("admin",)))


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[DockerRegistryServer]:
    """A real anonymous registry with deletion enabled."""
    server = start_docker_registry(tmp_path)
    yield server
    server.stop()


def push_versions(url: str, repository: str, count: int) -> dict[str, str]:
    """Push ``v1``…``vN`` built one hour apart; return tag → digest."""
    return {
        f"v{n}": push_image(url, repository, f"v{n}", created=T0 + timedelta(hours=n))
        for n in range(1, count + 1)
    }


def create_instance(client: TestClient, admin: dict[str, str], **body: Any) -> str:
    """Create an integration instance through the API; return its id."""
    response = client.post(API, json={"kind": "registry", "name": "registry-test"} | body, headers=admin)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def digests_left(url: str, repository: str, tags: dict[str, str]) -> dict[str, str | None]:
    """What each tag resolves to now (None when its manifest is gone)."""
    adapter = DockerRegistry(RegistryConfig(name="check", base_url=url))
    try:
        return {tag: adapter.digest(repository, tag) for tag in tags}
    finally:
        adapter.close()


def audit_rows(app: FastAPI, target_id: str) -> list[AuditEntry]:
    """Retention audit entries of one instance, oldest first."""
    with session_scope(app.state.session_factory) as session:
        query = select(AuditEntry).where(
            AuditEntry.action == retention_service.AUDIT_ACTION, AuditEntry.target_id == target_id
        )
        rows = list(session.scalars(query.order_by(AuditEntry.id)))
        session.expunge_all()
        return rows


class TestRegistryRetention:
    def test_dry_run_is_the_default_and_deletes_nothing(
        self, client: TestClient, routed: FastAPI, admin: dict[str, str], registry: DockerRegistryServer
    ) -> None:
        api = push_versions(registry.url, "shop/api", 4)
        web = push_versions(registry.url, "shop/web", 2)
        options = {"retention_keep_last": 2}
        instance = create_instance(client, admin, base_url=registry.url, options=options)

        response = client.post(f"{API}/{instance}/retention", headers=admin)  # no body: the defaults

        assert response.status_code == 200, response.text
        report = response.json()
        assert report["dry_run"] is True and report["keep_last"] == 2 and report["error"] is None
        by_repo = {r["repository"]: r for r in report["repositories"]}
        assert [t["tag"] for t in by_repo["shop/api"]["keep"]] == ["v4", "v3"]
        assert [(t["tag"], t["digest"]) for t in by_repo["shop/api"]["delete"]] == [
            ("v2", api["v2"]), ("v1", api["v1"]),
        ]  # fmt: skip
        assert by_repo["shop/web"]["delete"] == [] and by_repo["shop/api"]["deleted_digests"] == []
        assert digests_left(registry.url, "shop/api", api) == api
        assert digests_left(registry.url, "shop/web", web) == web
        [entry] = audit_rows(routed, instance)
        assert entry.outcome == "success"
        assert entry.changes == {
            "dry_run": True, "keep_last": 2, "repositories": 2, "kept": 4, "to_delete": 2, "deleted": 0,
            "failed": 0, "scheduled": False,
        }  # fmt: skip
        assert "v1" not in entry.summary and "sha256" not in str(entry.changes)

    def test_apply_deletes_exactly_the_planned_digests_and_keeps_protected_tags(
        self, client: TestClient, routed: FastAPI, admin: dict[str, str], registry: DockerRegistryServer
    ) -> None:
        api = push_versions(registry.url, "shop/api", 5)
        instance = create_instance(client, admin, base_url=registry.url)
        body = {"repository": "shop/api", "keep_last": 2, "protected": ["v1", api["v2"]]}
        planned = client.post(f"{API}/{instance}/retention", json=body, headers=admin).json()
        assert [t["tag"] for t in planned["repositories"][0]["delete"]] == ["v3"]

        applied = client.post(f"{API}/{instance}/retention", json=body | {"dry_run": False}, headers=admin)

        assert applied.status_code == 200, applied.text
        [repo] = applied.json()["repositories"]
        assert repo["deleted_digests"] == [api["v3"]]
        assert digests_left(registry.url, "shop/api", api) == {**api, "v3": None}
        assert [t["reason"] for t in repo["keep"]] == [
            "among the newest 2", "among the newest 2", "protected (deployed)", "protected (deployed)",
        ]  # fmt: skip
        assert audit_rows(routed, instance)[-1].changes["deleted"] == 1

    def test_protected_sources_are_kept(
        self,
        client: TestClient,
        admin: dict[str, str],
        registry: DockerRegistryServer,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        api = push_versions(registry.url, "shop/api", 3)
        monkeypatch.setattr(retention_service, "_PROTECTED_SOURCES", [])
        retention_service.register_protected_source(lambda _session, _settings, row: {"v1"})
        instance = create_instance(client, admin, base_url=registry.url, options={"retention_keep_last": 1})

        response = client.post(f"{API}/{instance}/retention", json={"dry_run": False}, headers=admin)

        assert response.json()["repositories"][0]["deleted_digests"] == [api["v2"]]
        assert digests_left(registry.url, "shop/api", api) == {**api, "v2": None}

    def test_refusals(
        self, client: TestClient, admin: dict[str, str], make_user: MakeUser, registry: DockerRegistryServer
    ) -> None:
        instance = create_instance(client, admin, base_url=registry.url)
        missing = client.post(f"{API}/{instance}/retention", json={}, headers=admin)
        assert missing.status_code == 422 and missing.json()["errors"][0]["loc"] == ["body", "keep_last"]
        assert (
            client.post(f"{API}/{instance}/retention", json={"keep_last": -1}, headers=admin).status_code
            == 422
        )
        assert client.post(f"{API}/nope/retention", json={"keep_last": 1}, headers=admin).status_code == 404
        other = client.post(
            API, json={"kind": "prometheus", "name": "prom", "base_url": "http://127.0.0.1:9"}, headers=admin
        ).json()["id"]
        wrong_kind = client.post(f"{API}/{other}/retention", json={"keep_last": 1}, headers=admin)
        assert wrong_kind.status_code == 422
        operator = login(client, make_user(roles=("operations",)))
        assert client.post(f"{API}/{instance}/retention", json={}, headers=operator).status_code == 403

    def test_unknown_retention_options_are_refused_by_the_config_model(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        response = client.post(
            API, json={"kind": "registry", "name": "r", "base_url": "http://127.0.0.1:9",
                       "options": {"retention_keep_latest": 3}}, headers=admin,
        )  # fmt: skip
        assert response.status_code == 422


def test_nexus_instance_retention_through_the_api(
    client: TestClient, routed: FastAPI, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    table = adapters._ADAPTERS
    monkeypatch.setitem(table, IntegrationKind.nexus, table.get(IntegrationKind.nexus))  # restored after
    adapters.register_adapter(IntegrationKind.nexus, from_instance, config=NexusConfig)
    state = NexusState(users={"deployer": "Amber-Walrus-77"}, page_size=3)
    state.add_repository("docker-hosted")
    for n in range(1, 5):
        state.add_image("docker-hosted", "shop/api", f"v{n}", created=T0 + timedelta(days=n))
    with serve(create_app(state)) as nexus:
        instance = create_instance(
            client, admin, kind="nexus", name="nexus-test", base_url=nexus.base_url,
            options={"repository": "docker-hosted", "username": "deployer", "retention_keep_last": 1},
            secrets={"password": "Amber-Walrus-77"},
        )  # fmt: skip
        dry = client.post(f"{API}/{instance}/retention", json={}, headers=admin).json()
        assert [t["tag"] for t in dry["repositories"][0]["delete"]] == ["v3", "v2", "v1"]
        assert len(state.components) == 4
        applied = client.post(f"{API}/{instance}/retention", json={"dry_run": False}, headers=admin).json()
        assert len(applied["repositories"][0]["deleted_digests"]) == 3
        assert [c["version"] for c in state.components] == ["v4"]
        deletes = [c for c in nexus.recorder.calls() if c.startswith("DELETE")]
        assert len(deletes) == 3
