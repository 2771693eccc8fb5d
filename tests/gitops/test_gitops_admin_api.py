"""The GitOps admin API: repositories (write-only secrets, URL checks, the fixed default URL) and the
per-domain environment mapping that ``repository_for`` follows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import MakeUser, login
from timbel.audit.models import AuditEntry
from timbel.gitops import service as gitops_service
from timbel.gitops.models import GitOpsRepository

SECRET = "planted-gitops-token-9c2e"
NEW_SECRET = "replacement-token-41bd"
REPOS = "/api/v1/gitops/repositories"
TARGETS = "/api/v1/gitops/targets"
BAD_URLS = ("file:///srv/gitops.git", "https://kim:pw@git.example.com/ops.git", "ext::sh -c touch% /tmp/x")


@pytest.fixture
def admin(client: TestClient, make_user: MakeUser) -> dict[str, str]:
    """Bearer headers of an administrator."""
    return login(client, make_user(roles=("admin",)))


def _create(client: TestClient, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    payload = {"name": "prod", "url": "https://git.example.com/ops/prod.git", "auth": "token"} | body
    response = client.post(REPOS, json=payload, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _stored_secret(app: FastAPI, name: str) -> str | None:
    with app.state.session_factory() as session:
        row = session.scalar(select(GitOpsRepository).where(GitOpsRepository.name == name))
        assert row is not None
        creds = gitops_service.credentials_of(row, settings=app.state.settings)
        return None if creds is None else creds.token or creds.ssh_private_key


class TestRepositories:
    def test_secret_is_write_only_kept_replaced_and_cleared(
        self, client: TestClient, app: FastAPI, admin: dict[str, str]
    ) -> None:
        created = _create(client, admin, secret=SECRET, username="bot")
        assert SECRET not in str(created) and created["has_secret"] is True
        path = f"{REPOS}/{created['id']}"
        kept = client.patch(
            path, json={"branch": "release", "url": "ssh://git@git.example.com/ops.git"}, headers=admin
        )
        assert kept.status_code == 200, kept.text
        assert kept.json()["branch"] == "release" and kept.json()["has_secret"] is True
        assert _stored_secret(app, "prod") == SECRET
        replaced = client.patch(path, json={"secret": NEW_SECRET}, headers=admin)
        assert replaced.json()["has_secret"] is True and _stored_secret(app, "prod") == NEW_SECRET
        cleared = client.patch(path, json={"secret": ""}, headers=admin)
        assert cleared.json()["has_secret"] is False and _stored_secret(app, "prod") is None
        listed = client.get(REPOS, headers=admin)
        assert {r["name"] for r in listed.json()} == {"default", "prod"}
        for response in (kept, replaced, cleared, listed):
            assert SECRET not in response.text and NEW_SECRET not in response.text
        with app.state.session_factory() as session:
            audit = [str(e.changes) for e in session.scalars(select(AuditEntry))]
        assert any("release" in a for a in audit)
        assert not any(SECRET in a or NEW_SECRET in a for a in audit)

    def test_the_default_repository_keeps_its_url(self, client: TestClient, admin: dict[str, str]) -> None:
        default = next(r for r in client.get(REPOS, headers=admin).json() if r["name"] == "default")
        path = f"{REPOS}/{default['id']}"
        moved = client.patch(path, json={"url": "https://git.example.com/elsewhere.git"}, headers=admin)
        assert moved.status_code == 409, moved.text
        same = client.patch(path, json={"url": default["url"], "branch": "trunk"}, headers=admin)
        assert same.status_code == 200 and same.json()["branch"] == "trunk"
        assert _create(client, admin, name="prod")["name"] == "prod"
        duplicate = client.post(
            REPOS, json={"name": "default", "url": "https://h.example/x.git"}, headers=admin
        )
        assert duplicate.status_code == 409

    @pytest.mark.parametrize("url", BAD_URLS)
    def test_unsafe_urls_are_refused_with_the_field(
        self, client: TestClient, admin: dict[str, str], url: str
    ) -> None:
        created = client.post(REPOS, json={"name": "bad", "url": url}, headers=admin)
        assert created.status_code == 422, created.text
        assert created.json()["errors"][0]["loc"] == ["body", "url"]
        good = _create(client, admin)
        patched = client.patch(f"{REPOS}/{good['id']}", json={"url": url}, headers=admin)
        assert patched.status_code == 422 and patched.json()["errors"][0]["loc"] == ["body", "url"]

    def test_unknown_repository_is_404(self, client: TestClient, admin: dict[str, str]) -> None:
        assert client.patch(f"{REPOS}/nope", json={"branch": "x"}, headers=admin).status_code == 404


class TestTargets:
    def test_mapping_is_listed_and_followed_by_repository_for(
        self,
        client: TestClient,
        app: FastAPI,
        admin: dict[str, str],
        make_domain: Callable[[str], str],
    ) -> None:
        acme, other = make_domain("acme"), make_domain("other")
        prod = _create(client, admin)
        put = client.put(
            TARGETS, json={"domain_id": acme, "env": "prod", "repository_id": prod["id"]}, headers=admin
        )
        assert put.status_code == 200, put.text
        listed = client.get(TARGETS, params={"domain_id": acme}, headers=admin).json()
        assert listed == [{"domain_id": acme, "env": "prod", "repository_id": prod["id"]}]
        assert client.get(TARGETS, params={"domain_id": other}, headers=admin).json() == []
        assert len(client.get(TARGETS, headers=admin).json()) == 1
        settings = app.state.settings
        with app.state.session_factory() as session:
            assert _repo_for(session, settings, acme, "prod") == "prod"
            assert _repo_for(session, settings, acme, "dev") == "default"
            assert _repo_for(session, settings, other, "prod") == "default"
        back = client.put(
            TARGETS, json={"domain_id": acme, "env": "prod", "repository_id": None}, headers=admin
        )
        assert back.status_code == 204
        assert client.get(TARGETS, params={"domain_id": acme}, headers=admin).json() == []
        with app.state.session_factory() as session:
            assert _repo_for(session, settings, acme, "prod") == "default"
        unknown = {"domain_id": acme, "env": "prod", "repository_id": "nope"}
        assert client.put(TARGETS, json=unknown, headers=admin).status_code == 404

    def test_non_admins_get_403(
        self,
        client: TestClient,
        admin: dict[str, str],
        make_user: MakeUser,
        make_domain: Callable[[str], str],
    ) -> None:
        repo = _create(client, admin)
        ops = login(client, make_user(roles=("operations",)))
        assert client.get(TARGETS, headers=ops).status_code == 403
        assert client.patch(f"{REPOS}/{repo['id']}", json={"branch": "x"}, headers=ops).status_code == 403
        body = {"domain_id": make_domain("acme"), "env": "dev", "repository_id": repo["id"]}
        assert client.put(TARGETS, json=body, headers=ops).status_code == 403


def _repo_for(session: Session, settings: Any, domain_id: str, env: str) -> str:
    return gitops_service.repository_for(session, settings=settings, domain_id=domain_id, env=env).name
