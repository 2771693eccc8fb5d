"""Runs end to end on a stub engine: start → dispatch → execute → stages, outcome, history; dedupe,
supersede, cancel, retry and rerun from a stage."""

# ruff: noqa: F811  (fixtures imported from test_runs_support are parameters here)

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from tests.pipelines.test_runs_support import (  # noqa: F401  (fixtures)
    PipelineFactory,
    Recorder,
    StubEngine,
    app,
    history,
    make_pipeline,
    run_row,
    stage_states,
    stub_engine,
)
from timbel.audit.service import AuditContext
from timbel.core.db import session_scope
from timbel.core.errors import Conflict
from timbel.pipelines import logs, run_service
from timbel.pipelines.run_models import Pipeline, PipelineRun

CTX = AuditContext(actor_name="tester")
DELIVERY = {"image": "skip", "push": "skip", "gitops-update": "skip"}


def _start(app: FastAPI, pipeline_id: str, enqueue: Any = None, **kwargs: Any) -> str:
    with session_scope(app.state.session_factory) as session:
        pipeline = session.get(Pipeline, pipeline_id)
        assert pipeline is not None
        kwargs.setdefault("trigger", "manual")
        kwargs.setdefault("actor", "tester")
        kwargs.setdefault("ref", "main")
        run = run_service.start_run(
            session, pipeline=pipeline, enqueue=enqueue or app.state.jobs.enqueue, **kwargs
        )
        return run.id


def test_a_run_goes_through_its_stages_to_success_with_history(
    app: FastAPI, make_pipeline: PipelineFactory, stub_engine: StubEngine
) -> None:
    stub_engine.script.update(DELIVERY)
    run_id = _start(app, make_pipeline(), commit_after="a" * 40, parameters={"LEVEL": "full"})
    run = run_row(app, run_id)
    assert run.state == "succeeded" and run.number == 1 and run.attempts == 1
    assert run.commit_after == "c0ffee" * 6 + "abcd"  # the commit the engine built
    assert run.started_at is not None and run.finished_at is not None
    assert stage_states(app, run_id) == [
        ("checkout", "succeeded"),
        ("test", "succeeded"),
        ("image", "skipped"),
        ("push", "skipped"),
        ("gitops-update", "skipped"),
    ]
    assert history(app, run_id) == [("", "queued"), ("queued", "running"), ("running", "succeeded")]
    spec = stub_engine.specs[0]
    assert spec.repo_url == "https://git.example.test/shop.git" and spec.ref == "main"
    assert spec.commit == "a" * 40 and dict(spec.parameters) == {"LEVEL": "full"}
    assert [(s.index, s.name, s.kind.value) for s in spec.stages][:2] == [
        (0, "checkout", "checkout"),
        (1, "test", "test"),
    ]
    assert "pytest" in (spec.stages[1].command or "") and spec.stages[2].command is None
    assert run.engine_ref == {"stub": run_id}
    with session_scope(app.state.session_factory) as session:
        text = logs.read_log(session, run_id=run_id).text
        _, artifacts, _ = run_service.details(session, run=session.get(PipelineRun, run_id))  # type: ignore[arg-type]
    assert "running test 한글" in text
    assert [a.kind for a in artifacts] == ["junit"]


def test_a_failing_stage_fails_the_run_and_closes_the_rest(
    app: FastAPI, make_pipeline: PipelineFactory, stub_engine: StubEngine
) -> None:
    stub_engine.script["test"] = "fail"
    run_id = _start(app, make_pipeline())
    run = run_row(app, run_id)
    assert run.state == "failed" and run.reason == "stage test failed"
    assert stage_states(app, run_id)[:3] == [
        ("checkout", "succeeded"),
        ("test", "failed"),
        ("image", "skipped"),
    ]


def test_an_engine_that_raises_fails_the_run_with_a_reason(
    app: FastAPI, make_pipeline: PipelineFactory, stub_engine: StubEngine
) -> None:
    stub_engine.script["checkout"] = "raise"
    run = run_row(app, _start(app, make_pipeline()))
    assert run.state == "failed" and run.reason == "engine error: RuntimeError"


def test_an_unknown_engine_module_fails_the_run_clearly(app: FastAPI, make_pipeline: PipelineFactory) -> None:
    pipeline_id = make_pipeline()
    with session_scope(app.state.session_factory) as session:
        session.get(Pipeline, pipeline_id).engine = "nope"  # type: ignore[union-attr]
    run = run_row(app, _start(app, pipeline_id))
    assert run.state == "failed" and "Unknown pipeline engine 'nope'" in run.reason


def test_a_second_execute_message_does_nothing(
    app: FastAPI, make_pipeline: PipelineFactory, stub_engine: StubEngine
) -> None:
    run_id = _start(app, make_pipeline())
    again = app.state.jobs.enqueue("pipelines.execute", run_id=run_id)
    assert "skipped" in (app.state.jobs.result(again) or {})
    assert len(stub_engine.specs) == 1 and run_row(app, run_id).attempts == 1


def test_a_redelivered_webhook_never_starts_a_second_run(
    app: FastAPI, make_pipeline: PipelineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline_id = make_pipeline()
    recorder = Recorder()
    first = _start(app, pipeline_id, recorder, trigger="push", delivery_id="d-1")
    assert _start(app, pipeline_id, recorder, trigger="push", delivery_id="d-1") == first
    # The race: both requests looked before either inserted; the unique key keeps one run.
    monkeypatch.setattr(run_service, "by_delivery", _none_once(run_service.by_delivery))
    assert _start(app, pipeline_id, recorder, trigger="push", delivery_id="d-1") == first
    with session_scope(app.state.session_factory) as session:
        assert session.query(PipelineRun).count() == 1


def _none_once(real: Any) -> Any:
    calls = iter(range(1_000))

    def lookup(session: Any, *, delivery_id: str) -> Any:
        return None if next(calls) == 0 else real(session, delivery_id=delivery_id)

    return lookup


def test_a_new_run_supersedes_queued_runs_of_the_same_ref(
    app: FastAPI, make_pipeline: PipelineFactory
) -> None:
    pipeline_id = make_pipeline()
    recorder = Recorder()
    old = _start(app, pipeline_id, recorder, ref="main")
    other = _start(app, pipeline_id, recorder, ref="feature/x")
    new = _start(app, pipeline_id, recorder, ref="main")
    assert run_row(app, old).state == "cancelled" and run_row(app, old).reason == "superseded by #3"
    assert run_row(app, other).state == "queued" and run_row(app, new).state == "queued"
    assert stage_states(app, old)[0] == ("checkout", "cancelled")
    assert recorder.names() == ["pipelines.dispatch"] * 3


def test_superseding_can_be_turned_off(app: FastAPI, make_pipeline: PipelineFactory) -> None:
    pipeline_id = make_pipeline(supersede_queued=False)
    recorder = Recorder()
    old = _start(app, pipeline_id, recorder)
    _start(app, pipeline_id, recorder)
    assert run_row(app, old).state == "queued"


def test_cancelling_a_queued_run_ends_it_at_once(app: FastAPI, make_pipeline: PipelineFactory) -> None:
    run_id = _start(app, make_pipeline(), Recorder())
    with session_scope(app.state.session_factory) as session:
        run = session.get(PipelineRun, run_id)
        assert run is not None and run_service.cancel_run(session, run=run, ctx=CTX)
    assert run_row(app, run_id).state == "cancelled"
    assert {state for _, state in stage_states(app, run_id)} == {"cancelled"}
    with session_scope(app.state.session_factory) as session, pytest.raises(Conflict):
        run_service.cancel_run(session, run=session.get(PipelineRun, run_id), ctx=CTX)  # type: ignore[arg-type]


def test_cancelling_a_running_run_asks_the_engine_to_stop(
    app: FastAPI, make_pipeline: PipelineFactory, stub_engine: StubEngine
) -> None:
    def cancel_while_running(spec: Any) -> None:
        with session_scope(app.state.session_factory) as session:
            run = session.get(PipelineRun, spec.run_id)
            assert run is not None and run.state == "running"
            assert run_service.cancel_run(session, run=run, ctx=CTX) is False  # only asked

    stub_engine.on_start = cancel_while_running
    stub_engine.script["test"] = "wait-cancel"
    run_id = _start(app, make_pipeline())
    run = run_row(app, run_id)
    assert run.state == "cancelled" and run.cancel_requested_at is not None
    assert stage_states(app, run_id)[:3] == [
        ("checkout", "succeeded"),
        ("test", "cancelled"),
        ("image", "cancelled"),
    ]


def test_retry_starts_a_linked_run_of_the_same_ref_and_commit(
    app: FastAPI, make_pipeline: PipelineFactory, stub_engine: StubEngine
) -> None:
    stub_engine.script["test"] = "fail"
    first = _start(app, make_pipeline(), ref="release/1", commit_after="b" * 40)
    stub_engine.script.clear()
    with session_scope(app.state.session_factory) as session:
        old = session.get(PipelineRun, first)
        assert old is not None
        new_id = run_service.retry_run(session, run=old, ctx=CTX, enqueue=app.state.jobs.enqueue).id
    new = run_row(app, new_id)
    assert (new.retry_of_id, new.trigger, new.ref, new.number, new.state) == (
        first,
        "retry",
        "release/1",
        2,
        "succeeded",
    )
    assert stub_engine.specs[1].commit == "b" * 40


def test_rerun_from_a_stage_runs_the_checkout_and_the_rest(
    app: FastAPI, make_pipeline: PipelineFactory, stub_engine: StubEngine
) -> None:
    stub_engine.script["image"] = "fail"
    first = _start(app, make_pipeline())
    stub_engine.script.clear()
    with session_scope(app.state.session_factory) as session:
        old = session.get(PipelineRun, first)
        assert old is not None
        new_id = run_service.rerun_from(
            session, run=old, stage_index=2, ctx=CTX, enqueue=app.state.jobs.enqueue
        ).id
    assert [s.index for s in stub_engine.specs[1].stages] == [0, 2, 3, 4]
    assert run_row(app, new_id).rerun_from_stage == 2 and run_row(app, new_id).state == "succeeded"
    assert stage_states(app, new_id)[:3] == [
        ("checkout", "succeeded"),
        ("test", "skipped"),
        ("image", "succeeded"),
    ]


def test_only_finished_runs_can_be_retried(app: FastAPI, make_pipeline: PipelineFactory) -> None:
    run_id = _start(app, make_pipeline(), Recorder())
    with session_scope(app.state.session_factory) as session:
        run = session.get(PipelineRun, run_id)
        with pytest.raises(Conflict):
            run_service.retry_run(session, run=run, ctx=CTX, enqueue=Recorder())  # type: ignore[arg-type]


def test_runs_notify_start_success_and_failure_but_not_cancellation(
    app: FastAPI, make_pipeline: PipelineFactory, stub_engine: StubEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from timbel.notifications import service as notifications

    sent: list[dict[str, Any]] = []

    def record(session: Any, **kwargs: Any) -> list[Any]:
        sent.append(kwargs)
        return []

    monkeypatch.setattr(notifications, "notify", record)
    pipeline_id = make_pipeline()
    _start(app, pipeline_id)
    stub_engine.script["test"] = "fail"
    failed = _start(app, pipeline_id, ref="dev")
    queued = _start(app, pipeline_id, Recorder(), ref="x")
    with session_scope(app.state.session_factory) as session:
        run_service.cancel_run(session, run=session.get(PipelineRun, queued), ctx=CTX)  # type: ignore[arg-type]
    assert [n["event"] for n in sent] == [
        "pipeline.started", "pipeline.succeeded", "pipeline.started", "pipeline.failed",
    ]  # fmt: skip
    data = sent[3]["data"]
    assert (data["system"], data["run"], data["branch"], data["stage"]) == ("shop", 2, "dev", "test")
    assert sent[3]["dedup_key"] == f"pipeline_run:{failed}:failed" and sent[3]["domain_id"] is not None
    assert sent[2]["dedup_key"] == f"pipeline_run:{failed}:running" and sent[2]["data"]["trigger"] == "manual"
    from timbel.notifications import templates

    for note in sent:  # the data fills every placeholder of the event's message
        assert "shop" in templates.render(note["event"], note["data"], language="ko").title
