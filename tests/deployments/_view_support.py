"""Helpers for the deployment view tests: mount the routers, sign in, make releases and deployments for real.

Releases are rows (immutable records); deployments go through ``service.create_deployment`` and
``service.transition`` so their history is the one the engine would write.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import Account
from timbel.catalog.models import Domain, System
from timbel.core.db import session_scope, utcnow
from timbel.deployments import service
from timbel.deployments.events import EventTiming, event_timing
from timbel.deployments.models import ApprovalRequest, DeploymentKind, DeploymentState, Release
from timbel.gitops import CommitMessage, commit_files, push
from timbel.gitops import service as gitops_service
from timbel.pipelines.run_models import Pipeline, PipelineRun

D = DeploymentState
FOLLOW = {"Accept": "text/event-stream"}  # what EventSource sends
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Hand Editor",
    "GIT_AUTHOR_EMAIL": "hand@example.com",
    "GIT_COMMITTER_NAME": "Hand Editor",
    "GIT_COMMITTER_EMAIL": "hand@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "PATH": "/usr/bin:/bin:/usr/local/bin",
}


def fast_timing(app: FastAPI, **fields: Any) -> None:
    """Make the live streams poll fast and stop soon (fields override)."""
    timing = EventTiming(
        **{"poll": 0.01, "keepalive": 1000.0, "refresh": 1000.0, "max_seconds": 1.0, **fields}
    )
    app.dependency_overrides[event_timing] = lambda: timing


def sign_in(client: TestClient, account: Account) -> None:
    """Sign in through the login form (the client keeps the session cookie)."""
    page = client.get("/login")
    match = CSRF_INPUT.search(page.text)
    assert match is not None
    response = client.post(
        "/login",
        data={
            "username": account.username,
            "password": account.password,
            "csrf_token": match.group(1),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def make_release(
    app: FastAPI,
    system_id: str,
    version: str,
    *,
    commit: str = "a" * 40,
    images: dict[str, str] | None = None,
    extra_values: dict[str, Any] | None = None,
) -> str:
    """Record a release; ``images`` maps service → tag (digest derived from the tag)."""
    images = images or {"api": version}
    rows = [
        {"service": name, "repository": f"registry.example.com/{name}", "tag": tag,
         "digest": "sha256:" + (tag.encode().hex() * 64)[:64]}
        for name, tag in sorted(images.items())
    ]  # fmt: skip
    values: dict[str, Any] = {
        "services": {
            r["service"]: {"image": {k: r[k] for k in ("repository", "tag", "digest")}} for r in rows
        }
    }
    values.update(extra_values or {})
    with session_scope(app.state.session_factory) as session:
        release = Release(
            system_id=system_id, version=version, source_commit=commit, images=rows, values=values
        )
        session.add(release)
        session.flush()
        return release.id


PATH = {
    D.succeeded: (D.syncing, D.verifying, D.succeeded),
    D.failed: (D.syncing, D.failed),
    D.syncing: (D.syncing,),
    D.verifying: (D.syncing, D.verifying),
    D.approved: (),
    D.rolled_back: (D.syncing, D.verifying, D.rolled_back),
}


def deploy(
    app: FastAPI,
    system_id: str,
    env: str,
    release_id: str,
    *,
    to: DeploymentState = D.succeeded,
    actor: Account | None = None,
    health: str = "not-verified",
    kind: DeploymentKind = DeploymentKind.deploy,
    rollback_of_id: str | None = None,
    **values: Any,
) -> str:
    """Create a deployment (approved) and walk it through the state machine to ``to``."""
    with session_scope(app.state.session_factory) as session:
        system = session.get(System, system_id)
        assert system is not None
        environment = service.get_environment(session, domain_id=system.domain_id, name=env)
        release = service.get_release(session, release_id=release_id)
        row = service.create_deployment(
            session, system=system, environment=environment, release=release, kind=kind,
            state=D.approved, requested_by_id=actor.id if actor else None,
            requested_by=actor.username if actor else "tester", reason=f"ship {release.version}",
            enqueue=lambda *a, **k: "job", rollback_of_id=rollback_of_id,
        )  # fmt: skip
        deployment_id = row.id
    for step in PATH[to]:
        move(app, deployment_id, step, health=health if step is D.succeeded else None, **values)
    return deployment_id


def move(
    app: FastAPI, deployment_id: str, to: DeploymentState, *, health: str | None = None, **values: Any
) -> None:
    """One transition in its own transaction."""
    extra = dict(values)
    if health is not None:
        extra["health"] = health
    with session_scope(app.state.session_factory) as session:
        service.transition(session, deployment_id=deployment_id, to=to, reason=f"to {to.value}", **extra)


def session_of(app: FastAPI) -> Callable[[], Session]:
    """The app's session factory."""
    return app.state.session_factory  # type: ignore[no-any-return]


def write_values(app: FastAPI, domain_id: str, system_id: str, env: str, text: str) -> None:
    """Commit a values file into the GitOps repository holding ``env`` the way Timbel does, and push."""
    settings = app.state.settings
    with session_scope(app.state.session_factory) as session:
        domain, system = session.get(Domain, domain_id), session.get(System, system_id)
        assert domain is not None and system is not None
        row = gitops_service.repository_for(session, settings=settings, domain_id=domain_id, env=env)
        repo = gitops_service.open_row(row, settings=settings)
        path = f"{gitops_service.system_prefix(domain, system)}/envs/{env}/values.yaml"
        message = CommitMessage(what=f"deploy {env}", who="tester", why="test", operation_id="test-op")
        commit_files(repo, files={path: text}, message=message, allow_overwrite_hand_edits=True)
        push(repo, allow_overwrite_hand_edits=True)


def hand_edit(app: FastAPI, work: Path, path: str, replace: tuple[str, str]) -> None:
    """Edit a file of the embedded GitOps repository by hand: clone, change, commit and push with git."""
    bare = gitops_service.embedded_path(app.state.settings)
    env = {**GIT_ENV, "HOME": str(work)}
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, env=env, capture_output=True)
    target = work / path
    target.write_text(target.read_text().replace(*replace))
    for argv in (["add", path], ["commit", "-q", "-m", "hand edit"], ["push", "-q", "origin", "HEAD:main"]):
        subprocess.run(["git", "-C", str(work), *argv], check=True, env=env, capture_output=True)


def values_text(tags: dict[str, str]) -> str:
    """A values file setting each service's image tag (as Timbel writes it)."""
    lines = ["# Generated by timbel-deployments 1 for test. Managed by Timbel.", "services:"]
    for name, tag in sorted(tags.items()):
        lines += [
            f"  {name}:",
            "    image:",
            f"      repository: registry.example.com/{name}",
            f"      tag: {tag}",
        ]
    return "\n".join(lines) + "\n"


def sse_events(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs of an event stream body."""
    found = []
    for block in text.split("\n\n"):
        fields = [
            line.split(": ", 1) for line in block.split("\n") if ": " in line and not line.startswith(":")
        ]
        event = next((v for k, v in fields if k == "event"), "")
        data = "\n".join(v for k, v in fields if k == "data")
        if event:
            found.append((event, data))
    return found


def pending_approval(app: FastAPI, system_id: str, env: str, release_id: str, *, actor: Account) -> str:
    """A deployment waiting for approval by executives/admins (as a 배포 요청 leaves it); its id."""
    with session_scope(app.state.session_factory) as session:
        system = session.get(System, system_id)
        assert system is not None
        environment = service.get_environment(session, domain_id=system.domain_id, name=env)
        row = service.create_deployment(
            session, system=system, environment=environment,
            release=service.get_release(session, release_id=release_id), kind=DeploymentKind.request,
            state=D.pending_approval, requested_by_id=actor.id, requested_by=actor.username, reason="please",
            enqueue=lambda *a, **k: "job",
        )  # fmt: skip
        session.add(
            ApprovalRequest(
                deployment_id=row.id, approver_roles=["executive", "admin"], requested_by_id=actor.id,
                expires_at=utcnow() + timedelta(hours=72),
            )
        )  # fmt: skip
        return row.id


def failed_run(app: FastAPI, system_id: str, *, hours_ago: float = 1.0, state: str = "failed") -> str:
    """A pipeline run of the system that ended ``state`` some hours ago; its id."""
    with session_scope(app.state.session_factory) as session:
        pipeline = session.scalar(select(Pipeline).where(Pipeline.system_id == system_id))
        if pipeline is None:
            pipeline = Pipeline(system_id=system_id, engine="local", stages=[])
            session.add(pipeline)
            session.flush()
        count = session.scalar(
            select(func.count(PipelineRun.id)).where(PipelineRun.pipeline_id == pipeline.id)
        )
        finished = utcnow() - timedelta(hours=hours_ago)
        run = PipelineRun(
            pipeline_id=pipeline.id,
            system_id=system_id,
            number=(count or 0) + 1,
            trigger="manual",
            ref="main",
            engine="local",
            state=state,
            started_at=finished - timedelta(minutes=2),
            finished_at=finished,
        )
        session.add(run)
        session.flush()
        return run.id
