"""Integration instances in the database: one row per configured external system (URL, options, secrets)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from timbel.core.db import Base, new_id, utcnow


class Health(StrEnum):
    """What the last connection test or health check found."""

    unknown = "unknown"
    ok = "ok"
    failing = "failing"


class Integration(Base):
    """A configured Jenkins, registry, Prometheus, …; ``secrets`` is encrypted JSON and never returned."""

    __tablename__ = "integrations"
    __table_args__ = (Index("ix_integrations_kind_domain", "kind", "domain_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))  # an integrations.base.IntegrationKind value
    name: Mapped[str] = mapped_column(String(100), unique=True)
    base_url: Mapped[str] = mapped_column(String(1000))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secrets: Mapped[str | None] = mapped_column(Text, nullable=True)  # encrypted {field: value}, context = id
    secret_fields: Mapped[list[str]] = mapped_column(JSON, default=list)  # names only, sorted
    domain_id: Mapped[str | None] = mapped_column(
        ForeignKey("domains.id", ondelete="CASCADE"), nullable=True, index=True
    )
    is_default: Mapped[bool] = mapped_column(default=False)
    health: Mapped[str] = mapped_column(String(16), default=Health.unknown.value)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_checked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow, nullable=True)
