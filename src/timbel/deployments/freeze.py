"""Freeze windows: periods (UTC, ``[starts_at, ends_at)``) in which an environment takes no deployments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from timbel.core.db import utcnow
from timbel.deployments.models import Environment


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def active_window(environment: Environment, *, now: datetime | None = None) -> dict[str, Any] | None:
    """The freeze window ``now`` falls in for an environment (None when it may be deployed to)."""
    moment = now or utcnow()
    for window in environment.freeze_windows or []:
        if not isinstance(window, dict):
            continue
        starts, ends = _parse(window.get("starts_at")), _parse(window.get("ends_at"))
        if starts is not None and ends is not None and starts <= moment < ends:
            return window
    return None


def describe(window: dict[str, Any]) -> str:
    """One line naming a freeze window: its reason and period."""
    reason = str(window.get("reason") or "").strip() or "freeze window"
    return f"{reason} ({window.get('starts_at')} – {window.get('ends_at')})"
