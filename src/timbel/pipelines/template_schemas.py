"""Pipeline template API shapes: create, update, read, versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from timbel.scaffold.jenkinsfile import StageSpec
from timbel.scaffold.plan import Stack

KEY_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class PipelineTemplateCreate(BaseModel):
    """A new template; the key is permanent and unique (e.g. ``python-fastapi``)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=2, max_length=64, pattern=KEY_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    stack: Stack
    framework: str = Field(default="", max_length=64)
    description: str = Field(default="", max_length=4000)
    stages: list[StageSpec] = Field(default_factory=list, max_length=20)


class PipelineTemplateUpdate(BaseModel):
    """A change to a template; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    stack: Stack | None = None
    framework: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=4000)
    stages: list[StageSpec] | None = Field(default=None, max_length=20)


class PipelineTemplateRead(BaseModel):
    """A template as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    key: str
    name: str
    stack: str
    framework: str
    description: str
    stages: list[StageSpec]
    version: int
    usage_count: int
    is_seed: bool
    updated_by: str | None
    created_at: datetime
    updated_at: datetime | None


class PipelineTemplateVersionRead(BaseModel):
    """A saved version of a template."""

    model_config = ConfigDict(from_attributes=True)

    version: int
    snapshot: dict[str, Any]
    author_id: str | None
    created_at: datetime
