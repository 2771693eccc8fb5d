"""Release pages: ``/systems/{id}/releases`` (list, where each runs now, deploy button),
``/systems/{id}/releases/new`` (cut a release) and ``/releases/{id}`` (detail, compare with another).

Reading needs ``deploy:read``, cutting ``deploy:nonprod``; scoped to the caller's domains through the
release's system exactly as the releases API is.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import system_service
from timbel.catalog.models import System
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.errors import AppError
from timbel.deployments import releases, service
from timbel.deployments.models import Release
from timbel.deployments.release_routes import visible_release
from timbel.web.forms import FormErrors, discard_changes, read_form, text
from timbel.web.i18n import N_
from timbel.web.redirects import redirect, register_flashes
from timbel.web.templating import render

router = APIRouter(tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.deploy_read))]
Cutter = Annotated[Principal, Depends(require_page(Permission.deploy_nonprod))]
Form = Annotated[FormData, Depends(read_form)]
PAGE_SIZE = 30
FIELDS = ("version", "source_commit", "images", "notes")
register_flashes({"release_created": N_("The release was created.")})


def _run_numbers(session: Session, rows: list[Release]) -> dict[str, int]:
    from timbel.pipelines.run_models import PipelineRun

    ids = [r.pipeline_run_id for r in rows if r.pipeline_run_id]
    if not ids:
        return {}
    found = session.execute(select(PipelineRun.id, PipelineRun.number).where(PipelineRun.id.in_(ids)))
    return {run_id: number for run_id, number in found}


def _running(session: Session, system: System) -> dict[str, list[str]]:
    """Release id → the environments where it is the last succeeded deployment, in promotion order."""
    order = [e.name for e in service.environments_for(session, domain_id=system.domain_id)]
    current = service.current_releases(session, system_ids=[system.id])
    where: dict[str, list[str]] = {}
    for (_, env), deployment in sorted(
        current.items(), key=lambda i: order.index(i[0][1]) if i[0][1] in order else 99
    ):
        where.setdefault(deployment.release_id, []).append(env)
    return where


@router.get("/systems/{system_id}/releases", response_class=HTMLResponse)
def release_list(
    system_id: str,
    request: Request,
    principal: Reader,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """A system's releases, newest first: version, commit, images, origin, where each runs now."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    total = session.scalar(select(func.count(Release.id)).where(Release.system_id == system.id)) or 0
    rows = list(
        session.scalars(
            select(Release).where(Release.system_id == system.id)
            .order_by(Release.created_at.desc(), Release.id.desc())
            .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
        )
    )  # fmt: skip
    context = {
        "system": system,
        "rows": rows,
        "runs": _run_numbers(session, rows),
        "running": _running(session, system),
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "can_cut": principal.has(Permission.deploy_nonprod),
        "can_deploy": principal.has(Permission.deploy_nonprod) or principal.has(Permission.deploy_prod),
    }
    return render(request, "deployments/releases.html", context)


def _form_page(
    request: Request, system: System, form: dict[str, str], errors: FormErrors, status_code: int = 200
) -> HTMLResponse:
    context = {"system": system, "form": form, "errors": errors}
    return render(request, "deployments/release_new.html", context, status_code=status_code)


@router.get("/systems/{system_id}/releases/new", response_class=HTMLResponse)
def release_new(system_id: str, request: Request, principal: Cutter, session: SessionDep) -> HTMLResponse:
    """The form to cut a release: version, commit, one image reference per line, notes."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    return _form_page(request, system, dict.fromkeys(FIELDS, ""), FormErrors())


def _errors_of(exc: AppError) -> FormErrors:
    errors = FormErrors()
    for item in exc.errors:
        loc = [p for p in item.get("loc", ()) if isinstance(p, str) and p != "body"]
        errors.add(loc[0] if loc else None, str(item.get("msg") or exc.detail))
    if not errors:
        errors.add(None, exc.detail or N_("The release was not created."))
    return errors


@router.post("/systems/{system_id}/releases/new")
def release_create(
    system_id: str,
    request: Request,
    principal: Cutter,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
    form: Form,
) -> Response:
    """Cut the release and open its page; mistakes re-show the form with the reason."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    typed = {name: text(form, name, limit=20_000 if name in ("images", "notes") else 200) for name in FIELDS}
    try:
        row = releases.create_release(
            session,
            settings=settings,
            system=system,
            version=typed["version"],
            source_commit=typed["source_commit"],
            images=releases.parse_images(typed["images"].splitlines()),
            actor_id=principal.user_id,
            actor=principal.username,
            notes=typed["notes"],
            ctx=audit,
        )
    except AppError as exc:
        discard_changes(session, exc)
        return _form_page(request, system, typed, _errors_of(exc), status_code=exc.status)
    return redirect(request, f"/releases/{row.id}", flash="release_created")


@router.get("/releases/{release_id}", response_class=HTMLResponse)
def release_detail(release_id: str, request: Request, principal: Reader, session: SessionDep) -> HTMLResponse:
    """One release: images and digests, values, origin, where it runs, compare with another release."""
    release = visible_release(session, principal=principal, release_id=release_id)
    system = session.get(System, release.system_id)
    others = list(
        session.scalars(
            select(Release).where(Release.system_id == release.system_id, Release.id != release.id)
            .order_by(Release.created_at.desc()).limit(50)
        )
    )  # fmt: skip
    context: dict[str, Any] = {
        "release": release,
        "system": system,
        "others": others,
        "run_number": _run_numbers(session, [release]).get(release.pipeline_run_id or ""),
        "running": _running(session, system).get(release.id, []) if system else [],
        "can_deploy": principal.has(Permission.deploy_nonprod) or principal.has(Permission.deploy_prod),
    }
    return render(request, "deployments/release.html", context)
