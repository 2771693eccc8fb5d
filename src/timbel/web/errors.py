"""HTML answers for errors on page routes; API-like paths keep problem+json.

Browsers get a redirect to sign in (or to the forced password change), HTMX
requests get ``HX-Redirect``, and everything else a real page that keeps the
error's status code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from fastapi.dependencies.models import Dependant
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from timbel.auth.deps import CsrfFailed, PasswordChangeRequired
from timbel.auth.permissions import Permission
from timbel.core.errors import AppError, AuthenticationRequired, NotFound, PermissionDenied
from timbel.web.i18n import N_
from timbel.web.redirects import login_url, safe_next
from timbel.web.templating import render

MACHINE_PREFIXES = ("/api", "/hooks", "/metrics", "/healthz", "/readyz", "/static")
PASSWORD_PAGE = "/profile/password"  # noqa: S105 - an address, not a secret

STATUS_TITLES = {
    400: N_("The request could not be understood"),
    405: N_("This address does not accept that kind of request"),
    409: N_("The change conflicts with the current state"),
    413: N_("The request is too large"),
    422: N_("The request has invalid values"),
    429: N_("Too many requests; try again later"),
    500: N_("Something went wrong on our side"),
    502: N_("An external system failed"),
    503: N_("An external system is unavailable"),
}


def is_machine_path(path: str) -> bool:
    """Tell whether a path belongs to the API, hooks, probes or static files (never HTML errors)."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in MACHINE_PREFIXES)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request", "").lower() == "true"


def _htmx_return_path(request: Request) -> str | None:
    """The page the browser shows (HX-Current-URL), if it is on this site."""
    current = request.headers.get("hx-current-url")
    if not current:
        return None
    parts = urlsplit(current)
    if parts.netloc and parts.netloc != request.url.netloc:
        return None
    return safe_next(parts.path + ("?" + parts.query if parts.query else ""), default="") or None


def _go(request: Request, url: str, status: int) -> Response:
    if _is_htmx(request):
        return Response(status_code=status, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _walk(dependant: Dependant) -> Iterator[Any]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _walk(dep)


def required_permission(request: Request) -> str | None:
    """Name the permission the matched page route declares, if any."""
    route = request.scope.get("route")
    dependant: Dependant | None = getattr(route, "dependant", None)
    if dependant is None:
        return None
    for call in _walk(dependant):
        permission = getattr(call, "permission", None)
        if isinstance(permission, Permission):
            return permission.value
    return None


def render_html_error(request: Request, error: AppError) -> Response | None:
    """Answer a page route's error with HTML (or a redirect); None leaves problem+json in place."""
    if is_machine_path(request.url.path):
        return None
    if isinstance(error, AuthenticationRequired):
        if _is_htmx(request):
            return _go(request, login_url(_htmx_return_path(request)), 401)
        back = request.url.path + ("?" + request.url.query if request.url.query else "")
        return _go(request, login_url(back if request.method in {"GET", "HEAD"} else None), 401)
    if isinstance(error, PasswordChangeRequired):
        return _go(request, PASSWORD_PAGE, 403)
    request_id = str(request.scope.get("state", {}).get("request_id", ""))
    if isinstance(error, CsrfFailed):
        return render(request, "errors/403.html", {"csrf": True, "permission": None}, status_code=403)
    if isinstance(error, PermissionDenied):
        denied = {"csrf": False, "permission": required_permission(request)}
        return render(request, "errors/403.html", denied, status_code=403)
    if isinstance(error, NotFound):
        return render(request, "errors/404.html", {"request_id": request_id}, status_code=404)
    title = STATUS_TITLES.get(error.status, STATUS_TITLES[500 if error.status >= 500 else 400])
    context = {"status": error.status, "title": title, "request_id": request_id}
    return render(request, "errors/error.html", context, status_code=error.status, headers=error.headers)
