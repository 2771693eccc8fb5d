"""Template service rules: versions on real changes only, audit, usage counted by one UPDATE, no secrets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event, select

from timbel.audit.models import AuditEntry
from timbel.audit.service import AuditContext
from timbel.core.db import session_scope
from timbel.core.errors import Conflict, NotFound, ValidationFailed
from timbel.pipelines import template_service
from timbel.pipelines.template_schemas import PipelineTemplateCreate, PipelineTemplateUpdate
from timbel.scaffold.jenkinsfile import StageSpec

CTX = AuditContext(actor_name="test")


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(app.state.engine, "before_cursor_execute", before)


class TestRecordUse:
    def test_counts_with_a_single_update(self, app: FastAPI, seeded: Callable[[], list[str]]) -> None:
        seeded()
        factory = app.state.session_factory
        for _ in range(3):
            with session_scope(factory) as session, statements(app) as seen:
                template_service.record_use(session, key="go-gin")
            assert len(seen) == 1 and seen[0].startswith("UPDATE pipeline_templates SET usage_count=")
        with session_scope(factory) as session:
            go = template_service.get_by_key(session, key="go-gin")
            other = template_service.get_by_key(session, key="nestjs")
            assert go is not None and other is not None
            assert (go.usage_count, other.usage_count, go.version) == (3, 0, 1)
            with pytest.raises(NotFound):
                template_service.record_use(session, key="no-such-template")


class TestVersions:
    def test_real_changes_make_versions_and_audit(self, app: FastAPI) -> None:
        with session_scope(app.state.session_factory) as session:
            template = template_service.create(
                session,
                data=PipelineTemplateCreate(
                    key="rust-axum",
                    name="Rust Axum",
                    stack="rust",
                    framework="Axum",
                    stages=[StageSpec(name="test", image="rust:1.83.0", commands=["cargo test"])],
                ),
                ctx=CTX,
            )
            same = PipelineTemplateUpdate(name="Rust Axum", framework=" Axum ")
            template_service.update(session, template=template, data=same, ctx=CTX)
            assert template.version == 1
            stages = [StageSpec(name="test", image="rust:1.83.0", commands=["cargo test --locked"])]
            template_service.update(
                session, template=template, data=PipelineTemplateUpdate(stages=stages), ctx=CTX
            )
            history = template_service.versions(session, template=template)
            assert [v.version for v in history] == [2, 1]
            assert history[0].snapshot["stages"][0]["commands"] == ["cargo test --locked"]
            assert history[1].snapshot["stages"][0]["commands"] == ["cargo test"]
            actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.created_at)).all()
            assert list(actions) == ["pipeline_template.create", "pipeline_template.update"]
            with pytest.raises(Conflict):
                template_service.create(
                    session,
                    data=PipelineTemplateCreate(key="rust-axum", name="Again", stack="rust"),
                    ctx=CTX,
                )

    def test_literal_secrets_are_refused(self, app: FastAPI) -> None:
        with session_scope(app.state.session_factory) as session, pytest.raises(ValidationFailed) as caught:
            template_service.create(
                session,
                data=PipelineTemplateCreate(
                    key="leaky",
                    name="Leaky",
                    stack="node",
                    stages=[
                        StageSpec(name="t", image="node:20.18.1", commands=["npm login --password hunter22"])
                    ],
                ),
                ctx=CTX,
            )
        assert caught.value.errors[0]["type"] == "pipeline_template.secret"
