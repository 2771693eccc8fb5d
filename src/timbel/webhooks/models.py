"""Stored webhook deliveries (GitHub, GitLab): the raw body, where it came from, its processing state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from timbel.core.db import Base, new_id, utcnow
from timbel.core.states import Machine


class DeliveryState(StrEnum):
    """Where a delivery is: stored, being processed, done or given up."""

    received = "received"
    processing = "processing"
    processed = "processed"
    failed = "failed"


class Source(StrEnum):
    """Which kind of git host sent a delivery."""

    github = "github"
    gitlab = "gitlab"


S = DeliveryState
DELIVERY_MACHINE: Machine[DeliveryState] = Machine(
    "webhook delivery",
    {
        S.received: frozenset({S.processing, S.failed}),
        S.processing: frozenset({S.processed, S.failed, S.received}),  # received again: the worker died
        S.processed: frozenset(),
        S.failed: frozenset({S.received}),  # an administrator asked to process it again
    },
)


class WebhookDelivery(Base):
    """One delivery as received (payload byte-exact), unique per (source, delivery id)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("source", "delivery_id", name="uq_webhook_deliveries_source_delivery"),
        Index("ix_webhook_deliveries_state_enqueued", "state", "enqueued_at"),
        Index("ix_webhook_deliveries_received", "received_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(64))
    integration_id: Mapped[str | None] = mapped_column(
        ForeignKey("integrations.id", ondelete="SET NULL"), nullable=True, index=True
    )
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    payload: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.received.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # processing starts
    enqueues: Mapped[int] = mapped_column(Integer, default=0)  # hand-offs to the queue
    last_error: Mapped[str] = mapped_column(Text, default="")
    repository: Mapped[str] = mapped_column(String(1000), default="")
    branch: Mapped[str] = mapped_column(String(255), default="")
    sha: Mapped[str] = mapped_column(String(64), default="")
    system_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


class WebhookStateChange(Base):
    """One accepted state change of a delivery, with the reason."""

    __tablename__ = "webhook_state_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


def header_subset(headers: Any, *, names: tuple[str, ...]) -> dict[str, str]:
    """The headers of interest (lower-case names) present in a request."""
    return {name: str(headers[name])[:500] for name in names if name in headers}
