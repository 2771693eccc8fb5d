"""The same pipeline on Jenkins: an operator starts a run of a system whose pipeline uses the Jenkins engine
(the fake Jenkins on loopback, configured as an integration instance) and reads it on the same run page —
stages mapped from Jenkins, the progressive log, the result."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import MakeUser
from tests.fakes.jenkins import JenkinsState, create_app
from tests.fakes.server import RunningFake, serve
from tests.web.conftest import post_form, sign_in
from timbel.audit.service import AuditContext
from timbel.catalog.models import System
from timbel.core.db import session_scope
from timbel.integrations import service as integrations_service
from timbel.integrations.base import IntegrationKind
from timbel.integrations.schemas import IntegrationCreate
from timbel.pipelines import pipeline_service
from timbel.pipelines.engines import EngineContext, register_engine
from timbel.pipelines.engines.jenkins import JenkinsEngine
from timbel.pipelines.template_seeds import ensure_seeds

CTX = AuditContext(actor_name="test")


@pytest.fixture
def jenkins() -> Iterator[tuple[RunningFake, JenkinsState]]:
    """A fake Jenkins whose builds run the stages of the uploaded pipeline script."""
    state = JenkinsState(queue_waits=1, stages_from_script=True)
    with serve(create_app(state)) as running:
        yield running, state


@pytest.fixture
def quick_jenkins_engine() -> Iterator[None]:
    """The shipped Jenkins engine, polling every 10 ms instead of every 2 s."""

    def factory(ctx: EngineContext) -> JenkinsEngine:
        engine = JenkinsEngine.for_run(
            settings=ctx.settings, session_factory=ctx.session_factory, pipeline_id=ctx.pipeline_id
        )
        engine.poll_seconds = 0.01
        return engine

    register_engine("jenkins", factory)
    try:
        yield
    finally:
        register_engine("jenkins", "timbel.pipelines.engines.jenkins:JenkinsEngine")


@pytest.mark.usefixtures("quick_jenkins_engine")
def test_a_jenkins_run_reads_like_any_other_run(
    client: TestClient,
    app: FastAPI,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
    jenkins: tuple[RunningFake, JenkinsState],
) -> None:
    fake, state = jenkins
    domain = make_domain("acme")
    system_id = make_system(domain, "shop", repo_url="https://git.example.test/shop.git")
    with session_scope(app.state.session_factory) as session:
        ensure_seeds(session)
        instance = integrations_service.create(
            session, settings=app.state.settings, ctx=CTX,
            data=IntegrationCreate(
                kind=IntegrationKind.jenkins, name="jenkins-main", base_url=fake.base_url, is_default=True,
                options={"username": state.username}, secrets={"api_token": state.api_token},
            ),
        )  # fmt: skip
        system = session.get(System, system_id)
        assert system is not None
        pipeline = pipeline_service.create_for_system(
            session, system=system, ctx=CTX, template_key="python-fastapi", engine="jenkins",
            jenkins_integration_id=instance.id,
        )  # fmt: skip
        pipeline_id = pipeline.id

    sign_in(client, make_user(roles=("operations",), domain_ids=(domain,)))
    response = post_form(client, f"/pipelines/{pipeline_id}/runs", {}, token_from="/pipelines")
    assert response.status_code == 303
    html = client.get(response.headers["location"]).text  # jobs run inline in tests

    assert 'id="run-state" data-state="succeeded">성공</span>' in html
    assert "Started by user Timbel Bot" in html  # Jenkins' own log, followed progressively
    assert 'id="stage-0" data-state="succeeded"' in html
    assert 'data-state="skipped"' in html  # delivery stages Jenkins was not configured for
    calls = fake.recorder.calls()
    assert calls.count("POST /job/timbel/job/shop/buildWithParameters") == 1
    assert any(call.startswith("GET /job/timbel/job/shop/1/logText/progressiveText") for call in calls)
