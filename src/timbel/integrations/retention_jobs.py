"""The daily retention job: every registry/Nexus instance with ``retention_schedule_enabled`` is cleaned up.

Each instance is isolated: its failure is audited and stored as its last error, and the others still run.
An instance reports only (dry run) unless its ``retention_apply`` option is true. No session is held while
a registry is called (see ``retention_service``).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from timbel.audit.service import AuditContext
from timbel.core.db import session_scope
from timbel.core.errors import AppError
from timbel.core.jobs import JobContext, crontab, job
from timbel.integrations import retention_service
from timbel.integrations.models import Integration
from timbel.integrations.retention_service import RETENTION_KINDS, RetentionReport, RetentionTarget

logger = logging.getLogger(__name__)
RETENTION_JOB = "integrations.retention"


@job(RETENTION_JOB, periodic=crontab(minute="30", hour="3"))
def run_scheduled_retention(ctx: JobContext, *, integration_id: str | None = None) -> dict[str, Any]:
    """Run retention on every enabled instance (or one); return how many applied, reported and failed."""
    from timbel.integrations.builtin import register_builtin_adapters  # a worker process builds no app

    register_builtin_adapters()
    audit = AuditContext(actor_name=f"job {RETENTION_JOB}", request_id=ctx.job_id)
    todo: list[tuple[Integration, RetentionTarget | str]] = []
    with session_scope(ctx.session_factory) as session:
        query = select(Integration).where(Integration.kind.in_([k.value for k in RETENTION_KINDS]))
        if integration_id is not None:
            query = query.where(Integration.id == integration_id)
        for row in session.scalars(query.order_by(Integration.name)):
            if (row.options or {}).get("retention_schedule_enabled") is not True:
                continue
            try:
                todo.append((row, retention_service.load_target(session, settings=ctx.settings, row=row)))
            except AppError as exc:
                todo.append((row, exc.detail))
            session.expunge(row)
    counts = {"instances": len(todo), "applied": 0, "reported": 0, "failed": 0}
    for row, target in todo:
        report = _run(row, target)
        with session_scope(ctx.session_factory) as session:
            if session.get(Integration, row.id) is not None:  # not deleted meanwhile
                retention_service.record_outcome(session, report=report, ctx=audit, scheduled=True)
        counts["failed" if not report.ok else "reported" if report.dry_run else "applied"] += 1
    return counts


def _run(row: Integration, target: RetentionTarget | str) -> RetentionReport:
    """One instance's run; any failure (even a bug) becomes a failed report, never an exception."""
    failed = RetentionReport(
        integration_id=row.id, integration_name=row.name, kind=row.kind, dry_run=True, keep_last=0
    )
    if isinstance(target, str):
        return failed.model_copy(update={"error": target})
    failed.dry_run = not target.apply
    try:
        return retention_service.execute(target, dry_run=not target.apply)
    except AppError as exc:
        return failed.model_copy(update={"error": exc.detail})
    except Exception as exc:  # one broken instance must never stop the others
        logger.warning("retention of %s failed with %s", row.name, type(exc).__name__)
        return failed.model_copy(update={"error": f"{row.name}: unexpected failure ({type(exc).__name__})"})
