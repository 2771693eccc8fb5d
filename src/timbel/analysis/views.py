"""Pages of the repository deploy wizard (레포지토리 배포), step 1: analyse, follow live, read, register."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response, StreamingResponse

from timbel.analysis import events, register, report_labels, service
from timbel.analysis.api_schemas import RegisterRequest
from timbel.analysis.models import ANALYSIS_MACHINE, Analysis, AnalysisState
from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import system_forms, system_page, system_service
from timbel.catalog.models import Project, System
from timbel.catalog.system_schemas import Stage
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.errors import AppError
from timbel.core.pagination import PageParams
from timbel.web import i18n
from timbel.web.forms import FormErrors, discard_changes, read_form, text
from timbel.web.i18n import N_
from timbel.web.redirects import redirect, register_flashes
from timbel.web.templating import environment, render

router = APIRouter(tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.catalog_read))]
Runner = Annotated[Principal, Depends(require_page(Permission.analysis_run))]
Form = Annotated[FormData, Depends(read_form)]
BASE = "/deploy/repository"
RECENT = 10
ERROR_LABELS = {
    "unsafe-repository-url": N_("This repository URL is refused."),
    "clone-failed": N_("The repository could not be cloned."),
    "clone-timed-out": N_("Cloning the repository took too long."),
    "clone-too-large": N_("The repository is larger than the configured limit."),
    "too-many-files": N_("The repository has more files than the configured limit."),
    "worker-lost": N_("The analysis stopped repeatedly without finishing."),
    "internal-error": N_("The analysis failed unexpectedly."),
    "store-failed": N_("The report could not be stored."),
}
register_flashes(
    {
        "analysis_registered": N_("The system was registered with the knowledge found in its repository."),
        "analysis_synced": N_("The catalog was updated from the analysis."),
    }
)


def _url(analysis_id: str, suffix: str = "") -> str:
    return f"{BASE}/analyses/{analysis_id}{suffix}"


def _systems(session: Session, principal: Principal) -> list[System]:
    rows, _ = system_service.list_systems(
        session, principal=principal, paging=PageParams(per_page=200), sort="name"
    )
    return [row for row in rows if row.repo_url]


def _wizard(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    error_detail: str = "",
    status: int = 200,
) -> HTMLResponse:
    recent, _ = service.list_analyses(session, principal=principal, paging=PageParams(per_page=RECENT))
    context = {
        "form": form or {"url": "", "ref": "", "system_id": ""},
        "errors": errors or FormErrors(),
        "error_detail": error_detail,
        "systems": _systems(session, principal),
        "recent": recent,
        "labels": report_labels,
    }
    return render(request, "analysis/wizard.html", context, status_code=status)


@router.get(BASE, response_class=HTMLResponse)
def wizard(request: Request, principal: Runner, session: SessionDep) -> HTMLResponse:
    """Step 1 of the deploy wizard: paste a repository URL or pick a system."""
    return _wizard(request, session, principal)


@router.post(BASE)
def wizard_start(
    request: Request,
    principal: Runner,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
    form: Form,
) -> Response:
    """Queue the analysis and go to its page."""
    submitted = {name: text(form, name, limit=1000) for name in ("url", "ref", "system_id")}
    try:
        analysis = service.start(
            session,
            principal=principal,
            settings=settings,
            ctx=audit,
            enqueue=request.app.state.jobs.enqueue,
            url=submitted["url"] or None,
            system_id=submitted["system_id"] or None,
            ref=submitted["ref"] or None,
        )
    except AppError as exc:
        discard_changes(session, exc)
        errors = FormErrors()
        errors.add("url", ERROR_LABELS.get(exc.code, N_("Check the repository and try again.")))
        return _wizard(
            request, session, principal, form=submitted, errors=errors, error_detail=exc.detail, status=422
        )
    return redirect(request, _url(analysis.id))


def _register_form(session: Session, principal: Principal, analysis: Analysis) -> dict[str, Any]:
    name = register.repo_name(analysis)
    return {
        "domain_id": "",
        "project_id": "",
        "name": name,
        "slug": register.suggested_slug(name),
        "stage": "development",
    }


def _result_context(
    request: Request, session: Session, principal: Principal, analysis: Analysis, **extra: Any
) -> dict[str, Any]:
    system = session.get(System, analysis.system_id) if analysis.system_id else None
    projects = session.execute(
        select(Project.id, Project.name, Project.domain_id)
        .where(
            *([f] if (f := system_service.visible_filter(principal, Project.domain_id)) is not None else [])
        )
        .order_by(Project.name)
        .limit(300)
    ).all()
    return {
        "analysis": analysis,
        "report": analysis.report,
        "system": system,
        "labels": report_labels,
        "error_labels": ERROR_LABELS,
        "live": not ANALYSIS_MACHINE.terminal(AnalysisState(analysis.state)),
        "can_register": principal.has(Permission.analysis_run) and principal.has(Permission.catalog_write),
        "domains": system_page.domains(session, principal),
        "projects": projects,
        "stages": [s.value for s in Stage],
        "stage_labels": system_forms.STAGE_LABELS,
        "register_form": extra.pop("register_form", None) or _register_form(session, principal, analysis),
        "register_errors": extra.pop("register_errors", None) or FormErrors(),
        **extra,
    }


@router.get(BASE + "/analyses/{analysis_id}", response_class=HTMLResponse)
def analysis_page(analysis_id: str, request: Request, principal: Reader, session: SessionDep) -> HTMLResponse:
    """Show an analysis: live progress while it runs, then the report and the register form."""
    analysis = service.get_visible_or_raise(session, principal=principal, analysis_id=analysis_id)
    return render(request, "analysis/analysis.html", _result_context(request, session, principal, analysis))


@router.get(BASE + "/analyses/{analysis_id}/result", response_class=HTMLResponse)
def analysis_result(
    analysis_id: str, request: Request, principal: Reader, session: SessionDep
) -> HTMLResponse:
    """The finished part of the page (loaded by HTMX when the live stream says done)."""
    analysis = service.get_visible_or_raise(session, principal=principal, analysis_id=analysis_id)
    return render(request, "analysis/_result.html", _result_context(request, session, principal, analysis))


@router.get(BASE + "/analyses/{analysis_id}/events", response_class=StreamingResponse)
def analysis_events(
    analysis_id: str, request: Request, principal: Reader, session: SessionDep
) -> StreamingResponse:
    """Live progress for the page: HTML fragments over Server-Sent Events."""
    service.get_visible_or_raise(session, principal=principal, analysis_id=analysis_id)
    locale = i18n.locale_for(request)
    template = environment.get_template("analysis/_progress.html")

    def html(event: str, status: dict[str, Any]) -> str:
        with i18n.use_locale(locale):
            return template.render(
                status=status, event=event, labels=report_labels, result_url=_url(analysis_id, "/result")
            )

    return events.response(request, analysis_id, render=html)


@router.post(BASE + "/analyses/{analysis_id}/register")
def analysis_register(
    analysis_id: str, request: Request, principal: Runner, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Register the analysed repository as a system (or update its system's catalog items)."""
    analysis = service.get_visible_or_raise(session, principal=principal, analysis_id=analysis_id)
    had_system = analysis.system_id is not None
    submitted = {
        name: text(form, name, limit=20_000) for name in ("domain_id", "project_id", "name", "slug", "stage")
    }
    try:
        data = RegisterRequest(
            domain_id=submitted["domain_id"] or None,
            project_ids=[submitted["project_id"]] if submitted["project_id"] else [],
            name=submitted["name"] or None,
            slug=submitted["slug"] or None,
            stage=submitted["stage"] or Stage.development.value,
        )
        system, _ = register.register(session, principal=principal, analysis=analysis, data=data, ctx=audit)
    except ValidationError as exc:
        errors = system_forms.field_errors(exc)
    except AppError as exc:
        discard_changes(session, exc)
        errors = system_forms.field_errors(exc)
    else:
        flash = "analysis_synced" if had_system else "analysis_registered"
        return redirect(request, f"/catalog/systems/{system.id}", flash=flash)
    analysis = service.get_visible_or_raise(session, principal=principal, analysis_id=analysis_id)
    context = _result_context(
        request, session, principal, analysis, register_form=submitted, register_errors=errors
    )
    return render(request, "analysis/analysis.html", context, status_code=422)


@router.get("/catalog/systems/{system_id}/analysis-card", response_class=HTMLResponse)
def system_card(system_id: str, request: Request, principal: Reader, session: SessionDep) -> HTMLResponse:
    """The system page's analysis card: the latest report's summary and a re-run button."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    context = {
        "system": system,
        "latest": service.latest_report(session, system_id=system.id),
        "last_run": service.latest_run(session, system_id=system.id),
        "labels": report_labels,
        "can_run": principal.has(Permission.analysis_run)
        and bool(system.repo_url)
        and (not system.repo_url.startswith("/") or principal.has(Permission.admin_settings)),
    }
    return render(request, "analysis/_system_card.html", context)


@router.post("/catalog/systems/{system_id}/analyze")
def system_analyze(
    system_id: str,
    request: Request,
    principal: Runner,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
) -> Response:
    """Re-run the analysis of a system's repository and follow it on the analysis page."""
    analysis = service.start(
        session,
        principal=principal,
        settings=settings,
        ctx=audit,
        enqueue=request.app.state.jobs.enqueue,
        system_id=system_id,
    )
    return redirect(request, _url(analysis.id))
