"""The promotion checklist with a live target (faked), a pipeline run's test reports and an alert source."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.deployments._act_support import World, world_fixture  # noqa: F401
from timbel.catalog.models import System
from timbel.core.db import session_scope, utcnow
from timbel.deployments import checklist, targets
from timbel.deployments.live import LiveStatus
from timbel.pipelines.run_models import Pipeline, PipelineRun, RunArtifact


def _live(monkeypatch: pytest.MonkeyPatch, health: str) -> None:
    def live_status(session: Any, *, settings: Any, system: Any, environment: Any) -> LiveStatus:
        return LiveStatus(target_kind="argocd", health=health, sync="Synced")

    monkeypatch.setattr(targets, "live_status", live_status)  # the target answers with ``health``


def _items(w: World, to: str = "stg") -> dict[str, checklist.ChecklistItem]:
    with session_scope(w.app.state.session_factory) as session:
        system = session.get(System, w.system)
        assert system is not None
        found = checklist.promotion_checklist(
            session, settings=w.app.state.settings, system=system, to_env=to
        )
    return {i.key: i for i in found}


def _release_with_run(w: World, *, state: str, failures: int | None) -> str:
    with session_scope(w.app.state.session_factory) as session:
        pipeline = Pipeline(system_id=w.system)
        session.add(pipeline)
        session.flush()
        run = PipelineRun(pipeline_id=pipeline.id, system_id=w.system, number=7, trigger="push", ref="main",
                          engine="local", state=state)  # fmt: skip
        session.add(run)
        session.flush()
        if failures is not None:
            session.add(RunArtifact(run_id=run.id, kind="junit", data={"tests": 40, "failures": failures}))
        run_id = run.id
    return w.release("3.0.0", pipeline_run_id=run_id)


def test_healthy_long_enough_passes_and_too_recent_blocks(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _live(monkeypatch, "Healthy")
    world.env_update("dev", healthy_minutes=30)
    world.succeeded("dev", world.release("1.0.0"), finished_at=utcnow() - timedelta(minutes=45))
    item = _items(world)["previous_healthy"]
    assert item.status == "pass" and item.blocking and "1.0.0" in item.evidence
    world.succeeded("dev", world.release("1.1.0"), finished_at=utcnow() - timedelta(minutes=5))
    item = _items(world)["previous_healthy"]
    assert item.status == "fail" and "of the 30 minutes" in item.evidence
    code = world.client.post(
        f"/api/v1/systems/{world.system}/promotions", json={"to": "stg"}, headers=world.headers("operations")
    )
    assert code.status_code == 409
    assert "previous_healthy" in code.json()["detail"]


def test_degraded_previous_environment_blocks(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _live(monkeypatch, "Degraded")
    world.succeeded("dev", world.release("1.0.0"))
    item = _items(world)["previous_healthy"]
    assert item.status == "fail" and "Degraded" in item.evidence


def test_unreachable_target_is_unknown_not_blocking(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _live(monkeypatch, "unreachable")
    world.succeeded("dev", world.release("1.0.0"))
    item = _items(world)["previous_healthy"]
    assert item.status == "unknown" and not item.blocking


@pytest.mark.parametrize(
    ("state", "failures", "status"),
    [
        ("succeeded", 0, "pass"),
        ("succeeded", 3, "fail"),
        ("failed", 0, "fail"),
        ("succeeded", None, "unknown"),
    ],
)
def test_tests_passed_reads_the_release_run(
    world: World, state: str, failures: int | None, status: str
) -> None:
    world.succeeded("dev", _release_with_run(world, state=state, failures=failures))
    item = _items(world)["tests_passed"]
    assert item.status == status, item
    assert item.blocking is (status != "unknown")


@pytest.fixture
def alert_source() -> Iterator[list[checklist.AlertSource]]:
    added: list[checklist.AlertSource] = []
    yield added
    for source in added:
        checklist.ALERT_SOURCES.remove(source)


def test_an_alert_source_plugs_in(world: World, alert_source: list[checklist.AlertSource]) -> None:
    def firing(data: checklist.CheckInput) -> checklist.ChecklistItem:
        return checklist.ChecklistItem(
            "no_critical_alert", "fail", f"HighErrorRate on {data.system.slug}", True
        )

    checklist.register_alert_source(firing)
    alert_source.append(firing)
    world.succeeded("dev", world.release("1.0.0"))
    item = _items(world)["no_critical_alert"]
    assert item.status == "fail" and "HighErrorRate on cart" in item.evidence
