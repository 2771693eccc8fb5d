"""Periodic job: expire approval requests nobody decided in time (their deployments are cancelled)."""

from __future__ import annotations

from timbel.core.db import session_scope
from timbel.core.jobs import JobContext, crontab, job
from timbel.deployments import approvals


@job("deployments.expire_approvals", periodic=crontab(minute="*"))
def expire_approvals(ctx: JobContext) -> dict[str, int]:
    """Expire pending approval requests past their deadline."""
    with session_scope(ctx.session_factory) as session:
        return {"expired": approvals.expire(session)}
