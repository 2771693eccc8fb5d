"""Stored analyses: one row per run (state, progress, report), its state history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from timbel.core.db import Base, new_id, utcnow
from timbel.core.states import Machine


class AnalysisState(StrEnum):
    """Where an analysis run is."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


S = AnalysisState
ANALYSIS_MACHINE: Machine[AnalysisState] = Machine(
    "analysis",
    {
        S.queued: frozenset({S.running, S.failed}),
        S.running: frozenset({S.succeeded, S.failed, S.queued}),  # queued again: the worker died
        S.succeeded: frozenset(),
        S.failed: frozenset(),
    },
)


class Analysis(Base):
    """One analysis of a repository URL (or, for admins and the CLI, a local path) at a ref."""

    __tablename__ = "analyses"
    __table_args__ = (
        Index("ix_analyses_system_created", "system_id", "created_at"),
        Index("ix_analyses_state_heartbeat", "state", "heartbeat_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    system_id: Mapped[str | None] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"), nullable=True)
    domain_id: Mapped[str | None] = mapped_column(
        ForeignKey("domains.id", ondelete="CASCADE"), nullable=True, index=True
    )
    url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    commit_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=AnalysisState.queued.value)
    phase: Mapped[str] = mapped_column(String(32), default="")
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str] = mapped_column(String(64), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    readiness_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, deferred=True)
    texts: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True, deferred=True)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


class AnalysisStateChange(Base):
    """One accepted state change of an analysis, with the reason."""

    __tablename__ = "analysis_state_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    analysis_id: Mapped[str] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
