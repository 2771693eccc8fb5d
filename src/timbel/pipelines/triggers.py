"""Pipeline triggers: the GitHub webhook kept per pipeline (``pipeline_hooks``) and the triggers API shapes.

Why a table of its own: whether the push webhook is registered (and its GitHub id, to delete it again) belongs
to the pipeline's push trigger, but the pipeline table is the run service's; a row here exists once Timbel
tried to register (registered), could not (manual: the user adds it by hand) or failed transiently (failed).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from timbel.core.db import Base, new_id, utcnow
from timbel.pipelines.schedule import normalize_cron

HOOK_PATH = "/hooks/github"
HOOK_EVENTS = ("push",)
HOOK_CONTENT_TYPE = "json"


class HookState(StrEnum):
    """Where a pipeline's push webhook is: registered by Timbel, to be added by hand, or failed."""

    registered = "registered"
    manual = "manual"
    failed = "failed"
    off = "off"  # push trigger disabled (no row)


class PipelineHook(Base):
    """The GitHub push webhook of one pipeline: which instance and hook, and how registration went."""

    __tablename__ = "pipeline_hooks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    pipeline_id: Mapped[str] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"), unique=True)
    integration_id: Mapped[str | None] = mapped_column(
        ForeignKey("integrations.id", ondelete="SET NULL"), nullable=True
    )
    repository: Mapped[str] = mapped_column(String(1000), default="")
    hook_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    url: Mapped[str] = mapped_column(String(1000), default="")
    state: Mapped[str] = mapped_column(String(16), default=HookState.manual.value)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TriggersUpdate(BaseModel):
    """The push trigger (switch and branch globs) and the cron schedule; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    push_enabled: bool | None = None
    branch_filters: list[str] | None = Field(default=None, max_length=50)
    schedule: str | None = Field(default=None, max_length=100)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return normalize_cron(value)


class WebhookRead(BaseModel):
    """The push webhook: its state and, unless Timbel registered it, how to add it by hand (no secret)."""

    state: HookState
    url: str
    content_type: str = HOOK_CONTENT_TYPE
    events: list[str] = Field(default_factory=lambda: list(HOOK_EVENTS))
    hook_id: int | None = None
    integration_id: str | None = None
    integration_name: str | None = None
    repository: str = ""
    detail: str = ""
    instructions: list[str] = Field(default_factory=list)
    last_delivery_at: datetime | None = None


class TriggersRead(BaseModel):
    """A pipeline's triggers and its push webhook."""

    pipeline_id: str
    push_enabled: bool
    branch_filters: list[str]
    schedule: str | None
    webhook: WebhookRead
