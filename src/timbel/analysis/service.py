"""Analyses as stored runs: start one, move it through its state machine, read it, scope it.

Transactions belong to the edges (routes, the job); functions here flush. A new analysis is queued
only after the request commits (``after_commit``), so the worker always finds its row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select, update
from sqlalchemy.orm import Session

from timbel.analysis.models import ANALYSIS_MACHINE, Analysis, AnalysisState, AnalysisStateChange
from timbel.analysis.url_guard import AllowList, Resolver, SystemResolver, check_repo_url
from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import service as catalog_service
from timbel.catalog import system_service
from timbel.core.db import after_commit, utcnow
from timbel.core.errors import NotFound, PermissionDenied, ValidationFailed
from timbel.core.pagination import PageParams, fetch_page
from timbel.core.settings import Settings
from timbel.core.states import Transition, set_state

RUN_JOB = "analysis.run"
_REF = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/@+-]{1,255}$")
Enqueue = Callable[..., str]


def allow_list(settings: Settings) -> AllowList:
    """Return the admin allow-list of internal git hosts from the settings."""
    return AllowList.from_entries(settings.analysis.allowed_hosts)


def _invalid(field: str, kind: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"loc": ["body", field], "type": kind, "msg": message}])


def visible_filter(principal: Principal) -> ColumnElement[bool] | None:
    """Limit analyses to visible domains, plus the caller's own analyses not yet tied to a domain."""
    if catalog_service.sees_all(principal):
        return None
    return or_(Analysis.domain_id.in_(principal.domain_ids), Analysis.created_by == principal.user_id)


def get_visible_or_raise(session: Session, *, principal: Principal, analysis_id: str) -> Analysis:
    """Return an analysis the caller may see, or raise NotFound."""
    stmt = select(Analysis).where(Analysis.id == analysis_id)
    limit = visible_filter(principal)
    if limit is not None:
        stmt = stmt.where(limit)
    analysis = session.scalar(stmt)
    if analysis is None:
        raise NotFound("No such analysis.")
    return analysis


def _target(
    session: Session,
    *,
    principal: Principal,
    settings: Settings,
    url: str | None,
    path: str | None,
    system_id: str | None,
    resolver: Resolver,
) -> tuple[str | None, str | None, str | None, str | None]:
    """Check what to analyse; return (url, path, system_id, domain_id)."""
    given = [name for name, value in (("url", url), ("path", path), ("system_id", system_id)) if value]
    if len(given) != 1:
        raise _invalid("url", "analysis.target", "Give exactly one of url, path or system_id.")
    domain_id = None
    if system_id:
        system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
        if not system.repo_url:
            raise _invalid("system_id", "analysis.no_repository", "The system has no repository URL.")
        domain_id = system.domain_id
        url, path = (None, system.repo_url) if system.repo_url.startswith("/") else (system.repo_url, None)
    if path:
        if not principal.has(Permission.admin_settings):
            raise PermissionDenied("Only administrators may analyse a path on the server.")
        if not Path(path).is_absolute() or not Path(path).is_dir():
            raise _invalid("path", "analysis.path", "The path is not a directory on the server.")
        return None, str(Path(path)), system_id, domain_id
    assert url is not None
    checked = check_repo_url(url, resolver=resolver, allow=allow_list(settings))
    return checked.url, None, system_id, domain_id


def start(
    session: Session,
    *,
    principal: Principal,
    settings: Settings,
    ctx: AuditContext,
    enqueue: Enqueue,
    url: str | None = None,
    path: str | None = None,
    ref: str | None = None,
    system_id: str | None = None,
    resolver: Resolver | None = None,
) -> Analysis:
    """Queue an analysis of a URL, a server path (admins) or a system's repository; audited."""
    if ref is not None and not _REF.match(ref):
        raise _invalid("ref", "analysis.ref", "The ref is not a valid branch, tag or commit SHA.")
    url, path, system_id, domain_id = _target(
        session,
        principal=principal,
        settings=settings,
        url=(url or "").strip() or None,
        path=(path or "").strip() or None,
        system_id=system_id,
        resolver=resolver or SystemResolver(),
    )
    analysis = Analysis(
        url=url, path=path, ref=ref, system_id=system_id, domain_id=domain_id, created_by=principal.user_id
    )
    session.add(analysis)
    session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action="analysis.start",
        target_type="analysis",
        target_id=analysis.id,
        summary=f"started analysis of {url or path}" + (f" at {ref}" if ref else ""),
        changes={"url": url, "path": path, "ref": ref, "system_id": system_id},
    )
    analysis_id = analysis.id
    after_commit(session, lambda: enqueue(RUN_JOB, analysis_id=analysis_id))
    return analysis


def list_analyses(
    session: Session,
    *,
    principal: Principal,
    paging: PageParams,
    system_id: str | None = None,
    state: str | None = None,
) -> tuple[list[Analysis], int]:
    """List visible analyses, newest first."""
    stmt: Select[Any] = select(Analysis)
    limit = visible_filter(principal)
    if limit is not None:
        stmt = stmt.where(limit)
    if system_id:
        stmt = stmt.where(Analysis.system_id == system_id)
    if state:
        stmt = stmt.where(Analysis.state == state)
    return fetch_page(session, stmt, model=Analysis, order=Analysis.created_at.desc(), paging=paging)


def latest_report(session: Session, *, system_id: str) -> Analysis | None:
    """Return the system's newest succeeded analysis, if any."""
    return session.scalar(
        select(Analysis)
        .where(Analysis.system_id == system_id, Analysis.state == AnalysisState.succeeded.value)
        .order_by(Analysis.finished_at.desc(), Analysis.id.desc())
        .limit(1)
    )


def latest_run(session: Session, *, system_id: str) -> Analysis | None:
    """Return the system's newest analysis whatever its state."""
    return session.scalar(
        select(Analysis)
        .where(Analysis.system_id == system_id)
        .order_by(Analysis.created_at.desc(), Analysis.id.desc())
        .limit(1)
    )


def transition(
    session: Session,
    *,
    analysis_id: str,
    to: AnalysisState,
    reason: str = "",
    actor_id: str | None = None,
    values: dict[str, Any] | None = None,
) -> Transition:
    """Change an analysis's state through its state machine, with a history row."""
    return set_state(
        session,
        machine=ANALYSIS_MACHINE,
        model=Analysis,
        row_id=analysis_id,
        to=to,
        values=values,
        history=lambda old, new: AnalysisStateChange(
            analysis_id=analysis_id, from_state=old, to_state=new, reason=reason, actor_id=actor_id
        ),
    )


def begin(session: Session, *, analysis_id: str) -> Transition:
    """Mark a queued analysis running (a second delivery of the same message is refused)."""
    now = utcnow()
    current = session.get(Analysis, analysis_id)
    attempts = (current.attempts if current else 0) + 1
    return transition(
        session,
        analysis_id=analysis_id,
        to=AnalysisState.running,
        reason=f"attempt {attempts}",
        values={"attempts": attempts, "started_at": now, "heartbeat_at": now, "phase": "", "error": ""},
    )


def record_progress(session: Session, *, analysis_id: str, phase: str, done: int, total: int) -> None:
    """Store the running analysis's phase and progress; it doubles as the heartbeat."""
    session.execute(
        update(Analysis)
        .where(Analysis.id == analysis_id, Analysis.state == AnalysisState.running.value)
        .values(phase=phase[:32], progress_done=done, progress_total=total, heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def succeed(
    session: Session, *, analysis_id: str, report: dict[str, Any], texts: dict[str, str]
) -> Transition:
    """Store the report and mark the analysis succeeded."""
    commit = (report.get("source") or {}).get("commit")
    ref = (report.get("source") or {}).get("ref")
    return transition(
        session,
        analysis_id=analysis_id,
        to=AnalysisState.succeeded,
        values={
            "report": report,
            "readiness_score": (report.get("readiness") or {}).get("score"),
            "texts": texts,
            "commit_sha": commit,
            "phase": "done",
            "finished_at": utcnow(),
            **({"ref": ref} if ref else {}),
        },
    )


def fail(session: Session, *, analysis_id: str, code: str, message: str) -> Transition:
    """Mark the analysis failed with an error code and a one-sentence message."""
    return transition(
        session,
        analysis_id=analysis_id,
        to=AnalysisState.failed,
        reason=message[:500],
        values={"error_code": code[:64], "error": message[:2000], "finished_at": utcnow()},
    )


def reconcile(session: Session, *, settings: Settings, enqueue: Enqueue) -> dict[str, int]:
    """Requeue analyses whose message or worker was lost; fail those out of attempts."""
    now = utcnow()
    conf = settings.analysis
    requeued = failed = woken = 0
    stale = select(Analysis.id, Analysis.attempts).where(
        Analysis.state == AnalysisState.running.value,
        Analysis.heartbeat_at < now - timedelta(seconds=conf.stale_seconds),
    )
    for analysis_id, attempts in session.execute(stale).all():
        if attempts >= conf.max_attempts:
            message = f"The analysis stopped without finishing {attempts} times."
            failed += fail(session, analysis_id=analysis_id, code="worker-lost", message=message).accepted
            continue
        moved = transition(
            session,
            analysis_id=analysis_id,
            to=AnalysisState.queued,
            reason="no progress: the worker stopped",
            values={"enqueued_at": now},
        )
        if moved.accepted:
            requeued += 1
            after_commit(session, partial(enqueue, RUN_JOB, analysis_id=analysis_id))
    lost = select(Analysis.id).where(
        Analysis.state == AnalysisState.queued.value,
        Analysis.enqueued_at < now - timedelta(seconds=conf.requeue_seconds),
    )
    for analysis_id in session.scalars(lost).all():
        session.execute(
            update(Analysis)
            .where(Analysis.id == analysis_id, Analysis.state == AnalysisState.queued.value)
            .values(enqueued_at=now)
            .execution_options(synchronize_session=False)
        )
        woken += 1
        after_commit(session, partial(enqueue, RUN_JOB, analysis_id=analysis_id))
    return {"requeued": requeued, "failed": failed, "woken": woken}
