"""Safe redirects and flash confirmations for post/redirect/get.

Only same-site relative targets are ever followed, so ``next=`` cannot turn
Timbel into an open redirect. A flash is a short-lived cookie holding a
registered code (never free text), shown once by the next rendered page.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi.responses import RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from timbel.core.settings import Settings

FLASH_COOKIE = "timbel_flash"
FLASH_SECONDS = 60
_FLASHES: dict[str, str] = {}


def safe_next(value: str | None, default: str = "/") -> str:
    """Return ``value`` if it is a same-site relative path, else ``default``."""
    if not value or len(value) > 2000:
        return default
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def login_url(next_path: str | None) -> str:
    """Return the sign-in address that comes back to ``next_path`` afterwards."""
    target = safe_next(next_path, default="")
    return "/login?next=" + quote(target, safe="/") if target else "/login"


def register_flashes(messages: dict[str, str]) -> None:
    """Register flash codes and their (untranslated, ``N_``-marked) messages."""
    _FLASHES.update(messages)


def flash_message(request: Request) -> str | None:
    """Return the message id of the request's pending flash, if any."""
    code = request.cookies.get(FLASH_COOKIE)
    return _FLASHES.get(code) if code else None


def secure_cookies(request: Request) -> bool:
    """Tell whether cookies must carry the Secure flag."""
    settings: Settings = request.app.state.settings
    return settings.http.secure_cookies


def redirect(request: Request, url: str, *, flash: str | None = None) -> RedirectResponse:
    """Answer 303 See Other to a same-site address, optionally with a flash confirmation."""
    response = RedirectResponse(safe_next(url), status_code=303)
    if flash is not None:
        if flash not in _FLASHES:
            raise ValueError(f"unregistered flash code {flash!r}")
        set_cookie(request, response, FLASH_COOKIE, flash, max_age=FLASH_SECONDS)
    return response


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int | None, path: str = "/"
) -> None:
    """Set an HttpOnly, SameSite=Lax cookie (Secure when configured)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )


def delete_cookie(request: Request, response: Response, name: str, path: str = "/") -> None:
    """Expire a cookie set by ``set_cookie``."""
    response.delete_cookie(name, path=path, httponly=True, samesite="lax", secure=secure_cookies(request))
