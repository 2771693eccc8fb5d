"""Request and response shapes of the delivery and GitOps API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from timbel.gitops.models import GitOpsOperation, GitOpsRepository
from timbel.gitops.records import CommitInfo
from timbel.scaffold.generate import Bundle
from timbel.scaffold.plan import DeliveryPlan


class PlanRead(BaseModel):
    """The plan Timbel proposes for a system, and the analysis it came from."""

    plan: DeliveryPlan
    analysis_id: str


class PreviewRequest(BaseModel):
    """A plan to generate and check (nothing is stored or committed)."""

    plan: DeliveryPlan


class FileRead(BaseModel):
    """One generated file."""

    path: str
    target: str
    kind: str
    content: str


class CheckRead(BaseModel):
    """One check finding (``error`` blocks the commit)."""

    path: str
    severity: str
    message: str


class PreviewRead(BaseModel):
    """The generated files, their checks, and whether they may be committed."""

    ok: bool
    files: list[FileRead]
    checks: list[CheckRead]

    @classmethod
    def of(cls, bundle: Bundle) -> PreviewRead:
        """Build from a bundle."""
        return cls(
            ok=bundle.ok,
            files=[
                FileRead(path=f.path, target=f.target, kind=f.kind, content=f.content) for f in bundle.files
            ],
            checks=[CheckRead(path=c.path, severity=c.severity, message=c.message) for c in bundle.checks],
        )


class CommitRequest(BaseModel):
    """Commit a plan to the GitOps repositories; secret values are stored encrypted, never returned."""

    plan: DeliveryPlan
    why: str = Field(default="", max_length=2000)
    secret_values: dict[str, dict[str, str]] = Field(default_factory=dict)
    allow_overwrite_hand_edits: bool = False


class OperationRead(BaseModel):
    """A GitOps operation: its state, the commits it made, the files that stopped it, the error."""

    id: str
    system_id: str | None
    draft_id: str | None
    state: str
    what: str
    why: str
    commits: list[dict[str, Any]]
    conflicts: list[str]
    error: str
    created_by: str | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: GitOpsOperation) -> OperationRead:
        """Build from a row."""
        return cls(
            id=row.id,
            system_id=row.system_id,
            draft_id=row.draft_id,
            state=row.state,
            what=row.what,
            why=row.why,
            commits=list(row.commits or []),
            conflicts=list(row.conflicts or []),
            error=row.error,
            created_by=row.created_by,
            created_at=row.created_at,
            finished_at=row.finished_at,
        )


class CommitInfoRead(BaseModel):
    """One commit of a GitOps repository."""

    sha: str
    author: str
    date: datetime
    subject: str
    who: str | None
    operation_id: str | None
    by_timbel: bool
    files: list[str]

    @classmethod
    def of(cls, info: CommitInfo) -> CommitInfoRead:
        """Build from the library's record."""
        return cls(
            sha=info.sha,
            author=info.author,
            date=info.date,
            subject=info.subject,
            who=info.who,
            operation_id=info.operation_id,
            by_timbel=info.by_timbel,
            files=list(info.files),
        )


class DiffRead(BaseModel):
    """A commit's unified diff (cut at a size limit)."""

    sha: str
    diff: str


class RepositoryWrite(BaseModel):
    """Create or change a GitOps repository; ``secret`` is write-only (empty string clears it)."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9-]*$")
    url: str = Field(min_length=1, max_length=1000)
    branch: str = Field(default="main", max_length=200)
    auth: str = Field(default="none", pattern=r"^(none|token|ssh)$")
    username: str = Field(default="", max_length=200)
    secret: str | None = Field(default=None, max_length=20_000)


class RepositoryRead(BaseModel):
    """A GitOps repository as the API shows it: never its secret, only whether one is stored."""

    id: str
    name: str
    url: str
    branch: str
    auth: str
    username: str
    has_secret: bool

    @classmethod
    def of(cls, row: GitOpsRepository) -> RepositoryRead:
        """Build from a row."""
        return cls(
            id=row.id, name=row.name, url=row.url, branch=row.branch, auth=row.auth,
            username=row.username, has_secret=bool(row.secret),
        )  # fmt: skip


class TargetWrite(BaseModel):
    """Map one environment of a domain to a repository (``repository_id: null`` → the default one)."""

    domain_id: str = Field(max_length=36)
    env: str = Field(pattern=r"^(dev|stg|prod)$")
    repository_id: str | None = Field(default=None, max_length=36)


class TargetRead(BaseModel):
    """One domain environment's repository."""

    domain_id: str
    env: str
    repository_id: str
