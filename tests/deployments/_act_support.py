"""Fixtures for the deployment action tests (helper B): a wired app, releases, succeeded deployments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import Account, MakeUser, login
from timbel.catalog.models import System
from timbel.core.db import AFTER_COMMIT, new_id, session_scope
from timbel.deployments import service
from timbel.deployments.models import Deployment, DeploymentKind, DeploymentState, Release


@dataclass
class Enqueued:
    """Jobs the code under test asked for (nothing runs: no execution engine needed)."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, name: str, /, **kwargs: Any) -> str:
        self.calls.append((name, kwargs))
        return new_id()

    def executions(self) -> list[str]:
        """Deployment ids whose execution was enqueued."""
        return [k["deployment_id"] for n, k in self.calls if n == service.EXECUTE_JOB]


@dataclass
class World:
    """Two domains with one system each, and users of every role per domain."""

    app: FastAPI
    client: TestClient
    enqueued: Enqueued
    domain: str
    other_domain: str
    system: str
    other_system: str
    users: dict[str, Account]
    make_user: MakeUser
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        """Bearer headers for a named user (role name, or e.g. 'other-operations')."""
        if who not in self.tokens:
            self.tokens[who] = login(self.client, self.account(who))
        return self.tokens[who]

    def account(self, who: str) -> Account:
        """The user named ``who`` ("admin", "operations2", "other-viewer", …), created on first use."""
        if who not in self.users:
            other = who.startswith("other-")
            role = who.removeprefix("other-").rstrip("0123456789")
            domain = self.other_domain if other else self.domain
            self.users[who] = self.make_user(f"u-{who}", roles=(role,), domain_ids=(domain,))
        return self.users[who]

    def release(self, version: str, *, system: str | None = None, **fields: Any) -> str:
        """Create a release of a system and return its id."""
        with session_scope(self.app.state.session_factory) as session:
            row = Release(
                system_id=system or self.system,
                version=version,
                source_commit=fields.pop("source_commit", "a" * 40),
                images=fields.pop(
                    "images",
                    [
                        {
                            "service": "api",
                            "repository": "reg/api",
                            "tag": version,
                            "digest": "sha256:" + "b" * 64,
                        }
                    ],
                ),
                created_by="test",
                **fields,
            )
            session.add(row)
            session.flush()
            return row.id

    def succeeded(
        self, env: str, release_id: str, *, system: str | None = None, finished_at: datetime | None = None
    ) -> str:
        """Record a deployment of a release that went through to succeeded (as the engine would)."""
        with session_scope(self.app.state.session_factory) as session:
            system_row = session.get(System, system or self.system)
            assert system_row is not None
            environment = service.get_environment(session, domain_id=system_row.domain_id, name=env)
            release = service.get_release(session, release_id=release_id)
            row = service.create_deployment(
                session, system=system_row, environment=environment, release=release,
                kind=DeploymentKind.deploy, state=DeploymentState.approved, requested_by_id=None,
                requested_by="fixture", reason="fixture", enqueue=lambda *a, **k: "",
            )  # fmt: skip
            session.info.pop(AFTER_COMMIT, None)
            for state in (DeploymentState.syncing, DeploymentState.verifying, DeploymentState.succeeded):
                done = service.transition(session, deployment_id=row.id, to=state, reason="fixture")
                assert done.accepted, done
            if finished_at is not None:
                row.finished_at = finished_at
            return row.id

    def deployment(self, deployment_id: str) -> Deployment:
        """Load a deployment in a fresh session (detached)."""
        with session_scope(self.app.state.session_factory) as session:
            row = session.get(Deployment, deployment_id)
            assert row is not None
            session.expunge(row)
            return row

    def env_update(self, env: str, **values: Any) -> None:
        """Change an environment of the main domain (freeze windows, approver roles, …)."""
        with session_scope(self.app.state.session_factory) as session:
            environment = service.get_environment(session, domain_id=self.domain, name=env)
            for key, value in values.items():
                setattr(environment, key, value)


@pytest.fixture(name="world")
def world_fixture(
    app: FastAPI,
    client: TestClient,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    """The arranged world for the action tests."""
    enqueued = Enqueued()
    monkeypatch.setattr(app.state.jobs, "enqueue", enqueued)
    domain, other = make_domain("shop"), make_domain("bank")
    users: dict[str, Account] = {}
    return World(
        app=app, client=client, enqueued=enqueued, domain=domain, other_domain=other,
        system=make_system(domain, "cart"), other_system=make_system(other, "ledger"), users=users,
        make_user=make_user,
    )  # fmt: skip
