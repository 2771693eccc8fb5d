"""Delivery and GitOps API: a system's plan, preview, commit, history and diffs; repositories (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import PlainTextResponse

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import system_service
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.errors import NotFound
from timbel.gitops import admin_service, delivery
from timbel.gitops import service as gitops
from timbel.gitops.admin_service import RepositoryUpdate
from timbel.gitops.schemas import (
    CommitInfoRead,
    CommitRequest,
    DiffRead,
    OperationRead,
    PlanRead,
    PreviewRead,
    PreviewRequest,
    RepositoryRead,
    RepositoryWrite,
    TargetRead,
    TargetWrite,
)
from timbel.scaffold.plan import DeliveryPlan, Environment

router = APIRouter(tags=["delivery"])
Reader = Annotated[Principal, Depends(require(Permission.pipelines_read))]
Editor = Annotated[Principal, Depends(require(Permission.pipelines_edit))]
Admin = Annotated[Principal, Depends(require(Permission.admin_settings))]
SYSTEM = "/api/v1/systems/{system_id}"


@router.get(SYSTEM + "/delivery/plan")
def get_plan(system_id: str, principal: Reader, session: SessionDep, settings: SettingsDep) -> PlanRead:
    """The delivery plan Timbel proposes from the system's newest analysis (edit it, then preview)."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    plan, analysis_id = delivery.default_plan(session, settings=settings, system=system)
    return PlanRead(plan=plan, analysis_id=analysis_id)


@router.post(SYSTEM + "/delivery/preview")
def preview(system_id: str, body: PreviewRequest, principal: Reader, session: SessionDep) -> PreviewRead:
    """Generate every file of a plan and run every check; nothing is stored or committed."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    return PreviewRead.of(delivery.bundle_for(session, system=system, plan=body.plan))


@router.post(SYSTEM + "/delivery/commit", status_code=status.HTTP_201_CREATED)
def commit(
    system_id: str,
    body: CommitRequest,
    principal: Editor,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
) -> OperationRead:
    """Check and commit the plan's GitOps files; the operation says ``succeeded`` or why it ``failed``."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    draft = delivery.save_draft(
        session,
        settings=settings,
        system=system,
        plan=body.plan,
        secret_values=body.secret_values,
        analysis_id=None,
        actor_id=principal.user_id,
    )
    operation = delivery.commit(
        session,
        settings=settings,
        principal=principal,
        system=system,
        plan=body.plan,
        why=body.why,
        ctx=audit,
        draft_id=draft.id,
        allow_overwrite_hand_edits=body.allow_overwrite_hand_edits,
    )
    return OperationRead.of(operation)


@router.get(SYSTEM + "/delivery/app.patch", response_class=PlainTextResponse)
def app_patch(system_id: str, principal: Reader, session: SessionDep) -> PlainTextResponse:
    """The Dockerfile, .dockerignore and Jenkinsfile of the newest draft as a patch for the app repository."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    draft = delivery.latest_draft(session, system=system)
    if draft is None:
        raise NotFound("The system has no delivery plan yet.")
    plan = DeliveryPlan.model_validate(draft.plan)
    bundle = delivery.bundle_for(session, system=system, plan=plan, validate=False)
    return PlainTextResponse(
        delivery.app_patch(bundle),
        media_type="text/x-diff",
        headers={"Content-Disposition": f'attachment; filename="{system.slug}-delivery.patch"'},
    )


@router.get(SYSTEM + "/gitops/log")
def gitops_log(
    system_id: str,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    env: Environment | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CommitInfoRead]:
    """The GitOps commits of a system's folder, or of one environment of it, newest first."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    domain = delivery.domain_of(session, system)
    commits = gitops.history(session, settings=settings, domain=domain, system=system, env=env, limit=limit)
    return [CommitInfoRead.of(c) for c in commits]


@router.get(SYSTEM + "/gitops/commits/{sha}")
def gitops_diff(
    system_id: str,
    sha: str,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    env: Environment | None = None,
) -> DiffRead:
    """The unified diff of one GitOps commit (in the repository holding ``env``)."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    domain = delivery.domain_of(session, system)
    return DiffRead(
        sha=sha, diff=gitops.commit_diff(session, settings=settings, domain=domain, env=env, sha=sha)
    )


@router.get("/api/v1/gitops/operations/{operation_id}")
def get_operation(operation_id: str, principal: Reader, session: SessionDep) -> OperationRead:
    """Read a GitOps operation (of a system the caller may see)."""
    operation = delivery.get_operation(session, operation_id=operation_id)
    if operation.system_id is not None:
        system_service.get_visible_or_raise(session, principal=principal, system_id=operation.system_id)
    return OperationRead.of(operation)


@router.get("/api/v1/gitops/repositories")
def list_repositories(_admin: Admin, session: SessionDep, settings: SettingsDep) -> list[RepositoryRead]:
    """List GitOps repositories (the embedded default included); secrets are never returned."""
    return [RepositoryRead.of(r) for r in admin_service.list_repositories(session, settings=settings)]


@router.post("/api/v1/gitops/repositories", status_code=status.HTTP_201_CREATED)
def create_repository(
    body: RepositoryWrite, _admin: Admin, session: SessionDep, settings: SettingsDep, audit: AuditDep
) -> RepositoryRead:
    """Add a GitOps repository (https with a token, or ssh with a private key)."""
    row = admin_service.create_repository(session, settings=settings, data=body, ctx=audit)
    return RepositoryRead.of(row)


@router.patch("/api/v1/gitops/repositories/{repository_id}")
def update_repository(
    repository_id: str,
    body: RepositoryUpdate,
    _admin: Admin,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
) -> RepositoryRead:
    """Change a repository; ``secret`` absent keeps it, "" clears it (the default's URL is fixed: 409)."""
    row = admin_service.get_repository(session, repository_id=repository_id)
    admin_service.update_repository(session, settings=settings, row=row, data=body, ctx=audit)
    return RepositoryRead.of(row)


@router.get("/api/v1/gitops/targets")
def list_targets(
    _admin: Admin, session: SessionDep, domain_id: Annotated[str | None, Query(max_length=36)] = None
) -> list[TargetRead]:
    """List which repository holds each mapped environment (of one domain); unmapped ones use the default."""
    rows = admin_service.list_targets(session, domain_id=domain_id)
    return [TargetRead(domain_id=t.domain_id, env=t.env, repository_id=t.repository_id) for t in rows]


@router.put("/api/v1/gitops/targets")
def set_target(
    body: TargetWrite, _admin: Admin, session: SessionDep, audit: AuditDep, response: Response
) -> TargetRead | None:
    """Put one environment of a domain in its own repository (환경별 레포), or back in the default."""
    target = admin_service.set_target(
        session, domain_id=body.domain_id, env=body.env, repository_id=body.repository_id, ctx=audit
    )
    if target is None:
        response.status_code = status.HTTP_204_NO_CONTENT
        return None
    return TargetRead(domain_id=target.domain_id, env=target.env, repository_id=target.repository_id)
