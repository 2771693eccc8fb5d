"""Audit API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEntryRead(BaseModel):
    """One audit entry as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    actor_id: str | None
    actor_name: str | None
    action: str
    outcome: str
    target_type: str | None
    target_id: str | None
    summary: str
    changes: dict[str, Any]
    ip: str | None
    user_agent: str | None
    request_id: str | None
    method: str | None
    path: str | None
