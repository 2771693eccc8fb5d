"""Dispatch within concurrency limits, the reconciler (lost runners, lost messages), resume, and the
run events' throttling."""

# ruff: noqa: F811  (fixtures imported from test_runs_support are parameters here)

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import update

from tests.pipelines.test_runs_support import (  # noqa: F401  (fixtures)
    PipelineFactory,
    Recorder,
    StubEngine,
    app,
    history,
    make_pipeline,
    run_row,
    stub_engine,
)
from timbel.core.db import session_scope, utcnow
from timbel.core.settings import PipelinesSettings, Settings
from timbel.pipelines import dispatch, run_service
from timbel.pipelines.engine_base import RunOutcome, RunState
from timbel.pipelines.run_events import DbRunEvents
from timbel.pipelines.run_models import Pipeline, PipelineRun


def _queue(app: FastAPI, pipeline_id: str, ref: str = "main") -> str:
    with session_scope(app.state.session_factory) as session:
        pipeline = session.get(Pipeline, pipeline_id)
        assert pipeline is not None
        return run_service.start_run(
            session, pipeline=pipeline, trigger="manual", actor="t", ref=ref, enqueue=Recorder()
        ).id


def _limits(settings: Settings, **values: object) -> Settings:
    return settings.model_copy(update={"pipelines": PipelinesSettings.model_validate(values)})


def _dispatch(app: FastAPI, settings: Settings) -> tuple[list[str], Recorder]:
    recorder = Recorder()
    with session_scope(app.state.session_factory) as session:
        started = dispatch.dispatch(session, settings=settings, enqueue=recorder)
    return started, recorder


def test_the_global_limit_holds_across_systems(app: FastAPI, make_pipeline: PipelineFactory) -> None:
    settings = _limits(app.state.settings, max_concurrent_runs=2, max_concurrent_per_system=5)
    runs = [_queue(app, make_pipeline(slug)) for slug in ("a", "b", "c")]
    started, recorder = _dispatch(app, settings)
    assert started == runs[:2]  # oldest first
    assert recorder.calls == [
        ("pipelines.execute", {"run_id": runs[0]}),
        ("pipelines.execute", {"run_id": runs[1]}),
    ]
    assert _dispatch(app, settings)[0] == []  # dispatched but not yet running still holds a slot
    with session_scope(app.state.session_factory) as session:
        run_service.begin(session, run_id=runs[0])
        run_service.complete_run(
            session, run_id=runs[0], outcome=RunOutcome(RunState.succeeded), enqueue=Recorder()
        )
    assert _dispatch(app, settings)[0] == [runs[2]]


def test_the_per_system_limit_holds(app: FastAPI, make_pipeline: PipelineFactory) -> None:
    settings = _limits(app.state.settings, max_concurrent_runs=10, max_concurrent_per_system=1)
    shop, other = make_pipeline("shop"), make_pipeline("other")
    first, second = _queue(app, shop, "main"), _queue(app, shop, "dev")
    third = _queue(app, other)
    assert _dispatch(app, settings)[0] == [first, third]
    assert run_row(app, second).dispatched_at is None


def test_a_run_whose_runner_died_fails_as_runner_lost(
    app: FastAPI, make_pipeline: PipelineFactory, stub_engine: StubEngine
) -> None:
    run_id = _queue(app, make_pipeline())
    stale = utcnow() - timedelta(seconds=app.state.settings.pipelines.heartbeat_stale_seconds + 5)
    with session_scope(app.state.session_factory) as session:
        run_service.begin(session, run_id=run_id)
        session.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(heartbeat_at=stale))
    recorder = Recorder()
    with session_scope(app.state.session_factory) as session:
        counts = dispatch.reconcile(session, settings=app.state.settings, enqueue=recorder)
    run = run_row(app, run_id)
    assert counts["failed"] == 1 and run.state == "failed"
    assert run.reason.startswith("runner lost (no heartbeat since ") and stale.isoformat()[:16] in run.reason
    assert history(app, run_id)[-1] == ("running", "failed")
    assert "pipelines.dispatch" in recorder.names()


def test_a_silent_jenkins_run_is_resumed_not_failed(
    app: FastAPI, make_pipeline: PipelineFactory, stub_engine: StubEngine
) -> None:
    run_id = _queue(app, make_pipeline())
    stale = utcnow() - timedelta(hours=1)
    with session_scope(app.state.session_factory) as session:
        run_service.begin(session, run_id=run_id)
        session.execute(
            update(PipelineRun)
            .where(PipelineRun.id == run_id)
            .values(heartbeat_at=stale, engine="jenkins", engine_ref={"job": "timbel/shop", "build": 7})
        )
    recorder = Recorder()
    with session_scope(app.state.session_factory) as session:
        assert dispatch.reconcile(session, settings=app.state.settings, enqueue=recorder)["resumed"] == 1
    assert ("pipelines.resume", {"run_id": run_id}) in recorder.calls
    assert run_row(app, run_id).state == "running"


def test_the_resume_job_finishes_the_run_with_the_engines_outcome(
    app: FastAPI, make_pipeline: PipelineFactory, stub_engine: StubEngine
) -> None:
    run_id = _queue(app, make_pipeline())
    with session_scope(app.state.session_factory) as session:
        run_service.begin(session, run_id=run_id)
        session.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(engine_ref={"build": 3}))
    stub_engine.resume_outcome = RunOutcome(RunState.succeeded, commit="d" * 40)
    app.state.jobs.enqueue("pipelines.resume", run_id=run_id)
    assert stub_engine.resumed == [{"build": 3}]
    assert run_row(app, run_id).state == "succeeded" and run_row(app, run_id).commit_after == "d" * 40


def test_a_lost_execute_message_is_dispatched_again(app: FastAPI, make_pipeline: PipelineFactory) -> None:
    run_id = _queue(app, make_pipeline())
    _dispatch(app, app.state.settings)
    old = utcnow() - timedelta(seconds=app.state.settings.pipelines.requeue_seconds + 5)
    with session_scope(app.state.session_factory) as session:
        session.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(dispatched_at=old))
    recorder = Recorder()
    with session_scope(app.state.session_factory) as session:
        counts = dispatch.reconcile(session, settings=app.state.settings, enqueue=recorder)
    assert counts["woken"] == 1 and counts["dispatched"] == 1
    assert recorder.calls == [("pipelines.execute", {"run_id": run_id})]


def test_the_reconcile_job_runs_queued_runs_end_to_end(
    app: FastAPI, make_pipeline: PipelineFactory, stub_engine: StubEngine
) -> None:
    run_id = _queue(app, make_pipeline())  # its dispatch message was "lost" (recorded only)
    app.state.jobs.enqueue("pipelines.reconcile")
    assert run_row(app, run_id).state == "succeeded"


def test_heartbeats_and_cancel_checks_are_throttled(app: FastAPI, make_pipeline: PipelineFactory) -> None:
    run_id = _queue(app, make_pipeline())
    with session_scope(app.state.session_factory) as session:
        run_service.begin(session, run_id=run_id)
        session.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(heartbeat_at=None))
    now = [100.0]
    events = DbRunEvents(session_factory=app.state.session_factory, run_id=run_id, clock=lambda: now[0])
    events.heartbeat()
    first = run_row(app, run_id).heartbeat_at
    assert first is not None
    with session_scope(app.state.session_factory) as session:
        session.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(heartbeat_at=None))
    now[0] += 0.5
    events.heartbeat()
    assert run_row(app, run_id).heartbeat_at is None  # within the second: no write
    now[0] += 0.6
    events.heartbeat()
    assert run_row(app, run_id).heartbeat_at is not None
    assert events.cancel_requested() is False
    with session_scope(app.state.session_factory) as session:
        session.execute(
            update(PipelineRun).where(PipelineRun.id == run_id).values(cancel_requested_at=utcnow())
        )
    assert events.cancel_requested() is False  # cached for a second
    now[0] += 1.1
    assert events.cancel_requested() is True


def test_only_a_succeeded_run_asks_for_its_release(app: FastAPI, make_pipeline: PipelineFactory) -> None:
    good, bad = _queue(app, make_pipeline("good")), _queue(app, make_pipeline("bad"))
    recorders = {good: Recorder(), bad: Recorder()}
    for run_id, state in ((good, RunState.succeeded), (bad, RunState.failed)):
        with session_scope(app.state.session_factory) as session:
            run_service.begin(session, run_id=run_id)
            run_service.complete_run(
                session, run_id=run_id, outcome=RunOutcome(state), enqueue=recorders[run_id]
            )
    assert ("deployments.release_from_run", {"run_id": good}) in recorders[good].calls
    assert "deployments.release_from_run" not in recorders[bad].names()
