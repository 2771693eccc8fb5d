"""Pipeline and run API shapes: stage definitions, pipeline create/update/read, run start/read/list."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from timbel.pipelines.engine_base import StageKind

MAX_STAGES = 30
_NAME = re.compile(r"^[^\x00-\x1f'\"\\]{1,100}$")
_REF = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/@+-]{1,255}$")
_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_GLOB = re.compile(r"^[A-Za-z0-9._/*?@+\-\[\]]{1,255}$")


class StageDef(BaseModel):
    """One stage as stored on a pipeline (``command``: shell lines; None for delivery kinds)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    kind: StageKind
    command: str | None = Field(default=None, max_length=20_000)
    timeout_seconds: int = Field(default=1800, ge=1, le=86400)
    retries: int = Field(default=0, ge=0, le=5)
    continue_on_failure: bool = False
    workdir: str = Field(default=".", max_length=500)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value) or value != value.strip():
            raise ValueError("a stage name has no quotes, backslashes, control characters or outer spaces")
        return value

    @field_validator("workdir")
    @classmethod
    def _workdir(cls, value: str) -> str:
        parts = value.replace("\\", "/").split("/")
        if value.startswith("/") or ".." in parts:
            raise ValueError("the working directory is relative to the checkout and stays inside it")
        return value


def check_ref(value: str) -> str:
    """Refuse a ref that is not a plain branch, tag or commit SHA."""
    if not _REF.match(value):
        raise ValueError("the ref is not a valid branch, tag or commit SHA")
    return value


def check_parameters(value: dict[str, str]) -> dict[str, str]:
    """Refuse parameter names that are not environment-variable names, and oversized values."""
    if len(value) > 50:
        raise ValueError("at most 50 parameters")
    for name, item in value.items():
        if not _PARAM.match(name) or len(item) > 4000:
            raise ValueError(f"parameter {name[:64]!r}: a [A-Za-z_][A-Za-z0-9_]* name, ≤ 4000 chars")
    return value


class PipelineFields(BaseModel):
    """Editable pipeline fields; omitted ones stay as they are."""

    model_config = ConfigDict(extra="forbid")

    engine: str | None = Field(default=None, max_length=16)
    jenkins_integration_id: str | None = Field(default=None, max_length=36)
    stages: list[StageDef] | None = Field(default=None, max_length=MAX_STAGES)
    push_enabled: bool | None = None
    branch_filters: list[str] | None = Field(default=None, max_length=50)
    schedule: str | None = Field(default=None, max_length=100)
    supersede_queued: bool | None = None

    @field_validator("stages")
    @classmethod
    def _unique_names(cls, value: list[StageDef] | None) -> list[StageDef] | None:
        if value is not None and len({s.name for s in value}) != len(value):
            raise ValueError("stage names must be unique")
        return value

    @field_validator("branch_filters")
    @classmethod
    def _globs(cls, value: list[str] | None) -> list[str] | None:
        for item in value or []:
            if not _GLOB.match(item):
                raise ValueError(f"{item[:80]!r} is not a branch pattern")
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        from timbel.pipelines.schedule import normalize_cron  # huey's own parser: what the scheduler runs

        return normalize_cron(value)


class PipelineCreate(BaseModel):
    """Create a system's pipeline from a template (default: the one chosen for the system's stack)."""

    model_config = ConfigDict(extra="forbid")

    template_key: str | None = Field(default=None, max_length=64)
    engine: str = Field(default="local", max_length=16)
    jenkins_integration_id: str | None = Field(default=None, max_length=36)


class PipelineRead(BaseModel):
    """A pipeline as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    system_id: str
    template_key: str | None
    engine: str
    jenkins_integration_id: str | None
    stages: list[dict[str, Any]]
    version: int
    push_enabled: bool
    branch_filters: list[str]
    schedule: str | None
    supersede_queued: bool
    created_at: datetime
    updated_at: datetime | None


class PipelineListItem(BaseModel):
    """A pipeline in the list: its system, engine and last run."""

    id: str
    system_id: str
    system_slug: str
    system_name: str
    engine: str
    version: int
    last_run_id: str | None = None
    last_run_number: int | None = None
    last_run_state: str | None = None
    last_run_at: datetime | None = None
    last_run_duration_seconds: float | None = None


class PipelineVersionRead(BaseModel):
    """A saved version of a pipeline."""

    model_config = ConfigDict(from_attributes=True)

    version: int
    snapshot: dict[str, Any]
    author_id: str | None
    created_at: datetime


class RunCreate(BaseModel):
    """Start a run: a ref (default: the system's default branch) and parameters."""

    model_config = ConfigDict(extra="forbid")

    ref: str | None = Field(default=None, max_length=255)
    parameters: dict[str, str] = Field(default_factory=dict)

    @field_validator("ref")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        return None if value is None else check_ref(value)

    @field_validator("parameters")
    @classmethod
    def _params(cls, value: dict[str, str]) -> dict[str, str]:
        return check_parameters(value)


class RerunRequest(BaseModel):
    """Run again from one stage (by index) of an earlier run."""

    model_config = ConfigDict(extra="forbid")

    from_stage: int = Field(ge=0, lt=MAX_STAGES)


class RunSummary(BaseModel):
    """A run in lists."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    pipeline_id: str
    system_id: str
    number: int
    trigger: str
    actor: str
    ref: str
    commit_before: str | None
    commit_after: str | None
    engine: str
    state: str
    reason: str
    retry_of_id: str | None
    rerun_from_stage: int | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    log_size: int


class StageRunRead(BaseModel):
    """A stage of a run."""

    model_config = ConfigDict(from_attributes=True)

    index: int
    name: str
    kind: str
    state: str
    started_at: datetime | None
    finished_at: datetime | None
    exit_code: int | None
    reason: str
    attempts: int


class ArtifactRead(BaseModel):
    """An artifact of a run."""

    model_config = ConfigDict(from_attributes=True)

    kind: str
    data: dict[str, Any]
    created_at: datetime


class StateChangeRead(BaseModel):
    """One state change of a run."""

    model_config = ConfigDict(from_attributes=True)

    from_state: str
    to_state: str
    reason: str
    actor_id: str | None
    at: datetime


class RunRead(RunSummary):
    """A run with its stages, artifacts and state history."""

    parameters: dict[str, str]
    engine_ref: dict[str, Any] | None
    heartbeat_at: datetime | None
    cancel_requested_at: datetime | None
    attempts: int
    stages: list[StageRunRead] = Field(default_factory=list)
    artifacts: list[ArtifactRead] = Field(default_factory=list)
    history: list[StateChangeRead] = Field(default_factory=list)
