"""Response shapes of the webhook deliveries admin API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from timbel.webhooks.models import WebhookDelivery, WebhookStateChange


class DeliverySummary(BaseModel):
    """A stored delivery without its payload (lists)."""

    id: str
    source: str
    delivery_id: str
    event: str
    integration_id: str | None
    state: str
    attempts: int
    enqueues: int
    last_error: str
    repository: str
    branch: str
    sha: str
    system_ids: list[str]
    received_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row: WebhookDelivery) -> DeliverySummary:
        """Build from a row."""
        return cls(
            id=row.id, source=row.source, delivery_id=row.delivery_id, event=row.event,
            integration_id=row.integration_id, state=row.state, attempts=row.attempts, enqueues=row.enqueues,
            last_error=row.last_error, repository=row.repository, branch=row.branch, sha=row.sha,
            system_ids=list(row.system_ids or []), received_at=row.received_at, started_at=row.started_at,
            finished_at=row.finished_at,
        )  # fmt: skip


class StateChangeRead(BaseModel):
    """One state change of a delivery."""

    from_state: str
    to_state: str
    reason: str
    actor_id: str | None
    at: datetime

    @classmethod
    def of(cls, change: WebhookStateChange) -> StateChangeRead:
        """Build from a history row."""
        return cls(
            from_state=change.from_state, to_state=change.to_state, reason=change.reason,
            actor_id=change.actor_id, at=change.at,
        )  # fmt: skip


class DeliveryRead(DeliverySummary):
    """A delivery with the headers of interest, the raw payload (UTF-8 text) and its state history."""

    headers: dict[str, str]
    payload: str
    payload_bytes: int
    history: list[StateChangeRead]

    @classmethod
    def full(cls, row: WebhookDelivery, changes: list[WebhookStateChange]) -> DeliveryRead:
        """Build from a row and its history."""
        return cls(
            **DeliverySummary.of(row).model_dump(),
            headers=dict(row.headers or {}),
            payload=row.payload.decode("utf-8", errors="replace"),
            payload_bytes=len(row.payload),
            history=[StateChangeRead.of(c) for c in changes],
        )


class Accepted(BaseModel):
    """What a receiver answers: the stored delivery, and whether it was a copy of one stored before."""

    id: str
    state: str
    duplicate: bool = False
