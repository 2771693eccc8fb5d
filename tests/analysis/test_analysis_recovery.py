"""Analyses survive lost messages and dead workers: the state machine and the reconciler."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import undefer

from tests.analysis._analyze_fixture import build_fastapi_repo
from timbel.analysis import service
from timbel.analysis.models import Analysis, AnalysisState, AnalysisStateChange
from timbel.core.db import session_scope, utcnow


def _add(app: FastAPI, **fields: object) -> str:
    with session_scope(app.state.session_factory) as session:
        row = Analysis(**fields)
        session.add(row)
        session.flush()
        return row.id


def _row(app: FastAPI, analysis_id: str) -> Analysis:
    with session_scope(app.state.session_factory) as session:
        row = session.get(Analysis, analysis_id, options=[undefer(Analysis.report)])
        assert row is not None
        session.expunge(row)
        return row


def test_a_second_delivery_of_the_same_message_does_not_run_twice(app: FastAPI, tmp_path: Path) -> None:
    analysis_id = _add(app, path=str(build_fastapi_repo(tmp_path / "r")))
    with session_scope(app.state.session_factory) as session:
        assert service.begin(session, analysis_id=analysis_id).accepted
    with session_scope(app.state.session_factory) as session:
        again = service.begin(session, analysis_id=analysis_id)
    assert not again.accepted and "running → running" in again.refusal
    assert _row(app, analysis_id).attempts == 1


def test_terminal_states_refuse_every_change(app: FastAPI) -> None:
    analysis_id = _add(app, url="https://github.com/a/b.git", state="succeeded")
    with session_scope(app.state.session_factory) as session:
        for target in AnalysisState:
            assert not service.transition(session, analysis_id=analysis_id, to=target).accepted
        history = session.scalars(
            select(AnalysisStateChange).where(AnalysisStateChange.analysis_id == analysis_id)
        )
        assert list(history) == []


def test_a_dead_worker_is_noticed_and_the_analysis_runs_again(app: FastAPI, tmp_path: Path) -> None:
    """A run whose worker died (no heartbeat) is requeued by the periodic reconciler and finishes."""
    repo = build_fastapi_repo(tmp_path / "r")
    stale = utcnow() - timedelta(seconds=app.state.settings.analysis.stale_seconds + 5)
    analysis_id = _add(app, path=str(repo), state="running", attempts=1, heartbeat_at=stale, started_at=stale)
    result = app.state.jobs.enqueue("analysis.reconcile")  # jobs run inline in tests
    assert app.state.jobs.result(result) == {"requeued": 1, "failed": 0, "woken": 0}
    row = _row(app, analysis_id)
    assert row.state == "succeeded" and row.attempts == 2
    assert row.report is not None and row.report["services"][0]["port"] == 8000
    with session_scope(app.state.session_factory) as session:
        moves = session.execute(
            select(AnalysisStateChange.from_state, AnalysisStateChange.to_state, AnalysisStateChange.reason)
            .where(AnalysisStateChange.analysis_id == analysis_id)
            .order_by(AnalysisStateChange.at)
        ).all()
    assert [(m[0], m[1]) for m in moves] == [
        ("running", "queued"),
        ("queued", "running"),
        ("running", "succeeded"),
    ]
    assert "worker stopped" in moves[0][2]


def test_an_analysis_out_of_attempts_fails_with_a_reason(app: FastAPI) -> None:
    stale = utcnow() - timedelta(hours=2)
    limit = app.state.settings.analysis.max_attempts
    analysis_id = _add(
        app, url="https://github.com/a/b.git", state="running", attempts=limit, heartbeat_at=stale
    )
    result = app.state.jobs.enqueue("analysis.reconcile")
    assert app.state.jobs.result(result) == {"requeued": 0, "failed": 1, "woken": 0}
    row = _row(app, analysis_id)
    assert row.state == "failed" and row.error_code == "worker-lost" and str(limit) in row.error


def test_a_lost_queue_message_is_sent_again(app: FastAPI, tmp_path: Path) -> None:
    repo = build_fastapi_repo(tmp_path / "r")
    old = utcnow() - timedelta(seconds=app.state.settings.analysis.requeue_seconds + 5)
    analysis_id = _add(app, path=str(repo), enqueued_at=old)
    fresh_id = _add(app, path=str(repo))
    result = app.state.jobs.enqueue("analysis.reconcile")
    assert app.state.jobs.result(result) == {"requeued": 0, "failed": 0, "woken": 1}
    assert _row(app, analysis_id).state == "succeeded"
    assert _row(app, fresh_id).state == "queued"  # recently queued: its message is still on its way
