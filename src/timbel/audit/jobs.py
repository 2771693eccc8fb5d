"""Audit background jobs: enforce the retention period of the audit trail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select

from timbel.audit.models import AuditEntry
from timbel.core.db import session_scope, utcnow
from timbel.core.jobs import JobContext, crontab, job

DEFAULT_BATCH_SIZE = 5000


@job("audit.prune", periodic=crontab(minute="30", hour="3"))
def prune(ctx: JobContext, *, batch_size: int = DEFAULT_BATCH_SIZE) -> dict[str, Any]:
    """Delete audit entries older than the retention period, oldest first, in bounded batches.

    Each batch is its own transaction, so a large backlog never holds a long write lock
    (SQLite) or bloats one transaction (PostgreSQL), and an interrupted run keeps its progress.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    cutoff = utcnow() - timedelta(days=ctx.settings.audit.retention_days)
    deleted = batches = 0
    while True:
        oldest = (
            select(AuditEntry.id)
            .where(AuditEntry.created_at < cutoff)
            .order_by(AuditEntry.created_at)
            .limit(batch_size)
        )
        with session_scope(ctx.session_factory) as session:
            result = cast(
                CursorResult[Any],
                session.execute(
                    delete(AuditEntry)
                    .where(AuditEntry.id.in_(oldest))
                    .execution_options(synchronize_session=False)
                ),
            )
            count = int(result.rowcount or 0)
        deleted += count
        if count:
            batches += 1
        if count < batch_size:
            break
    return {"deleted": deleted, "batches": batches, "cutoff": cutoff.isoformat()}
