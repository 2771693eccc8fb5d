"""Webhook background jobs: process one delivery; every minute, recover deliveries whose message was lost.

``webhooks.process`` is idempotent: it only works on a delivery it could move from ``received`` to
``processing``, so a message delivered twice processes once.
"""

from __future__ import annotations

from typing import Any

from timbel.core.db import session_scope
from timbel.core.jobs import JobContext, crontab, job
from timbel.webhooks import processing, service


@job(service.PROCESS_JOB)
def process_delivery(ctx: JobContext, *, delivery_id: str) -> dict[str, Any]:
    """Process a received delivery (a push: match systems, call the push handlers)."""
    return processing.process(
        session_factory=ctx.session_factory, delivery_id=delivery_id, enqueue=ctx.enqueue
    )


@job(service.PROCESS_MANY_JOB)
def process_deliveries(ctx: JobContext, *, delivery_ids: list[str]) -> dict[str, Any]:
    """Process the deliveries one receiver batch stored, in two transactions when all goes well."""
    return processing.process_many(
        session_factory=ctx.session_factory, delivery_ids=delivery_ids, enqueue=ctx.enqueue
    )


@job("webhooks.reconcile", periodic=crontab(minute="*"))
def reconcile(ctx: JobContext) -> dict[str, int]:
    """Queue again deliveries stuck in received/processing; fail those out of attempts."""
    with session_scope(ctx.session_factory) as session:
        return service.reconcile(session, enqueue=ctx.enqueue)
