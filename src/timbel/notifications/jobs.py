"""Notification jobs: deliver one message (woken after commit), and a reconcile every minute that
re-enqueues due retries and deliveries a dead worker left behind."""

from __future__ import annotations

from typing import Any

from timbel.core.db import session_scope
from timbel.core.jobs import JobContext, crontab, job
from timbel.notifications import service

RECONCILE_JOB = "notifications.reconcile"


def _ensure_adapters() -> None:
    """A worker process builds no app: register the shipped adapters before building one."""
    from timbel.integrations.builtin import register_builtin_adapters

    register_builtin_adapters()


@job(service.DELIVER_JOB)
def deliver(ctx: JobContext, *, delivery_id: str) -> dict[str, Any]:
    """Send one due delivery; a failure is recorded on the row (retried by reconcile), never raised."""
    _ensure_adapters()
    outcome = service.deliver(
        session_factory=ctx.session_factory, settings=ctx.settings, delivery_id=delivery_id
    )
    return {"delivery_id": delivery_id, "outcome": outcome}


@job(RECONCILE_JOB, periodic=crontab(minute="*"))
def reconcile(ctx: JobContext) -> dict[str, Any]:
    """Release stuck deliveries and wake every due one (claiming is atomic, so a double wake is harmless)."""
    with session_scope(ctx.session_factory) as session:
        due = service.reconcile(session)
    for delivery_id in due:
        ctx.enqueue(service.DELIVER_JOB, delivery_id=delivery_id)
    return {"enqueued": len(due)}
