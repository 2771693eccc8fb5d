"""Shared pieces of the trigger tests: the app with the runs and triggers APIs, a served fake GitHub, an
admin, GitHub instances made through the integrations API, pipelines on systems with a given repository URL.

(Named ``test_triggers_*`` so it lives with the trigger tests; it holds no tests itself.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

import timbel.pipelines.run_job  # noqa: F401  (declares the pipelines.* jobs and the push handler)
from tests.conftest import MakeUser, login
from tests.fakes.github import FakeGitHub, FakeRepo, github_app
from tests.fakes.server import RunningFake, serve
from timbel.audit.service import AuditContext
from timbel.catalog.models import System
from timbel.core.db import session_scope
from timbel.pipelines import pipeline_service
from timbel.pipelines.run_routes import router as runs_api
from timbel.pipelines.template_seeds import ensure_seeds
from timbel.pipelines.trigger_routes import router as triggers_api

GH_TOKEN = "ghp_trigger-test-token-7f3a"
HOOK_SECRET = "hook-secret-for-triggers-5c9e1"
INTEGRATIONS = "/api/v1/integrations"


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The test app with the runs and triggers APIs included once (until app.py includes them)."""
    paths = {r.path for r in app.routes if isinstance(r, APIRoute)}
    if "/api/v1/pipelines/{pipeline_id}/runs" not in paths:
        app.include_router(runs_api)
    if "/api/v1/pipelines/{pipeline_id}/triggers" not in paths:
        app.include_router(triggers_api)
    return app


@pytest.fixture
def admin(client: TestClient, make_user: MakeUser) -> dict[str, str]:
    """Bearer headers of an administrator."""
    return login(client, make_user(roles=("admin",)))


@pytest.fixture
def fake_github() -> Iterator[tuple[FakeGitHub, RunningFake]]:
    """A fake GitHub on loopback serving ``acme/shop`` to the token GH_TOKEN."""
    state = FakeGitHub(token=GH_TOKEN)
    state.add_repo(FakeRepo("acme/shop"))
    with serve(github_app(state)) as running:
        state.base_url = running.base_url
        yield state, running


def add_github(client: TestClient, admin: dict[str, str], *, base_url: str, **body: Any) -> str:
    """Create a GitHub instance through the integrations API; return its id."""
    payload: dict[str, Any] = {"kind": "github", "name": "ghe", "base_url": base_url}
    payload["secrets"] = {"token": GH_TOKEN, "webhook_secret": HOOK_SECRET}
    payload |= body
    response = client.post(INTEGRATIONS, json=payload, headers=admin)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


SystemPipeline = Callable[..., tuple[str, str]]


@pytest.fixture
def system_pipeline(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str]
) -> SystemPipeline:
    """Create a system with ``repo_url`` and its (local engine) pipeline; return (system id, pipeline id)."""
    with session_scope(app.state.session_factory) as session:
        ensure_seeds(session)
    domains: dict[str, str] = {}

    def make(
        slug: str, repo_url: str, *, stages: list[dict[str, Any]] | None = None, **changes: Any
    ) -> tuple[str, str]:
        if "acme" not in domains:
            domains["acme"] = make_domain("acme")
        system_id = make_system(domains["acme"], slug, repo_url=repo_url, default_branch="main")
        with session_scope(app.state.session_factory) as session:
            system = session.get(System, system_id)
            assert system is not None
            ctx = AuditContext(actor_name="test")
            pipeline = pipeline_service.create_for_system(
                session, system=system, ctx=ctx, template_key="python-fastapi", engine="local"
            )
            if stages is not None:
                changes["stages"] = stages
            if changes:
                pipeline_service.update(session, pipeline=pipeline, data=changes, ctx=ctx)
            return system_id, pipeline.id

    return make
