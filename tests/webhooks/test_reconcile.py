"""webhooks.reconcile: a delivery whose message was lost, or whose worker died, is processed later."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.webhooks.conftest import Recorder, delivery, post_github, push_payload
from timbel.core.db import session_scope, utcnow
from timbel.core.jobs import registered_jobs
from timbel.webhooks import service


def _lose_messages(app: FastAPI) -> tuple[Any, list[str]]:
    """Swap the app's queue for one that drops every message; return the real one and the dropped names."""
    real, dropped = app.state.jobs, []

    def drop(name: str, /, **kwargs: Any) -> str:
        dropped.append(name)
        return "lost"

    app.state.jobs = SimpleNamespace(enqueue=drop)
    return real, dropped


def _reconcile(app: FastAPI, enqueue: Any, *, minutes: int = 5) -> dict[str, int]:
    with session_scope(app.state.session_factory) as session:
        return service.reconcile(session, enqueue=enqueue, now=utcnow() + timedelta(minutes=minutes))


def test_the_reconcile_job_is_declared_every_minute() -> None:
    spec = registered_jobs()["webhooks.reconcile"]
    assert spec.periodic is not None
    assert "webhooks.process" in registered_jobs()


def test_a_delivery_whose_message_was_lost_is_processed_by_reconcile(
    client: TestClient, app: FastAPI, github_instance: str, pushes: Recorder
) -> None:
    real, dropped = _lose_messages(app)
    row_id = post_github(client, push_payload()).json()["id"]
    assert dropped == ["webhooks.process_many"]
    assert delivery(app, row_id).state == "received"

    assert _reconcile(app, real.enqueue, minutes=0) == {"requeued": 0, "woken": 0, "failed": 0}  # too young
    assert _reconcile(app, real.enqueue) == {"requeued": 0, "woken": 1, "failed": 0}

    row = delivery(app, row_id)
    assert (row.state, row.attempts, row.enqueues) == ("processed", 1, 2)
    assert len(pushes.events) == 1


def test_a_delivery_whose_worker_died_is_queued_again(
    client: TestClient, app: FastAPI, github_instance: str, pushes: Recorder
) -> None:
    real, _ = _lose_messages(app)
    row_id = post_github(client, push_payload()).json()["id"]
    with session_scope(app.state.session_factory) as session:
        assert service.begin(session, delivery_id=row_id).accepted  # a worker took it, then died

    assert _reconcile(app, real.enqueue) == {"requeued": 1, "woken": 0, "failed": 0}

    row = delivery(app, row_id)
    assert (row.state, row.attempts) == ("processed", 2)
    assert len(pushes.events) == 1


def test_a_delivery_that_never_gets_processed_fails_after_three_attempts(
    client: TestClient, app: FastAPI, github_instance: str
) -> None:
    _, dropped = _lose_messages(app)
    lost = app.state.jobs.enqueue
    row_id = post_github(client, push_payload()).json()["id"]

    results = [_reconcile(app, lost, minutes=5 * step) for step in (1, 2, 3)]

    assert [r["woken"] for r in results] == [1, 1, 0]
    assert results[-1]["failed"] == 1
    row = delivery(app, row_id)
    assert (row.state, row.enqueues) == ("failed", 3)
    assert "never processed" in row.last_error
    assert len(dropped) == 3


def test_the_next_batch_takes_a_waiting_delivery_along(
    client: TestClient, app: FastAPI, github_instance: str, pushes: Recorder
) -> None:
    real, dropped = _lose_messages(app)
    lost_id = post_github(client, push_payload(after="1" * 40)).json()["id"]
    app.state.jobs = real

    later_id = post_github(client, push_payload(after="2" * 40)).json()["id"]

    assert dropped == ["webhooks.process_many"]
    assert delivery(app, lost_id).state == delivery(app, later_id).state == "processed"
    assert [e.after for e in pushes.events] == ["2" * 40, "1" * 40]
