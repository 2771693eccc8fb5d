"""Request and response shapes of the analyses API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from timbel.analysis.models import Analysis
from timbel.catalog.system_schemas import Stage, check_slug


class AnalysisCreate(BaseModel):
    """What to analyse: exactly one of a repository URL, a system or a server path (admins)."""

    url: str | None = Field(default=None, max_length=1000)
    system_id: str | None = Field(default=None, max_length=36)
    path: str | None = Field(default=None, max_length=1000, description="Administrators only.")
    ref: str | None = Field(default=None, max_length=255, description="Branch, tag or full commit SHA.")


class Progress(BaseModel):
    """Which phase runs and how many of the phases are done."""

    phase: str
    done: int
    total: int


class AnalysisSummary(BaseModel):
    """An analysis without its report (lists)."""

    id: str
    state: str
    progress: Progress
    url: str | None
    path: str | None
    ref: str | None
    commit: str | None
    system_id: str | None
    domain_id: str | None
    attempts: int
    error_code: str
    error: str
    readiness_score: int | None
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, analysis: Analysis) -> AnalysisSummary:
        """Build from a row."""
        return cls(
            id=analysis.id,
            state=analysis.state,
            progress=Progress(
                phase=analysis.phase, done=analysis.progress_done, total=analysis.progress_total
            ),
            url=analysis.url,
            path=analysis.path,
            ref=analysis.ref,
            commit=analysis.commit_sha,
            system_id=analysis.system_id,
            domain_id=analysis.domain_id,
            attempts=analysis.attempts,
            error_code=analysis.error_code,
            error=analysis.error,
            readiness_score=analysis.readiness_score,
            created_by=analysis.created_by,
            created_at=analysis.created_at,
            started_at=analysis.started_at,
            finished_at=analysis.finished_at,
        )


class AnalysisRead(AnalysisSummary):
    """An analysis with its ``timbel.analysis/v1`` report (null until it succeeded)."""

    report: dict[str, Any] | None

    @classmethod
    def of(cls, analysis: Analysis) -> AnalysisRead:
        """Build from a row."""
        return cls(**AnalysisSummary.of(analysis).model_dump(), report=analysis.report)


class RegisterRequest(BaseModel):
    """Register the analysed repository as a system (domain, name and slug are needed unless the analysis
    already belongs to a system, whose catalog items are then updated)."""

    domain_id: str | None = Field(default=None, max_length=36)
    project_ids: list[str] = Field(default_factory=list, max_length=100)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    slug: str | None = None
    description: str | None = Field(default=None, max_length=20_000)
    stage: Stage = Stage.development

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else check_slug(value)


class RegisterResult(BaseModel):
    """The system the analysis now belongs to and what the catalog sync did."""

    system_id: str
    system_slug: str
    created: int
    updated: int
    unchanged: int
    kept_edits: int
    skipped: int
    stale: int
