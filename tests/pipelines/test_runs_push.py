"""Push and schedule triggers: matching branches start one run per delivery and system (filters and
switches apply); a due schedule starts one run per minute however many schedulers run."""

# ruff: noqa: F811  (fixtures imported from test_runs_support are parameters here)

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select

from tests.pipelines.test_runs_support import (  # noqa: F401  (fixtures)
    PipelineFactory,
    Recorder,
    StubEngine,
    app,
    make_pipeline,
    stub_engine,
)
from timbel.core.db import session_scope
from timbel.pipelines import run_triggers
from timbel.pipelines.run_models import Pipeline, PipelineRun
from timbel.webhooks.handlers import PushEvent, push_handlers


def _system(app: FastAPI, pipeline_id: str) -> str:
    with session_scope(app.state.session_factory) as session:
        return session.get(Pipeline, pipeline_id).system_id  # type: ignore[union-attr]


def _push(app: FastAPI, delivery: str, system_ids: tuple[str, ...], **fields: Any) -> list[str]:
    fields.setdefault("branch", "main")
    fields.setdefault("deleted", False)
    event = PushEvent(
        delivery_id=delivery,
        source="github",
        integration_id=None,
        ref=f"refs/heads/{fields['branch']}",
        **{"tag": "", "before": "1" * 40, **fields},
        after="2" * 40,
        repository="acme/shop",
        system_ids=system_ids,
        pusher="kim",
    )
    with session_scope(app.state.session_factory) as session:
        return [r.id for r in run_triggers.on_push_event(session, event=event, enqueue=Recorder())]


def _count(app: FastAPI) -> int:
    with session_scope(app.state.session_factory) as session:
        return int(session.scalar(select(func.count()).select_from(PipelineRun)) or 0)


def test_a_push_to_a_matching_branch_starts_one_run_per_delivery(
    app: FastAPI, make_pipeline: PipelineFactory
) -> None:
    shop, api = make_pipeline("shop"), make_pipeline("api")
    systems = (_system(app, shop), _system(app, api))
    started = _push(app, "dlv-1", systems)
    assert len(started) == 2
    with session_scope(app.state.session_factory) as session:
        run = session.get(PipelineRun, started[0])
        assert run is not None
        assert (run.trigger, run.ref, run.actor, run.commit_before, run.commit_after) == (
            "push",
            "main",
            "kim",
            "1" * 40,
            "2" * 40,
        )
    assert _push(app, "dlv-1", systems) == started  # redelivered: the same runs, none new
    assert _count(app) == 2


def test_branch_filters_and_the_push_switch_apply(app: FastAPI, make_pipeline: PipelineFactory) -> None:
    globbed = make_pipeline("shop", branch_filters=["release/*"])
    off = make_pipeline("api", push_enabled=False)
    systems = (_system(app, globbed), _system(app, off))
    assert _push(app, "d1", systems, branch="main") == []
    assert len(_push(app, "d2", systems, branch="release/2.0")) == 1
    assert _push(app, "d3", systems, branch="release/2.0", deleted=True) == []


def test_empty_filters_mean_the_default_branch_and_tags_start_nothing(
    app: FastAPI, make_pipeline: PipelineFactory
) -> None:
    default_only = make_pipeline("shop", branch_filters=[])
    systems = (_system(app, default_only),)
    assert _push(app, "e1", systems, branch="feature/x") == []
    assert _push(app, "e2", systems, branch="", tag="v1.0.0") == []
    [first] = _push(app, "e3", systems, branch="main", before="0" * 40)
    with session_scope(app.state.session_factory) as session:
        run = session.get(PipelineRun, first)
        assert run is not None and run.ref == "main" and run.commit_before is None  # a new branch


def test_the_handler_is_registered_for_webhook_processing() -> None:
    assert "pipelines.push" in push_handlers()


def test_a_due_schedule_starts_one_run_per_minute(app: FastAPI, make_pipeline: PipelineFactory) -> None:
    make_pipeline("shop", schedule="30 3 * * *")
    make_pipeline("api")  # no schedule
    due = datetime(2026, 11, 26, 3, 30, 12, tzinfo=UTC)
    with session_scope(app.state.session_factory) as session:
        first = run_triggers.scheduled_runs(session, now=due, enqueue=Recorder())
        assert [(r.trigger, r.actor, r.ref) for r in first] == [("schedule", "schedule", "main")]
    with session_scope(app.state.session_factory) as session:  # a second worker's scheduler, same minute
        assert [r.id for r in run_triggers.scheduled_runs(session, now=due, enqueue=Recorder())] == [
            first[0].id
        ]
    with session_scope(app.state.session_factory) as session:
        assert run_triggers.scheduled_runs(session, now=due + timedelta(minutes=1), enqueue=Recorder()) == []
    assert _count(app) == 1
