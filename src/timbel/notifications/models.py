"""The delivery log: one row per (event, channel), with its state, attempts and last (secret-free) error."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from timbel.core.db import Base, new_id, utcnow


class DeliveryState(StrEnum):
    """Where a delivery is: pending (due at ``next_attempt_at``), sending (claimed), sent or failed."""

    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


# The allowed transitions; ``service.set_state`` refuses anything else.
TRANSITIONS: dict[DeliveryState, frozenset[DeliveryState]] = {
    # pending → sent: the late success of a claim that reconcile released as stuck
    DeliveryState.pending: frozenset({DeliveryState.sending, DeliveryState.sent, DeliveryState.failed}),
    DeliveryState.sending: frozenset({DeliveryState.sent, DeliveryState.pending, DeliveryState.failed}),
    DeliveryState.sent: frozenset(),
    DeliveryState.failed: frozenset({DeliveryState.pending}),  # an admin may resend
}


class NotificationDelivery(Base):
    """One rendered message for one channel; the channel's name is kept so the log outlives the channel."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        Index("ix_notification_deliveries_state_due", "state", "next_attempt_at"),
        UniqueConstraint("integration_id", "dedup_key", name="uq_notification_deliveries_dedup"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    event: Mapped[str] = mapped_column(String(64), index=True)  # e.g. deployment.failed
    integration_id: Mapped[str | None] = mapped_column(
        ForeignKey("integrations.id", ondelete="SET NULL"), nullable=True, index=True
    )
    channel_name: Mapped[str] = mapped_column(String(100))
    domain_id: Mapped[str | None] = mapped_column(
        ForeignKey("domains.id", ondelete="SET NULL"), nullable=True, index=True
    )
    language: Mapped[str] = mapped_column(String(8))
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.pending.value)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    dedup_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
