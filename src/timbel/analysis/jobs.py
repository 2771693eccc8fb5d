"""Analysis background jobs: run one analysis; reconcile lost or stalled ones every minute.

``analysis.run`` is idempotent: it only works on an analysis it could move from ``queued`` to
``running``, so a message delivered twice runs once. Progress is written at most twice a second
and doubles as the heartbeat the reconciler watches.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from timbel.analysis import knowledge_sync, run, service
from timbel.analysis.files import TooManyFilesError
from timbel.analysis.models import Analysis
from timbel.core.db import session_scope
from timbel.core.errors import AppError
from timbel.core.jobs import JobContext, crontab, job
from timbel.integrations.github.credentials import InstanceCredentials

logger = logging.getLogger(__name__)
PROGRESS_INTERVAL = 0.5


class _Progress:
    """Write phase changes at once and other progress at most every ``PROGRESS_INTERVAL`` seconds."""

    def __init__(self, ctx: JobContext, analysis_id: str) -> None:
        self.ctx, self.analysis_id = ctx, analysis_id
        self.phase, self.last = "", 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if phase == self.phase and now - self.last < PROGRESS_INTERVAL:
            return
        self.phase, self.last = phase, now
        with session_scope(self.ctx.session_factory) as session:
            service.record_progress(
                session, analysis_id=self.analysis_id, phase=phase, done=done, total=total
            )


def _fail(ctx: JobContext, analysis_id: str, code: str, message: str) -> dict[str, Any]:
    with session_scope(ctx.session_factory) as session:
        service.fail(session, analysis_id=analysis_id, code=code, message=message)
    return {"analysis_id": analysis_id, "state": "failed", "code": code}


@job("analysis.run")
def run_analysis(ctx: JobContext, *, analysis_id: str) -> dict[str, Any]:
    """Run a queued analysis to success or failure; update the catalog if it belongs to a system."""
    with session_scope(ctx.session_factory) as session:
        started = service.begin(session, analysis_id=analysis_id)
        if not started.accepted:
            return {"analysis_id": analysis_id, "skipped": started.refusal}
        analysis = session.get(Analysis, analysis_id)
        assert analysis is not None
        url, path, ref, domain_id = analysis.url, analysis.path, analysis.ref, analysis.domain_id
    credentials = InstanceCredentials(
        session_factory=ctx.session_factory, settings=ctx.settings, domain_id=domain_id
    )
    try:
        report, texts = run.execute(
            settings=ctx.settings,
            url=url,
            path=path,
            ref=ref,
            on_progress=_Progress(ctx, analysis_id),
            credentials=credentials,
        )
    except AppError as exc:
        return _fail(ctx, analysis_id, exc.code, str(exc.detail or exc.title))
    except TooManyFilesError as exc:
        return _fail(ctx, analysis_id, "too-many-files", str(exc))
    except Exception:
        logger.exception("analysis %s failed", analysis_id)
        return _fail(
            ctx, analysis_id, "internal-error", "The analysis failed unexpectedly; see the server log."
        )
    try:
        with session_scope(ctx.session_factory) as session:
            done = service.succeed(
                session,
                analysis_id=analysis_id,
                report=report.model_dump(mode="json", by_alias=True),
                texts=texts,
            )
            if done.accepted:
                knowledge_sync.sync_system_after_run(session, analysis_id=analysis_id)
    except Exception:
        logger.exception("analysis %s: storing the report failed", analysis_id)
        return _fail(ctx, analysis_id, "store-failed", "The report could not be stored; see the server log.")
    return {"analysis_id": analysis_id, "state": "succeeded" if done.accepted else done.from_state}


@job("analysis.reconcile", periodic=crontab(minute="*"))
def reconcile(ctx: JobContext) -> dict[str, int]:
    """Requeue analyses whose worker died or whose message was lost; fail those out of attempts."""
    with session_scope(ctx.session_factory) as session:
        return service.reconcile(session, settings=ctx.settings, enqueue=ctx.enqueue)
