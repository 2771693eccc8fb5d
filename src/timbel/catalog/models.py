"""Catalog ORM models: customer domains (영업처). Projects, systems and assets follow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from timbel.core.db import Base, new_id, utcnow


class Domain(Base):
    """A customer account (영업처) whose members may see its catalog and operations."""

    __tablename__ = "domains"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(100), default="", server_default="")
    region: Mapped[str] = mapped_column(String(100), default="", server_default="")
    priority: Mapped[str] = mapped_column(String(16), default="medium", server_default="medium")
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    owner_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow, nullable=True)
