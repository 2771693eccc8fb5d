"""Integration background jobs: a health check of every instance every five minutes.

Why no session is held across a test: a connection test may wait for a slow server; the configs are read in
one short transaction and each result is written in its own, so the database is never locked by the network.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from timbel.core.db import session_scope
from timbel.core.jobs import JobContext, crontab, job
from timbel.integrations import service
from timbel.integrations.base import ConnectionReport, IntegrationKind
from timbel.integrations.models import Integration
from timbel.integrations.registry_of_adapters import InstanceConfig, registered_kinds

HEALTH_JOB = "integrations.health"


@job(HEALTH_JOB, periodic=crontab(minute="*/5"))
def check_health(ctx: JobContext, *, integration_id: str | None = None) -> dict[str, Any]:
    """Test every instance whose kind has an adapter (or one instance) and record status and last error."""
    from timbel.integrations.builtin import register_builtin_adapters  # a worker process builds no app

    register_builtin_adapters()
    adapters = registered_kinds()
    with session_scope(ctx.session_factory) as session:
        query = select(Integration).order_by(Integration.name)
        if integration_id is not None:
            query = query.where(Integration.id == integration_id)
        rows = list(session.scalars(query))
        todo: list[tuple[str, InstanceConfig | ConnectionReport]] = [
            (row.id, service.config_or_report(row, settings=ctx.settings))
            for row in rows
            if IntegrationKind(row.kind) in adapters
        ]
        skipped = len(rows) - len(todo)
    counts = {"ok": 0, "failing": 0}
    for row_id, config in todo:
        report = service.run_check(config) if isinstance(config, InstanceConfig) else config
        with session_scope(ctx.session_factory) as session:
            row = session.get(Integration, row_id)
            if row is not None:  # deleted meanwhile
                service.record_health(row, report)
        counts["ok" if report.ok else "failing"] += 1
    return {"checked": len(todo), "skipped": skipped, **counts}
