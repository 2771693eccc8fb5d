"""Fixtures of the execution engine tests: a domain/system with releases, an enqueue recorder, a fake Argo CD
whose branches resolve to the real GitOps commits, and ``python -m tests.deployments._exec_support`` to run
one execution in a child process (killed by the resume test).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fakes.argocd import DEFAULT_NAMESPACE, FakeArgoCD
from tests.fakes.server import RunningFake, serve
from timbel.audit.service import AuditContext
from timbel.catalog.models import Domain, System
from timbel.core.db import session_scope
from timbel.core.settings import Settings
from timbel.deployments import flows, service
from timbel.deployments.models import Deployment, DeploymentKind, DeploymentState, Environment, Release
from timbel.deployments.values import images_values
from timbel.gitops import service as gitops
from timbel.integrations import service as integrations
from timbel.integrations.models import Integration
from timbel.integrations.schemas import IntegrationCreate

POLL = 0.01
TOKEN = "argo-account-token-for-tests"
GOLDEN_VALUES = Path(__file__).resolve().parents[1] / "scaffold/golden/helm/acme/shop/envs/dev/values.yaml"
GOLDEN_CHART = GOLDEN_VALUES.parents[2] / "chart"


def git(*args: str, cwd: Path | None = None) -> str:
    """Plain git (no user config) as a person or a test reads the repository."""
    env = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": "/nonexistent",
           "PATH": "/usr/bin:/bin", "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@x",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@x"}  # fmt: skip
    argv = ["git", "-c", "protocol.file.allow=always", *(["-C", str(cwd)] if cwd else []), *args]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


class GitArgoCD(FakeArgoCD):
    """The fake Argo CD, but a branch resolves to the commit the real GitOps repository has on it."""

    def _resolve(self, app: dict[str, Any], revision: str | None) -> str:
        source = app["spec"].get("source") or {}
        wanted = revision or str(source.get("targetRevision") or "HEAD")
        if len(wanted) == 40:
            return wanted
        out = git("ls-remote", str(source["repoURL"]), f"refs/heads/{wanted}")
        return out.split()[0] if out.strip() else super()._resolve(app, revision)


@dataclass
class World:
    """One domain ``acme`` with system ``shop``, releases v1..v3, and an enqueue recorder."""

    app: FastAPI
    settings: Settings
    factory: sessionmaker[Session]
    domain_id: str
    system_id: str
    releases: dict[str, str] = field(default_factory=dict)
    enqueued: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def enqueue(self, name: str, /, **kwargs: Any) -> str:
        """Record a job instead of running it."""
        self.enqueued.append((name, kwargs))
        return f"task-{len(self.enqueued)}"

    def executes(self) -> list[str]:
        """Deployment ids enqueued for execution, in order."""
        return [kw["deployment_id"] for name, kw in self.enqueued if name == service.EXECUTE_JOB]

    def env(self, name: str, **fields: Any) -> None:
        """Change an environment's settings."""
        with session_scope(self.factory) as session:
            row = service.get_environment(session, domain_id=self.domain_id, name=name)
            for key, value in fields.items():
                setattr(row, key, value)

    def deploy(self, env: str, version: str, *, kind: DeploymentKind = DeploymentKind.deploy,
               reason: str = "ship the new checkout", requested_by: str = "kim") -> str:  # fmt: skip
        """Create an approved deployment (as the actions do) and return its id."""
        with session_scope(self.factory) as session:
            row = service.create_deployment(
                session, system=session.get(System, self.system_id),
                environment=service.get_environment(session, domain_id=self.domain_id, name=env),
                release=session.get(Release, self.releases[version]), kind=kind,
                state=DeploymentState.approved,
                requested_by_id=None, requested_by=requested_by, reason=reason, enqueue=self.enqueue,
            )  # fmt: skip
            return row.id

    def run(self, deployment_id: str) -> dict[str, Any]:
        """Execute a deployment in this process with the test's poll interval."""
        return flows.execute(
            self.factory, settings=self.settings, deployment_id=deployment_id, enqueue=self.enqueue
        )

    def run_all(self, first: str) -> list[dict[str, Any]]:
        """Execute ``first`` and every deployment it enqueues (an automatic rollback), in order."""
        results, queue, seen = [], [first], set()
        while queue:
            current = queue.pop(0)
            before = len(self.enqueued)
            results.append(self.run(current))
            seen.add(current)
            queue += [i for i in self.executes()[before:] if i not in seen]
            queue += [i for n, kw in self.enqueued[before:] if n == service.EXECUTE_JOB
                      for i in [kw["deployment_id"]] if i not in seen and i not in queue]  # fmt: skip
            queue = list(dict.fromkeys(queue))
        return results

    def get(self, deployment_id: str) -> Deployment:
        """A fresh copy of a deployment."""
        with session_scope(self.factory) as session:
            row = session.get(Deployment, deployment_id)
            assert row is not None
            session.expunge(row)
            return row

    def system(self) -> System:
        """A fresh copy of the system."""
        with session_scope(self.factory) as session:
            row = session.get(System, self.system_id)
            assert row is not None
            session.expunge(row)
            return row

    def gitops_url(self) -> str:
        """The URL of the repository holding the environments (the embedded default unless mapped)."""
        with session_scope(self.factory) as session:
            return gitops.repository_for(
                session, settings=self.settings, domain_id=self.domain_id, env="dev"
            ).url

    def seed_values(self, env: str, text: str) -> str:
        """Commit a values file as Timbel's scaffold delivery would (header + operation trailer)."""
        from timbel.gitops import CommitMessage, commit_files, push

        with session_scope(self.factory) as session:
            row = gitops.repository_for(session, settings=self.settings, domain_id=self.domain_id, env=env)
            repo = gitops.open_row(row, settings=self.settings)
        files = {f"acme/shop/envs/{env}/values.yaml": text}
        if env == "dev":
            files |= {f"acme/shop/chart/{p.relative_to(GOLDEN_CHART)}": p.read_text()
                      for p in GOLDEN_CHART.rglob("*") if p.is_file()}  # fmt: skip
        message = CommitMessage(
            what="Scaffold shop", who="kim", why="first delivery", operation_id="scaffold-1"
        )
        commit_files(repo, files=files, message=message)
        return str(push(repo).sha)


def make_world(app: FastAPI, settings: Settings) -> World:
    """The domain, system, default environments (GitOps only, fast timings) and three releases."""
    settings.deployments.poll_seconds = POLL
    factory: sessionmaker[Session] = app.state.session_factory
    with session_scope(factory) as session:
        domain = Domain(code="acme", name="Acme")
        session.add(domain)
        session.flush()
        system = System(domain_id=domain.id, slug="shop", name="Shop")
        session.add(system)
        session.flush()
        for env in service.environments_for(session, domain_id=domain.id):
            env.health_timeout_seconds, env.verify_window_seconds = 5, 0
        releases = {}
        for n in (1, 2, 3):
            images = [{"service": s, "repository": f"registry.example.com/acme/shop-{s}", "tag": f"1.{n}.0",
                       "digest": None} for s in ("api", "web")]  # fmt: skip
            row = Release(system_id=system.id, version=f"v{n}", source_commit=f"{n}" * 40, images=images,
                          values=images_values(images), created_by="kim")  # fmt: skip
            session.add(row)
            session.flush()
            releases[row.version] = row.id
        return World(app, settings, factory, domain.id, system.id, releases)


@pytest.fixture(name="world")
def world_fixture(app: FastAPI, settings: Settings) -> World:
    """A fresh world on the test database."""
    return make_world(app, settings)


@pytest.fixture(name="argo")
def argo_fixture(world: World) -> Iterator[tuple[GitArgoCD, RunningFake]]:
    """A fake Argo CD serving ``acme-shop-dev`` from the GitOps repository, wired to the dev environment."""
    fake = GitArgoCD(tokens={TOKEN: "admin"})
    with serve(fake.asgi()) as running:
        add_application(fake, "acme-shop-dev", world.gitops_url())
        with session_scope(world.factory) as session:
            row = integrations.create(
                session, settings=world.settings,
                data=IntegrationCreate(kind="argocd", name="argo", base_url=running.base_url,  # type: ignore[arg-type]
                                       options={"project": "default"}, secrets={"token": TOKEN}),  # type: ignore[dict-item]
                ctx=AuditContext(actor_name="test"),
            )  # fmt: skip
            integration_id = row.id
        world.env("dev", target_kind="argocd", argocd_integration_id=integration_id)
        yield fake, running


def add_application(fake: FakeArgoCD, name: str, repo_url: str) -> None:
    """Store an Application that deploys ``acme/shop/chart`` with the dev values from ``main``."""
    fake.apps[(DEFAULT_NAMESPACE, name)] = {
        "metadata": {"name": name, "namespace": DEFAULT_NAMESPACE},
        "spec": {"project": "default", "source": {"repoURL": repo_url, "targetRevision": "main",
                                                  "path": "acme/shop/chart"},
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": name}},
        "status": {"sync": {"status": "OutOfSync", "revision": ""}, "health": {"status": "Missing"},
                   "history": []},
    }  # fmt: skip


def add_channel(world: World) -> str:
    """A notification channel subscribed to every event (deliveries are logged, never sent here)."""
    with session_scope(world.factory) as session:
        row = Integration(kind="notify", name="ops-chat", base_url="json://127.0.0.1:9/hook", options={},
                          secret_fields=[])  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def states(world: World, deployment_id: str) -> list[str]:
    """A deployment's state history as ``from→to``."""
    with session_scope(world.factory) as session:
        return [f"{c.from_state}→{c.to_state}" for c in service.history(session, deployment_id=deployment_id)]


def remote_log(world: World, path: str = "acme/shop/envs") -> list[str]:
    """Full commit messages touching ``path`` on the remote, newest first."""
    with session_scope(world.factory) as session:
        row = gitops.repository_for(session, settings=world.settings, domain_id=world.domain_id, env="dev")
        url = row.url
    out = git("log", "--format=%B%x00", "main", "--", path, cwd=Path(url)) if url.startswith("/") else ""
    return [m.strip() for m in out.split("\x00") if m.strip()]


def child_execute(world: World, deployment_id: str) -> subprocess.Popen[bytes]:
    """Start ``execute`` for a deployment in a child process (same database, data dir and settings)."""
    spec = {"database_url": world.settings.database_url, "data_dir": str(world.settings.data_dir),
            "deployment_id": deployment_id}  # fmt: skip
    root = Path(__file__).resolve().parents[2]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.deployments._exec_support", json.dumps(spec)], cwd=root
    )


def _child(spec: dict[str, Any]) -> None:
    from tests.conftest import TEST_SECRET
    from timbel.core.db import create_db_engine, create_session_factory
    from timbel.core.settings import Environment as AppEnv
    from timbel.core.settings import JobSettings, prepare_settings
    from timbel.integrations.builtin import register_builtin_adapters

    settings = prepare_settings(
        Settings(env=AppEnv.test, data_dir=Path(spec["data_dir"]), database_url=spec["database_url"],
                 secret_key=TEST_SECRET, jobs=JobSettings(immediate=True, embedded_consumer=False))  # type: ignore[arg-type]
    )  # fmt: skip
    settings.deployments.poll_seconds = POLL
    register_builtin_adapters()
    factory = create_session_factory(create_db_engine(settings.effective_database_url))
    flows.execute(
        factory, settings=settings, deployment_id=spec["deployment_id"], enqueue=lambda *a, **k: "x"
    )


def wait_for(predicate: Any, *, timeout: float = 10.0) -> None:
    """Poll ``predicate`` until true (fails the test after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def current_env(world: World, name: str) -> Environment:
    """A fresh copy of an environment row."""
    with session_scope(world.factory) as session:
        row = session.scalar(
            select(Environment).where(Environment.domain_id == world.domain_id, Environment.name == name)
        )
        assert row is not None
        session.expunge(row)
        return row


if __name__ == "__main__":
    _child(json.loads(sys.argv[1]))
