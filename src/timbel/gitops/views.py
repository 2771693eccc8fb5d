"""Pages of the repository deploy wizard, steps 2–4: configure the plan, review every file, commit to GitOps;
plus the operation's result and a system's GitOps history. Pages call the services, never the JSON API."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import system_service
from timbel.catalog.models import Domain, System
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.errors import AppError, Conflict
from timbel.core.settings import Settings
from timbel.gitops import delivery, forms, hand_edited
from timbel.gitops import service as gitops
from timbel.gitops.models import DeliveryDraft
from timbel.scaffold.generate import Bundle
from timbel.scaffold.plan import ENVIRONMENTS, DeliveryPlan
from timbel.scaffold.validate import render_environments
from timbel.web.forms import FormErrors, discard_changes, read_form, text
from timbel.web.i18n import N_
from timbel.web.redirects import redirect, register_flashes
from timbel.web.templating import render

router = APIRouter(tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.pipelines_read))]
Editor = Annotated[Principal, Depends(require_page(Permission.pipelines_edit))]
Form = Annotated[FormData, Depends(read_form)]
LANGUAGES = {
    "dockerfile": "dockerfile",
    "jenkinsfile": "groovy",
    "readme": "markdown",
    "dockerignore": "plaintext",
}
register_flashes({"delivery_saved": N_("The delivery plan was saved. Review the generated files.")})


def _review_url(draft_id: str) -> str:
    return f"/deploy/drafts/{draft_id}/review"


def _stored(draft: DeliveryDraft | None, settings: Settings) -> forms.SecretValues:
    """A draft's secret values, decrypted only to carry them into the next draft (never rendered)."""
    if draft is None or not draft.secrets:
        return {}
    values: forms.SecretValues = json.loads(
        gitops.secret_box(settings).decrypt(draft.secrets, context=draft.id)
    )
    return values


def _base(
    session: Session, settings: Settings, system: System, *, draft_id: str | None, fresh: bool
) -> tuple[DeliveryPlan, DeliveryDraft | None, str | None]:
    """The plan the form starts from: a given or the newest draft, else the one Timbel proposes."""
    draft = (
        delivery.get_draft(session, system=system, draft_id=draft_id)
        if draft_id
        else (None if fresh else delivery.latest_draft(session, system=system))
    )
    if draft is not None:
        return DeliveryPlan.model_validate(draft.plan), draft, draft.analysis_id
    plan, analysis_id = delivery.default_plan(session, settings=settings, system=system)
    return plan, None, analysis_id


def _configure_page(
    request: Request,
    system: System,
    principal: Principal,
    *,
    form: forms.ConfigureForm | None,
    draft: DeliveryDraft | None,
    errors: FormErrors | None = None,
    problem: str = "",
    status: int = 200,
) -> HTMLResponse:
    context = {
        "system": system,
        "form": form,
        "draft": draft,
        "errors": errors or FormErrors(),
        "problem": problem,
        "environments": ENVIRONMENTS,
        "can_edit": principal.has(Permission.pipelines_edit),
        "f_service": forms.service_field,
        "f_env": forms.env_field,
    }
    return render(request, "delivery/configure.html", context, status_code=status)


@router.get("/deploy/systems/{system_id}/configure", response_class=HTMLResponse)
def configure(
    system_id: str,
    request: Request,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    fresh: bool = False,
) -> HTMLResponse:
    """Step 2: the delivery plan as a form (the newest draft, else the plan proposed from the analysis)."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    try:
        plan, draft, _ = _base(session, settings, system, draft_id=None, fresh=fresh)
    except Conflict as exc:
        return _configure_page(request, system, principal, form=None, draft=None, problem=exc.detail)
    names = delivery.secret_value_names(draft, settings=settings) if draft else {}
    form = forms.form_from_plan(plan=plan, stored_secrets=names)
    return _configure_page(request, system, principal, form=form, draft=draft)


@router.post("/deploy/systems/{system_id}/configure")
def configure_save(
    system_id: str,
    request: Request,
    principal: Editor,
    session: SessionDep,
    settings: SettingsDep,
    form: Form,
) -> Response:
    """Save the plan as a new draft and go to the review; invalid input comes back with its messages."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    plan, draft, analysis_id = _base(
        session, settings, system, draft_id=text(form, "draft_id", limit=64) or None, fresh=True
    )
    names = delivery.secret_value_names(draft, settings=settings) if draft else {}
    submitted = forms.form_from_submission(plan=plan, form=form, stored_secrets=names)
    built, secrets, errors = forms.plan_from_form(
        base=plan, submitted=submitted, stored=_stored(draft, settings)
    )
    if built is not None:
        try:
            saved = delivery.save_draft(
                session,
                settings=settings,
                system=system,
                plan=built,
                secret_values=secrets,
                analysis_id=analysis_id,
                actor_id=principal.user_id,
            )
        except AppError as exc:
            discard_changes(session, exc)
            errors = FormErrors(detail=exc.detail)
            errors.add(None, N_("The plan could not be saved."))
        else:
            return redirect(request, _review_url(saved.id), flash="delivery_saved")
    shown = forms.without_secret_values(submitted)
    return _configure_page(request, system, principal, form=shown, draft=draft, errors=errors, status=422)


def _draft_and_system(session: Session, principal: Principal, draft_id: str) -> tuple[DeliveryDraft, System]:
    draft = delivery.get_draft(session, system=None, draft_id=draft_id)
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=draft.system_id)
    return draft, system


def _env_of(path: str, envs: list[str]) -> str:
    """The environment whose repository holds a GitOps file (shared files: the first environment's)."""
    for env in envs:
        if f"/envs/{env}/" in path or path.endswith(f"/argocd/{env}.yaml"):
            return env
    return envs[0] if envs else "dev"


def _compare(
    session: Session, settings: Settings, domain: Domain, bundle: Bundle
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each GitOps file's status against its repository, and the changed files edited there by hand."""
    envs: list[str] = list(bundle.plan.environments)
    by_env: dict[str, list[str]] = {}
    for path in bundle.gitops_files():
        by_env.setdefault(_env_of(path, envs), []).append(path)
    current: dict[str, str] = {}
    edited: list[str] = []
    generated = bundle.gitops_files()
    for env, paths in by_env.items():
        found = gitops.current_files(session, settings=settings, domain=domain, paths=paths, env=env)
        current |= found
        row = gitops.repository_for(session, settings=settings, domain_id=domain.id, env=env)
        changed = [p for p in paths if p in found and found[p] != generated[p]]
        edited += hand_edited(gitops.open_row(row, settings=settings), paths=changed) if changed else []
    return delivery.file_diffs(current, bundle), sorted(edited)


def _review_page(
    request: Request,
    session: Session,
    settings: Settings,
    principal: Principal,
    draft: DeliveryDraft,
    system: System,
    *,
    why: str = "",
    overwrite: bool = False,
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    plan = DeliveryPlan.model_validate(draft.plan)
    bundle = delivery.bundle_for(session, system=system, plan=plan)
    diffs, edited = _compare(session, settings, delivery.domain_of(session, system), bundle)
    checks: dict[str, list[Any]] = {}
    for check in bundle.checks:
        checks.setdefault(check.path, []).append(check)
    context = {
        "system": system,
        "draft": draft,
        "plan": plan,
        "app_files": [f for f in bundle.files if f.target == "app"],
        "gitops_files": [f for f in bundle.files if f.target == "gitops"],
        "rendered": render_environments(bundle.files, plan=plan),
        "other_checks": [c for c in bundle.checks if c.path not in {f.path for f in bundle.files}],
        "checks": checks,
        "diffs": diffs,
        "ok": bundle.ok,
        "error_count": sum(1 for c in bundle.checks if c.severity == "error"),
        "edited": edited,
        "overwrite": overwrite,
        "show_overwrite": overwrite or bool(edited),
        "why": why,
        "errors": errors or FormErrors(),
        "languages": LANGUAGES,
        "secret_names": delivery.secret_value_names(draft, settings=settings),
        "can_edit": principal.has(Permission.pipelines_edit),
    }
    return render(request, "delivery/review.html", context, status_code=status)


@router.get("/deploy/drafts/{draft_id}/review", response_class=HTMLResponse)
def review(
    draft_id: str,
    request: Request,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    overwrite: bool = False,
) -> HTMLResponse:
    """Step 3: every generated file with its status against the GitOps repository and its check results."""
    draft, system = _draft_and_system(session, principal, draft_id)
    return _review_page(request, session, settings, principal, draft, system, overwrite=overwrite)


@router.get("/deploy/drafts/{draft_id}/app.patch", response_class=PlainTextResponse)
def app_patch(draft_id: str, principal: Reader, session: SessionDep) -> PlainTextResponse:
    """The application-repository files of a draft as a patch to download."""
    draft, system = _draft_and_system(session, principal, draft_id)
    plan = DeliveryPlan.model_validate(draft.plan)
    bundle = delivery.bundle_for(session, system=system, plan=plan, validate=False)
    return PlainTextResponse(
        delivery.app_patch(bundle),
        media_type="text/x-diff",
        headers={"Content-Disposition": f'attachment; filename="{system.slug}-delivery.patch"'},
    )


@router.post("/deploy/drafts/{draft_id}/commit")
def commit(
    draft_id: str,
    request: Request,
    principal: Editor,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
    form: Form,
) -> Response:
    """Step 4: check and commit the draft's GitOps files, then show the operation."""
    draft, system = _draft_and_system(session, principal, draft_id)
    why = text(form, "why", limit=2000)
    overwrite = text(form, "overwrite") == "on"
    try:
        operation = delivery.commit(
            session,
            settings=settings,
            principal=principal,
            system=system,
            plan=DeliveryPlan.model_validate(draft.plan),
            why=why,
            ctx=audit,
            draft_id=draft.id,
            allow_overwrite_hand_edits=overwrite,
        )
    except AppError as exc:
        discard_changes(session, exc)
        errors = FormErrors(detail=exc.detail)
        errors.add(None, N_("Nothing was committed."))
        draft, system = _draft_and_system(session, principal, draft_id)
        return _review_page(
            request, session, settings, principal, draft, system, why=why, overwrite=overwrite,
            errors=errors, status=422,
        )  # fmt: skip
    return redirect(request, f"/deploy/operations/{operation.id}")


@router.get("/deploy/operations/{operation_id}", response_class=HTMLResponse)
def operation_page(
    operation_id: str, request: Request, principal: Reader, session: SessionDep
) -> HTMLResponse:
    """A GitOps operation: its state, the commits it made, or why it failed and how to retry."""
    operation = delivery.get_operation(session, operation_id=operation_id)
    system = (
        system_service.get_visible_or_raise(session, principal=principal, system_id=operation.system_id)
        if operation.system_id
        else None
    )
    changed = any(c.get("changed") for c in operation.commits)
    context = {"operation": operation, "system": system, "changed": changed}
    return render(request, "delivery/operation.html", context)


@router.get("/deploy/systems/{system_id}/gitops", response_class=HTMLResponse)
def history(
    system_id: str,
    request: Request,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    env: str = "",
    sha: str = "",
) -> HTMLResponse:
    """A system's GitOps commits (all, or one environment's) and, with ``sha``, that commit's diff."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    domain = delivery.domain_of(session, system)
    chosen = env if env in ENVIRONMENTS else None
    commits = gitops.history(session, settings=settings, domain=domain, system=system, env=chosen, limit=100)
    diff = gitops.commit_diff(session, settings=settings, domain=domain, env=chosen, sha=sha) if sha else ""
    context = {
        "system": system,
        "commits": commits,
        "env": chosen or "",
        "sha": sha,
        "diff": diff,
        "environments": ENVIRONMENTS,
    }
    return render(request, "delivery/history.html", context)
