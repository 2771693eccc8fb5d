"""Notifications in the API: the delivery log (never a secret) and the test request."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from timbel.integrations.schemas import ConnectionReportRead


class DeliveryRead(BaseModel):
    """One delivery of the log."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    event: str
    integration_id: str | None
    channel_name: str
    domain_id: str | None
    language: str
    severity: str
    title: str
    body: str
    state: str
    attempts: int
    last_error: str
    next_attempt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None


class TestRequest(BaseModel):
    """Which channel gets a test message."""

    model_config = ConfigDict(extra="forbid")

    integration_id: str = Field(min_length=1, max_length=36)


__all__ = ["ConnectionReportRead", "DeliveryRead", "TestRequest"]
