"""Pipeline ORM models: a pipeline per system (with versions), its runs, stages, artifacts, history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from timbel.core.db import Base, new_id, utcnow
from timbel.core.states import Machine
from timbel.pipelines.engine_base import RunState, StageState

R = RunState
RUN_MACHINE: Machine[RunState] = Machine(
    "pipeline_run",
    {
        R.queued: frozenset({R.running, R.cancelled, R.failed}),
        R.running: frozenset({R.succeeded, R.failed, R.cancelled, R.timed_out}),
        R.succeeded: frozenset(),
        R.failed: frozenset(),
        R.cancelled: frozenset(),
        R.timed_out: frozenset(),
    },
)
G = StageState
STAGE_MACHINE: Machine[StageState] = Machine(
    "stage_run",
    {
        G.pending: frozenset({G.running, G.skipped, G.cancelled}),
        G.running: frozenset({G.succeeded, G.failed, G.cancelled, G.skipped}),
        G.succeeded: frozenset(),
        G.failed: frozenset(),
        G.skipped: frozenset(),
        G.cancelled: frozenset(),
    },
)
TERMINAL_RUN_STATES = frozenset(s.value for s in RunState if RUN_MACHINE.terminal(s))


class Pipeline(Base):
    """A system's pipeline: its stages, engine, triggers (push branches, schedule) and version."""

    __tablename__ = "pipelines"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    system_id: Mapped[str] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"), unique=True)
    template_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    engine: Mapped[str] = mapped_column(String(16), default="local")
    jenkins_integration_id: Mapped[str | None] = mapped_column(
        ForeignKey("integrations.id", ondelete="SET NULL"), nullable=True
    )
    stages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    push_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    branch_filters: Mapped[list[str]] = mapped_column(JSON, default=list)
    schedule: Mapped[str | None] = mapped_column(String(100), nullable=True)
    supersede_queued: Mapped[bool] = mapped_column(Boolean, default=True)
    secrets: Mapped[str | None] = mapped_column(Text, nullable=True)  # encrypted JSON (pipelines.secrets)
    secret_names: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow, nullable=True)


class PipelineVersion(Base):
    """A saved version of a pipeline: its editable fields as they were after a change."""

    __tablename__ = "pipeline_versions"
    __table_args__ = (UniqueConstraint("pipeline_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    pipeline_id: Mapped[str] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PipelineRun(Base):
    """One run of a pipeline: its trigger, ref and commit, its state and where the engine has it."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (
        UniqueConstraint("pipeline_id", "number"),
        Index("ix_pipeline_runs_state_queued", "state", "queued_at"),
        Index("ix_pipeline_runs_system_queued", "system_id", "queued_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    pipeline_id: Mapped[str] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"), index=True)
    system_id: Mapped[str] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    pipeline_version: Mapped[int] = mapped_column(Integer, default=1)
    trigger: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200), default="")
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    ref: Mapped[str] = mapped_column(String(255))
    commit_before: Mapped[str | None] = mapped_column(String(64), nullable=True)
    commit_after: Mapped[str | None] = mapped_column(String(64), nullable=True)
    parameters: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    engine: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=RunState.queued.value)
    reason: Mapped[str] = mapped_column(Text, default="")
    retry_of_id: Mapped[str | None] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="SET NULL"), nullable=True
    )
    rerun_from_stage: Mapped[int | None] = mapped_column(Integer, nullable=True)
    delivery_id: Mapped[str | None] = mapped_column(String(100), unique=True, nullable=True)
    engine_ref: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    log_size: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RunStateChange(Base):
    """One accepted state change of a run, with the reason and who asked."""

    __tablename__ = "pipeline_run_state_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class StageRun(Base):
    """One stage of a run: its state, timing, exit code and attempts."""

    __tablename__ = "pipeline_stage_runs"
    __table_args__ = (UniqueConstraint("run_id", "index"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=StageState.pending.value)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class RunArtifact(Base):
    """Something a run produced: an image, a JUnit summary, a coverage figure."""

    __tablename__ = "pipeline_run_artifacts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
