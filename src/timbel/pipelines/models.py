"""Pipeline template ORM models: templates (test/build stages per stack) and their saved versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from timbel.core.db import Base, new_id, utcnow


class PipelineTemplate(Base):
    """A pipeline template: the test/build stages (name, image, commands) for one stack and framework."""

    __tablename__ = "pipeline_templates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    stack: Mapped[str] = mapped_column(String(32), index=True)
    framework: Mapped[str] = mapped_column(String(64), default="", server_default="")
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    stages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    usage_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_seed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow, nullable=True)


class PipelineTemplateVersion(Base):
    """A saved version of a template: the whole editable state as it was after a change."""

    __tablename__ = "pipeline_template_versions"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    template_id: Mapped[str] = mapped_column(
        ForeignKey("pipeline_templates.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
