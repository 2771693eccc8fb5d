"""The promotion checklist: what must hold before a release moves on to the next environment.

Why a list of check functions: monitoring (not built yet) adds its "no critical alert" source through
``register_alert_source`` without this module knowing about it. Unknown items never block; a failing
blocking item refuses the promotion (unless an administrator declares an emergency).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.catalog.models import System
from timbel.core.db import utcnow
from timbel.deployments import freeze, service, targets
from timbel.deployments.models import Environment
from timbel.pipelines.run_models import PipelineRun, RunArtifact

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"


@dataclass(frozen=True)
class ChecklistItem:
    """One checklist line: what was checked, whether it holds, the evidence, and whether it blocks."""

    key: str
    status: str  # pass | fail | unknown
    evidence: str
    blocking: bool

    def as_dict(self) -> dict[str, Any]:
        """The item as stored on a deployment (``passed`` kept for older readers)."""
        return {**asdict(self), "passed": self.status == PASS}


@dataclass(frozen=True)
class CheckInput:
    """What every check gets: the system, the target environment, the previous one, and the time."""

    session: Session
    settings: Any
    system: System
    to_env: Environment
    previous: Environment | None
    now: datetime


AlertSource = Callable[[CheckInput], ChecklistItem]
ALERT_SOURCES: list[AlertSource] = []


def register_alert_source(source: AlertSource) -> None:
    """Add a source for the ``no_critical_alert`` item (monitoring registers one)."""
    if source not in ALERT_SOURCES:
        ALERT_SOURCES.append(source)


def _live_status(data: CheckInput, environment: Environment) -> Any:
    try:
        return targets.live_status(
            data.session, settings=data.settings, system=data.system, environment=environment
        )
    except Exception as exc:  # an unreachable target makes the item unknown, never a crash
        return {"error": str(exc)[:200]}


def previous_healthy(data: CheckInput) -> ChecklistItem:
    """The previous environment's current release succeeded and has been healthy long enough."""
    key = "previous_healthy"
    if data.previous is None:
        return ChecklistItem(key, FAIL, f"{data.to_env.name} has no previous environment.", True)
    current = service.last_good(data.session, system_id=data.system.id, environment=data.previous.name)
    if current is None:
        return ChecklistItem(key, FAIL, f"Nothing has succeeded in {data.previous.name} yet.", True)
    release = service.get_release(data.session, release_id=current.release_id)
    since = current.finished_at or current.created_at
    head = f"{release.version} succeeded in {data.previous.name} at {since:%Y-%m-%d %H:%M} UTC"
    live = _live_status(data, data.previous)
    if live is None:
        return ChecklistItem(key, UNKNOWN, f"{head}; not verified: live status is not available.", False)
    if isinstance(live, dict):
        return ChecklistItem(key, UNKNOWN, f"{head}; not verified: {live['error']}", False)
    health = str(getattr(live, "health", ""))
    if health == "not-verified":
        return ChecklistItem(key, UNKNOWN, f"{head}; not verified: no live target.", False)
    if health == "unreachable":
        detail = getattr(live, "detail", "")
        return ChecklistItem(
            key, UNKNOWN, f"{head}; not verified: target unreachable {detail}".strip(), False
        )
    if health != "Healthy":
        return ChecklistItem(key, FAIL, f"{head}; the target reports {health}.", True)
    minutes = (data.now - since).total_seconds() / 60
    needed = data.previous.healthy_minutes
    if minutes < needed:
        evidence = f"{head}; Healthy for {int(minutes)} of the {needed} minutes needed."
        return ChecklistItem(key, FAIL, evidence, True)
    return ChecklistItem(key, PASS, f"{head}; the target reports Healthy.", True)


def tests_passed(data: CheckInput) -> ChecklistItem:
    """The release's pipeline run succeeded and its test reports show no failures."""
    key = "tests_passed"
    previous = data.previous
    current = (
        service.last_good(data.session, system_id=data.system.id, environment=previous.name)
        if previous is not None
        else None
    )
    if current is None:
        return ChecklistItem(key, UNKNOWN, "No release to check.", False)
    release = service.get_release(data.session, release_id=current.release_id)
    run = data.session.get(PipelineRun, release.pipeline_run_id) if release.pipeline_run_id else None
    if run is None:
        return ChecklistItem(key, UNKNOWN, f"Cut by hand from commit {release.source_commit[:12]}.", False)
    label = f"run #{run.number}"
    if run.state != "succeeded":
        return ChecklistItem(key, FAIL, f"The release's {label} ended {run.state}.", True)
    reports = data.session.scalars(
        select(RunArtifact.data).where(RunArtifact.run_id == run.id, RunArtifact.kind == "junit")
    ).all()
    if not reports:
        return ChecklistItem(key, UNKNOWN, f"{label} succeeded but published no test report.", False)
    tests = sum(int(r.get("tests") or 0) for r in reports)
    failed = sum(int(r.get("failures") or 0) + int(r.get("errors") or 0) for r in reports)
    if failed:
        return ChecklistItem(key, FAIL, f"{label}: {failed} of {tests} tests failed.", True)
    return ChecklistItem(key, PASS, f"{label} succeeded; {tests} tests, 0 failures.", True)


def no_critical_alert(data: CheckInput) -> ChecklistItem:
    """No critical alert fires for the system (unknown until a monitoring source is registered)."""
    if not ALERT_SOURCES:
        return ChecklistItem("no_critical_alert", UNKNOWN, "No alert source configured.", False)
    items = [source(data) for source in ALERT_SOURCES]
    failing = [i for i in items if i.status == FAIL]
    if failing:
        return failing[0]
    unknown = [i for i in items if i.status == UNKNOWN]
    return unknown[0] if unknown else items[0]


def no_freeze(data: CheckInput) -> ChecklistItem:
    """The target environment is not inside a freeze window."""
    window = freeze.active_window(data.to_env, now=data.now)
    if window is not None:
        return ChecklistItem(
            "no_freeze", FAIL, f"{data.to_env.name} is frozen: {freeze.describe(window)}", True
        )
    return ChecklistItem("no_freeze", PASS, f"{data.to_env.name} is not in a freeze window.", True)


CHECKS: list[Callable[[CheckInput], ChecklistItem]] = [
    previous_healthy,
    tests_passed,
    no_critical_alert,
    no_freeze,
]


def promotion_checklist(
    session: Session, *, settings: Any, system: System, to_env: str, now: datetime | None = None
) -> list[ChecklistItem]:
    """Evaluate every checklist item for promoting a system into ``to_env``."""
    target = service.get_environment(session, domain_id=system.domain_id, name=to_env)
    previous = service.previous_environment(session, domain_id=system.domain_id, name=to_env)
    data = CheckInput(session, settings, system, target, previous, now or utcnow())
    return [check(data) for check in CHECKS]


def blocking_failures(items: list[ChecklistItem]) -> list[ChecklistItem]:
    """The items that refuse a promotion."""
    return [i for i in items if i.blocking and i.status == FAIL]
