"""Shared pieces of the pipeline run tests: a scripted stub engine, the app with the runs API, factories.

(Named ``test_runs_*`` so it lives with the run tests; it holds no tests itself.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select

import timbel.pipelines.run_job  # noqa: F401  (declares the pipelines.* jobs before the app's runtime is built)
from timbel.audit.service import AuditContext
from timbel.catalog.models import System
from timbel.core.db import session_scope
from timbel.pipelines import pipeline_service
from timbel.pipelines.engine_base import RunEvents, RunOutcome, RunSpec, RunState, StageState
from timbel.pipelines.engines import EngineContext, register_engine, unregister_engine
from timbel.pipelines.run_models import Pipeline, PipelineRun, RunStateChange, StageRun
from timbel.pipelines.run_routes import router as runs_api
from timbel.pipelines.template_seeds import ensure_seeds

STUB = "stub"


@dataclass
class StubEngine:
    """Runs each stage by its script entry: ``ok`` (default), ``fail``, ``skip``, ``wait-cancel``, ``raise``.

    (``wait-cancel`` ends the run cancelled when a cancel was asked.)
    """

    name: str = STUB
    script: dict[str, str] = field(default_factory=dict)
    specs: list[RunSpec] = field(default_factory=list)
    contexts: list[EngineContext] = field(default_factory=list)
    resumed: list[Mapping[str, Any]] = field(default_factory=list)
    resume_outcome: RunOutcome | None = None
    on_start: Callable[[RunSpec], None] | None = None

    def execute(self, spec: RunSpec, events: RunEvents, *, workspace_root: Path) -> RunOutcome:
        self.specs.append(spec)
        if self.on_start is not None:
            self.on_start(spec)
        events.set_engine_ref({"stub": spec.run_id})
        for stage in spec.stages:
            action = self.script.get(stage.name, "ok")
            if action == "raise":
                raise RuntimeError("engine exploded")
            if action == "skip":
                events.stage_finished(stage.index, state=StageState.skipped, reason="not here")
                continue
            events.stage_started(stage.index)
            events.log(f"running {stage.name} 한글\n", stage_index=stage.index)
            events.heartbeat()
            if action == "wait-cancel" and events.cancel_requested():
                events.stage_finished(stage.index, state=StageState.cancelled, reason="cancelled")
                return RunOutcome(RunState.cancelled, "cancelled by user")
            if action == "fail":
                events.stage_finished(stage.index, state=StageState.failed, exit_code=2, reason="exit 2")
                return RunOutcome(RunState.failed, f"stage {stage.name} failed")
            events.stage_finished(stage.index, state=StageState.succeeded, exit_code=0)
        events.artifact("junit", {"tests": 3, "failures": 0, "errors": 0, "skipped": 0, "cases": []})
        return RunOutcome(RunState.succeeded, "", commit="c0ffee" * 6 + "abcd")

    def resume(self, spec: RunSpec, events: RunEvents, *, engine_ref: Mapping[str, Any]) -> RunOutcome | None:
        self.resumed.append(engine_ref)
        return self.resume_outcome


@pytest.fixture
def stub_engine() -> Iterator[StubEngine]:
    """A stub engine registered as ``stub`` for the test."""
    engine = StubEngine()

    def factory(ctx: EngineContext) -> StubEngine:
        engine.contexts.append(ctx)
        return engine

    register_engine(STUB, factory)
    try:
        yield engine
    finally:
        unregister_engine(STUB)


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The test app with the runs API included once (until app.py includes it)."""
    if "/api/v1/pipelines" not in {r.path for r in app.routes if isinstance(r, APIRoute)}:
        app.include_router(runs_api)
    return app


PipelineFactory = Callable[..., str]


@pytest.fixture
def make_pipeline(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str], stub_engine: StubEngine
) -> PipelineFactory:
    """Create (domain,) system and pipeline on the stub engine; return the pipeline id."""
    with session_scope(app.state.session_factory) as session:
        ensure_seeds(session)
    domains: dict[str, str] = {}

    def make(slug: str = "shop", *, domain: str = "acme", **changes: Any) -> str:
        if domain not in domains:
            domains[domain] = make_domain(domain)
        system_id = make_system(domains[domain], slug, repo_url=f"https://git.example.test/{slug}.git")
        with session_scope(app.state.session_factory) as session:
            system = session.get(System, system_id)
            assert system is not None
            ctx = AuditContext(actor_name="test")
            pipeline = pipeline_service.create_for_system(
                session, system=system, ctx=ctx, template_key="python-fastapi", engine=STUB
            )
            if changes:
                pipeline_service.update(session, pipeline=pipeline, data=changes, ctx=ctx)
            return pipeline.id

    return make


def domain_of(app: FastAPI, pipeline_id: str) -> str:
    """The domain id of a pipeline's system."""
    with session_scope(app.state.session_factory) as session:
        pipeline = session.get(Pipeline, pipeline_id)
        assert pipeline is not None
        system = session.get(System, pipeline.system_id)
        assert system is not None
        return system.domain_id


def run_row(app: FastAPI, run_id: str) -> PipelineRun:
    """Load a run, detached."""
    with session_scope(app.state.session_factory) as session:
        run = session.get(PipelineRun, run_id)
        assert run is not None
        session.expunge(run)
        return run


def stage_states(app: FastAPI, run_id: str) -> list[tuple[str, str]]:
    """(name, state) of a run's stages in order."""
    with session_scope(app.state.session_factory) as session:
        rows = session.execute(
            select(StageRun.name, StageRun.state).where(StageRun.run_id == run_id).order_by(StageRun.index)
        ).all()
        return [(name, state) for name, state in rows]


def history(app: FastAPI, run_id: str) -> list[tuple[str, str]]:
    """(from, to) of a run's state changes in order."""
    with session_scope(app.state.session_factory) as session:
        rows = session.execute(
            select(RunStateChange.from_state, RunStateChange.to_state)
            .where(RunStateChange.run_id == run_id)
            .order_by(RunStateChange.at, RunStateChange.id)
        ).all()
        return [(old, new) for old, new in rows]


class Recorder:
    """An enqueue that only records (name, kwargs)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, /, **kwargs: Any) -> str:
        self.calls.append((name, kwargs))
        return f"task-{len(self.calls)}"

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]
