"""``DbRunEvents``: the service side of ``engine_base.RunEvents``, writing in short transactions.

Why short transactions: an engine blocks for minutes; every report (a stage change, a batch of log lines,
an artifact) commits on its own so pages and the reconciler see it at once, and no lock is held in
between. Heartbeats are throttled to one write a second; the cancel flag is read at most once a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from timbel.core.db import session_scope, utcnow
from timbel.pipelines import logs
from timbel.pipelines.engine_base import RunState, StageState
from timbel.pipelines.run_models import STAGE_MACHINE, PipelineRun, RunArtifact, StageRun

THROTTLE_SECONDS = 1.0


def move_stage(
    session: Session, *, run_id: str, index: int, to: StageState, values: Mapping[str, Any]
) -> bool:
    """Move a stage run through ``STAGE_MACHINE`` (compare-and-set); a finish from pending passes running."""
    row = session.execute(
        select(StageRun.id, StageRun.state)
        .where(StageRun.run_id == run_id, StageRun.index == index)
        .with_for_update()
    ).first()
    if row is None:
        return False
    stage_id, seen = row
    old = StageState(seen)
    via_running = old is StageState.pending and STAGE_MACHINE.allows(StageState.running, to)
    if not (STAGE_MACHINE.allows(old, to) or via_running):
        return False
    result = session.execute(
        update(StageRun)
        .where(StageRun.id == stage_id, StageRun.state == seen)
        .values(state=to.value, **dict(values))
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


class DbRunEvents:
    """Record what an engine reports about one run (implements ``engine_base.RunEvents``)."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        run_id: str,
        mask: Sequence[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory, self.run_id, self._mask, self._clock = session_factory, run_id, tuple(mask), clock
        self._beat_at = float("-inf")
        self._cancel_checked_at = float("-inf")
        self._cancelled = False

    def __repr__(self) -> str:
        return f"DbRunEvents(run_id={self.run_id!r})"

    def _touch(self, session: Session) -> None:
        """Count any report as a heartbeat when the last one is older than the throttle."""
        now = self._clock()
        if now - self._beat_at < THROTTLE_SECONDS:
            return
        self._beat_at = now
        session.execute(
            update(PipelineRun)
            .where(PipelineRun.id == self.run_id, PipelineRun.state == RunState.running.value)
            .values(heartbeat_at=utcnow())
            .execution_options(synchronize_session=False)
        )

    def stage_started(self, index: int) -> None:
        """Stage ``index`` began (a retry attempt of a running stage only counts the attempt)."""
        with session_scope(self._factory) as session:
            moved = move_stage(
                session,
                run_id=self.run_id,
                index=index,
                to=StageState.running,
                values={"started_at": utcnow(), "attempts": StageRun.attempts + 1},
            )
            if not moved:
                session.execute(
                    update(StageRun)
                    .where(
                        StageRun.run_id == self.run_id,
                        StageRun.index == index,
                        StageRun.state == StageState.running.value,
                    )
                    .values(attempts=StageRun.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
            self._touch(session)

    def stage_finished(
        self, index: int, *, state: StageState, exit_code: int | None = None, reason: str = ""
    ) -> None:
        """Stage ``index`` ended."""
        with session_scope(self._factory) as session:
            values = {"finished_at": utcnow(), "exit_code": exit_code, "reason": reason[:2000]}
            move_stage(session, run_id=self.run_id, index=index, to=state, values=values)
            self._touch(session)

    def log(self, text: str, *, stage_index: int | None = None) -> None:
        """Append output to the run's log (masked by the store)."""
        if not text:
            return
        with session_scope(self._factory) as session:
            logs.append_log(session, run_id=self.run_id, text=text, stage_index=stage_index, mask=self._mask)
            self._touch(session)

    def artifact(self, kind: str, data: Mapping[str, Any]) -> None:
        """Record an artifact of the run."""
        with session_scope(self._factory) as session:
            session.add(RunArtifact(run_id=self.run_id, kind=kind[:32], data=dict(data)))
            self._touch(session)

    def heartbeat(self) -> None:
        """Say the run is alive (at most one write a second)."""
        if self._clock() - self._beat_at < THROTTLE_SECONDS:
            return
        with session_scope(self._factory) as session:
            self._touch(session)

    def cancel_requested(self) -> bool:
        """True once someone asked to cancel (read at most once a second)."""
        if self._cancelled:
            return True
        now = self._clock()
        if now - self._cancel_checked_at < THROTTLE_SECONDS:
            return False
        self._cancel_checked_at = now
        with self._factory() as session:
            asked = session.scalar(
                select(PipelineRun.cancel_requested_at).where(PipelineRun.id == self.run_id)
            )
        self._cancelled = asked is not None
        return self._cancelled

    def set_engine_ref(self, ref: Mapping[str, Any]) -> None:
        """Remember where the run lives in the engine."""
        with session_scope(self._factory) as session:
            session.execute(
                update(PipelineRun)
                .where(PipelineRun.id == self.run_id)
                .values(engine_ref=dict(ref))
                .execution_options(synchronize_session=False)
            )
            self._touch(session)
