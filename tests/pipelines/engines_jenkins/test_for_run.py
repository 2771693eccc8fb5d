"""``JenkinsEngine.for_run``: the pipeline's Jenkins instance, else the domain's or the global default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

from timbel.audit.service import AuditContext
from timbel.core.db import session_scope
from timbel.core.errors import NotFound
from timbel.core.settings import Settings
from timbel.integrations import service as integrations_service
from timbel.integrations.base import IntegrationKind
from timbel.integrations.schemas import IntegrationCreate
from timbel.pipelines.engines.jenkins import JenkinsEngine
from timbel.pipelines.run_models import Pipeline

CTX = AuditContext(actor_name="test")


def add_jenkins(app: FastAPI, settings: Settings, name: str, **fields: Any) -> str:
    data = IntegrationCreate(
        kind=IntegrationKind.jenkins, name=name, base_url=f"http://127.0.0.1:9/{name}",
        secrets={"api_token": "tok-" + name}, **fields,
    )  # fmt: skip
    data.options.setdefault("username", "timbel")
    with session_scope(app.state.session_factory) as session:
        return integrations_service.create(session, settings=settings, data=data, ctx=CTX).id


def add_pipeline(app: FastAPI, system_id: str, **fields: Any) -> str:
    with session_scope(app.state.session_factory) as session:
        pipeline = Pipeline(system_id=system_id, engine="jenkins", stages=[], **fields)
        session.add(pipeline)
        session.flush()
        return pipeline.id


class TestForRun:
    def test_explicit_instance_then_domain_default_then_global_default(
        self, app: FastAPI, settings: Settings, make_domain: Callable[[str], str],
        make_system: Callable[..., str],
    ) -> None:  # fmt: skip
        domain = make_domain("shop")
        add_jenkins(app, settings, "global", is_default=True, options={"folder": "ci/timbel"})
        explicit = add_jenkins(app, settings, "explicit")
        plain = add_pipeline(app, make_system(domain, "cart"))
        chosen = add_pipeline(app, make_system(domain, "pay"), jenkins_integration_id=explicit)
        factory = app.state.session_factory

        engine = JenkinsEngine.for_run(settings=settings, session_factory=factory, pipeline_id=plain)
        assert engine.adapter.config.name == "global" and engine.folder == "ci/timbel"
        engine.adapter.close()

        engine = JenkinsEngine.for_run(settings=settings, session_factory=factory, pipeline_id=chosen)
        assert engine.adapter.config.name == "explicit" and engine.folder == "timbel"
        assert engine.adapter.config.api_token.get_secret_value() == "tok-explicit"
        engine.adapter.close()

        add_jenkins(app, settings, "domain", is_default=True, domain_id=domain)
        engine = JenkinsEngine.for_run(settings=settings, session_factory=factory, pipeline_id=plain)
        assert engine.adapter.config.name == "domain"
        engine.adapter.close()

    def test_no_instance_is_a_clear_error(
        self, app: FastAPI, settings: Settings, make_domain: Callable[[str], str],
        make_system: Callable[..., str],
    ) -> None:  # fmt: skip
        pipeline = add_pipeline(app, make_system(make_domain("shop"), "cart"))
        factory = app.state.session_factory
        with pytest.raises(NotFound, match="No Jenkins integration"):
            JenkinsEngine.for_run(settings=settings, session_factory=factory, pipeline_id=pipeline)
        with pytest.raises(NotFound, match="No such pipeline"):
            JenkinsEngine.for_run(settings=settings, session_factory=factory, pipeline_id="nope")
