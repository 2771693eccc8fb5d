"""Fixtures of the releases / environments / CLI tests (helper D): an app with these routers, a real git
repository with commits, a real docker-registry with pushed images, registry and Argo CD instances."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import MakeUser, login
from tests.servers.docker_registry import DockerRegistryServer, start_docker_registry

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Kim Minji",
    "GIT_AUTHOR_EMAIL": "minji@example.com",
    "GIT_COMMITTER_NAME": "Kim Minji",
    "GIT_COMMITTER_EMAIL": "minji@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity; return stdout."""
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@dataclass
class SourceRepo:
    """A real local git repository with a few commits on main (oldest first)."""

    path: Path
    commits: list[str]
    subjects: list[str]

    def commit(self, subject: str) -> str:
        """Add a commit; return its SHA."""
        (self.path / "history.txt").open("a").write(subject + "\n")
        git(self.path, "add", "history.txt")
        git(self.path, "commit", "-q", "-m", subject)
        sha = git(self.path, "rev-parse", "HEAD")
        self.commits.append(sha)
        self.subjects.append(subject)
        return sha


@pytest.fixture
def source_repo(tmp_path: Path) -> SourceRepo:
    """A repository with three commits: 첫 커밋, add api, fix login."""
    path = tmp_path / "source"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    repo = SourceRepo(path, [], [])
    for subject in ("첫 커밋", "add api", "fix login"):
        repo.commit(subject)
    return repo


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[DockerRegistryServer]:
    """A real anonymous docker-registry on loopback."""
    server = start_docker_registry(tmp_path / "registry")
    yield server
    server.stop()


def admin_headers(client: TestClient, make_user: MakeUser) -> dict[str, str]:
    """Bearer headers of a fresh administrator."""
    return login(client, make_user(roles=("admin",)))


def create_instance(client: TestClient, headers: dict[str, str], **body: Any) -> str:
    """Create an integration instance through the API; return its id."""
    answer = client.post("/api/v1/integrations", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def registry_instance(client: TestClient, headers: dict[str, str], url: str, **extra: Any) -> str:
    """A default registry instance for ``url`` (no retry back-off)."""
    body = {
        "kind": "registry",
        "name": "registry-rel",
        "base_url": url,
        "is_default": True,
        "options": {"backoff_seconds": 0, "retries": 0, "connect_timeout_seconds": 1},
    } | extra
    return create_instance(client, headers, **body)


Factory = Callable[..., Any]


def integration_row(app: FastAPI, *, kind: str, name: str, domain_id: str | None = None) -> str:
    """An integration instance straight in the database (environments only check that it exists)."""
    from timbel.core.db import session_scope
    from timbel.integrations.models import Integration

    with session_scope(app.state.session_factory) as session:
        row = Integration(kind=kind, name=name, base_url=f"https://{name}.example.com", domain_id=domain_id)
        session.add(row)
        session.flush()
        return row.id
