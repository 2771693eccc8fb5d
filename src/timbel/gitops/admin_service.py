"""Administration of GitOps repositories and of which repository holds each environment of a domain.

Shared by the admin API and the admin pages. A repository's secret is write-only: it is encrypted as it is
stored and only "stored or not" is ever shown. The embedded default repository keeps its URL (Timbel owns
it); its branch and credentials may change like any other's.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.catalog.models import Domain
from timbel.core.errors import Conflict, NotFound, ValidationFailed
from timbel.core.settings import Settings
from timbel.gitops import service as gitops
from timbel.gitops.errors import GitOpsError
from timbel.gitops.models import GitOpsRepository, GitOpsTarget
from timbel.gitops.runner import url_scheme
from timbel.gitops.schemas import RepositoryWrite

URL_INVALID = "gitops.url_invalid"
NAME_TAKEN = "gitops.name_taken"
DEFAULT_URL_FIXED = "gitops.default_url_fixed"


class RepositoryUpdate(BaseModel):
    """Change a GitOps repository; absent fields stay, ``secret``: absent → kept, "" → cleared."""

    url: str | None = Field(default=None, min_length=1, max_length=1000)
    branch: str | None = Field(default=None, min_length=1, max_length=200)
    auth: str | None = Field(default=None, pattern=r"^(none|token|ssh)$")
    username: str | None = Field(default=None, max_length=200)
    secret: str | None = Field(default=None, max_length=20_000)


def check_url(url: str) -> None:
    """Refuse local paths, credentials in the URL and remote helpers (422 naming the ``url`` field)."""
    try:
        url_scheme(url, allow_local=False)
    except GitOpsError as exc:
        raise ValidationFailed(
            exc.detail, errors=[{"loc": ["body", "url"], "type": URL_INVALID, "msg": exc.detail}]
        ) from exc


def is_default(row: GitOpsRepository) -> bool:
    """Tell whether a repository is the default (embedded) one."""
    return row.name == gitops.DEFAULT_NAME


def list_repositories(session: Session, *, settings: Settings) -> list[GitOpsRepository]:
    """Return every repository by name, the embedded default included (created on first use)."""
    gitops.default_repository(session, settings=settings)
    return list(session.scalars(select(GitOpsRepository).order_by(GitOpsRepository.name)))


def get_repository(session: Session, *, repository_id: str) -> GitOpsRepository:
    """Return a repository or raise NotFound."""
    row = session.get(GitOpsRepository, repository_id)
    if row is None:
        raise NotFound("No such repository.")
    return row


def create_repository(
    session: Session, *, settings: Settings, data: RepositoryWrite, ctx: AuditContext
) -> GitOpsRepository:
    """Add a GitOps repository (https with a token, or ssh with a private key) and audit it."""
    check_url(data.url)
    gitops.default_repository(session, settings=settings)  # so "default" is always a taken name
    if session.scalar(select(GitOpsRepository.id).where(GitOpsRepository.name == data.name)):
        raise Conflict(
            "A repository with this name exists.",
            errors=[{"loc": ["body", "name"], "type": NAME_TAKEN, "msg": "taken"}],
        )
    row = GitOpsRepository(
        name=data.name, url=data.url, branch=data.branch, auth=data.auth, username=data.username
    )
    session.add(row)
    session.flush()
    gitops.store_secret(row, settings=settings, secret=data.secret)
    audit_service.record(
        session, ctx=ctx, action="gitops.repository.create", target_type="gitops_repository",
        target_id=row.id, summary=f"added GitOps repository {row.name}",
        changes={"url": row.url, "auth": row.auth, "secret": "set" if data.secret else "none"},
    )  # fmt: skip
    return row


def update_repository(
    session: Session, *, settings: Settings, row: GitOpsRepository, data: RepositoryUpdate, ctx: AuditContext
) -> GitOpsRepository:
    """Change a repository's URL, branch, auth or username, and replace or clear its secret; audit it."""
    changes: dict[str, object] = {}
    if data.url is not None and data.url != row.url:
        if is_default(row):
            raise Conflict(
                "The URL of the embedded default repository cannot be changed.",
                errors=[{"loc": ["body", "url"], "type": DEFAULT_URL_FIXED, "msg": "fixed"}],
            )
        check_url(data.url)
    for name in ("url", "branch", "auth", "username"):
        value = getattr(data, name)
        if value is not None and value != getattr(row, name):
            changes[name] = {"from": getattr(row, name), "to": value}
            setattr(row, name, value)
    if data.secret is not None:
        gitops.store_secret(row, settings=settings, secret=data.secret)
        changes["secret"] = "replaced" if data.secret else "cleared"
    session.flush()
    if changes:
        audit_service.record(
            session, ctx=ctx, action="gitops.repository.update", target_type="gitops_repository",
            target_id=row.id, summary=f"changed GitOps repository {row.name}", changes=changes,
        )  # fmt: skip
    return row


def list_targets(session: Session, *, domain_id: str | None = None) -> list[GitOpsTarget]:
    """Return the environment mappings (of one domain, or all), by domain and environment."""
    query = select(GitOpsTarget).order_by(GitOpsTarget.domain_id, GitOpsTarget.env)
    if domain_id is not None:
        query = query.where(GitOpsTarget.domain_id == domain_id)
    return list(session.scalars(query))


def set_target(
    session: Session, *, domain_id: str, env: str, repository_id: str | None, ctx: AuditContext
) -> GitOpsTarget | None:
    """Put one environment of a domain in a repository, or back in the default (None); audit it."""
    if session.get(Domain, domain_id) is None:
        raise NotFound("No such domain.")
    target = session.scalar(
        select(GitOpsTarget).where(GitOpsTarget.domain_id == domain_id, GitOpsTarget.env == env)
    )
    if repository_id is None:
        if target is not None:
            session.delete(target)
        result = None
    else:
        get_repository(session, repository_id=repository_id)
        if target is None:
            target = GitOpsTarget(domain_id=domain_id, env=env, repository_id=repository_id)
            session.add(target)
        target.repository_id = repository_id
        result = target
    session.flush()
    audit_service.record(
        session, ctx=ctx, action="gitops.target.set", target_type="domain", target_id=domain_id,
        summary=f"{env} of the domain now uses {repository_id or 'the default repository'}",
        changes={"env": env, "repository_id": repository_id},
    )  # fmt: skip
    return result
