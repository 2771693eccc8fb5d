"""Jinja2 environment and ``render()``: every page gets the user, locale, menu, CSRF token and flash."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.requests import Request

from timbel import __version__
from timbel.auth.deps import CSRF_COOKIE, csrf_token_for
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.core.settings import Settings
from timbel.web import i18n
from timbel.web.i18n import N_
from timbel.web.redirects import FLASH_COOKIE, delete_cookie, flash_message, set_cookie

TEMPLATE_DIR = Path(__file__).parent / "templates"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True, slots=True)
class MenuItem:
    """One menu entry; ``label`` is an untranslated message id."""

    label: str
    href: str
    permission: Permission | None = None


@dataclass(frozen=True, slots=True)
class MenuSection:
    """A titled group of menu entries (untitled for top-level entries)."""

    label: str | None
    items: tuple[MenuItem, ...]


# Only sections that exist today; the architecture document's menu grows here.
MENU: tuple[MenuSection, ...] = (
    MenuSection(None, (MenuItem(N_("Home"), "/"),)),
    MenuSection(
        N_("Knowledge catalog"),
        (
            MenuItem(N_("Catalog dashboard"), "/catalog", Permission.catalog_read),
            MenuItem(N_("Search"), "/catalog/search", Permission.catalog_read),
            MenuItem(N_("Customer domains"), "/catalog/domains", Permission.catalog_read),
            MenuItem(N_("Projects"), "/catalog/projects", Permission.catalog_read),
            MenuItem(N_("Systems"), "/catalog/systems", Permission.catalog_read),
            MenuItem(N_("Components"), "/catalog/components", Permission.catalog_read),
            MenuItem(N_("Documents"), "/catalog/documents", Permission.catalog_read),
            MenuItem(N_("Design assets"), "/catalog/design-assets", Permission.catalog_read),
        ),
    ),
    MenuSection(
        N_("Operations center"),
        (
            MenuItem(N_("Repository deploy"), "/deploy/repository", Permission.analysis_run),
            MenuItem(N_("Pipelines"), "/pipelines", Permission.pipelines_read),
            MenuItem(N_("Deployments"), "/deployments", Permission.deploy_read),
            MenuItem(N_("Approvals"), "/approvals", Permission.deploy_read),
        ),
    ),
    MenuSection(
        N_("System administration"),
        (
            MenuItem(N_("Users and roles"), "/admin/users", Permission.admin_users),
            MenuItem(N_("Audit log"), "/admin/audit", Permission.admin_audit),
            MenuItem(N_("Pipeline templates"), "/admin/pipeline-templates", Permission.admin_settings),
            MenuItem(N_("GitOps repositories"), "/admin/gitops", Permission.admin_settings),
            MenuItem(N_("Environments"), "/admin/environments", Permission.admin_settings),
            MenuItem(N_("Integrations"), "/admin/integrations", Permission.admin_integrations),
            MenuItem(N_("Notification log"), "/admin/notifications", Permission.admin_integrations),
        ),
    ),
)


ROLE_LABELS = {
    "admin": N_("Administrator"),
    "operations": N_("Operations"),
    "executive": N_("Executive"),
    "viewer": N_("Viewer"),
}
ROLE_DESCRIPTIONS = {
    "admin": N_("Everything: users, roles, integrations, settings, approvals."),
    "operations": N_("Registers systems, deploys, runs pipelines, manages monitors and the catalog."),
    "executive": N_("Reads everything, approves production promotions, sees the executive dashboard."),
    "viewer": N_("Reads what their domains allow."),
}


def menu_for(principal: Principal | None, path: str) -> list[dict[str, Any]]:
    """Return the menu sections and entries the principal may see, marking the active entry."""
    if principal is None:
        return []
    sections: list[dict[str, Any]] = []
    active = _active_href(path)
    for section in MENU:
        items = [
            {"label": item.label, "href": item.href, "active": item.href == active}
            for item in section.items
            if item.permission is None or principal.has(item.permission)
        ]
        if items:
            sections.append({"label": section.label, "entries": items})
    return sections


def _active_href(path: str) -> str | None:
    """Return the menu entry a path belongs to: the longest href that is the path or its parent."""
    matches = [
        item.href
        for section in MENU
        for item in section.items
        if path == item.href or (item.href != "/" and path.startswith(item.href + "/"))
    ]
    return max(matches, key=len, default=None)


@pass_context
def format_datetime(context: Context, value: datetime | None) -> str:
    """Show a timestamp in the configured display time zone, to the minute, with the zone's name."""
    if value is None:
        return ""
    tz = context.get("display_tz") or UTC
    local = value.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


def query_url(path: str, params: Mapping[str, Any]) -> str:
    """Build ``path?query`` from the non-empty parameters (for paging links that keep filters)."""
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(clean)}" if clean else path


def _build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["dt"] = format_datetime
    env.globals["query_url"] = query_url
    env.globals["language_name"] = i18n.language_name
    env.globals["role_labels"] = ROLE_LABELS
    env.globals["role_descriptions"] = ROLE_DESCRIPTIONS
    return env


environment = _build_environment()


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
    *,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a page in the request's locale, with the layout's shared context and CSRF cookie."""
    settings: Settings = request.app.state.settings
    principal: Principal | None = getattr(request.state, "principal", None)
    locale = i18n.locale_for(request)
    path = request.url.path
    here = path + ("?" + request.url.query if request.url.query else "")
    flash = flash_message(request)
    display_tz = ZoneInfo(settings.i18n.timezone)
    shared: dict[str, Any] = {
        "request": request,
        "principal": principal,
        "csrf_token": csrf_token_for(request),
        "locale": locale,
        "locales": i18n.supported_locales(settings),
        "menu": menu_for(principal, path),
        "flash": flash,
        "current_path": here,
        "version": __version__,
        "display_tz": display_tz,
        "tz_label": datetime.now(display_tz).tzname() or settings.i18n.timezone,
    }
    shared.update(context or {})
    with i18n.use_locale(locale):
        html = environment.get_template(template).render(shared)
    response = HTMLResponse(html, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})})
    nonce = getattr(request.state, "new_csrf_nonce", None)
    if nonce:
        set_cookie(request, response, CSRF_COOKIE, nonce, max_age=settings.auth.web_session_absolute_seconds)
    if request.cookies.get(FLASH_COOKIE):
        delete_cookie(request, response, FLASH_COOKIE)
    return response
