"""Every route is public on purpose or guarded: anonymous → 401 (or the login redirect), a role without
the route's permission → 403, a role with it → neither."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from tests.conftest import TEST_SECRET, Account, MakeUser, login
from timbel.audit.service import AuditContext
from timbel.auth import tokens as token_service
from timbel.auth.deps import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, public
from timbel.auth.permissions import ROLE_PERMISSIONS, Permission, Role
from timbel.core.db import session_scope
from timbel.core.security import hmac_hex

# Public on purpose: sign-in, signed webhook receivers, probes, metrics, API docs, static files, the login
# page and language switch.
PUBLIC_ALLOWLIST = {
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/hooks/github"),  # authenticated by the HMAC signature of each delivery
    ("POST", "/hooks/gitlab"),  # authenticated by the shared X-Gitlab-Token
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/api/docs"),
    ("GET", "/api/openapi.json"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/locale"),
}
PLACEHOLDER = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Guard:
    """What a route declares about access."""

    public: bool
    surface: str | None  # "api" | "page"
    permission: Permission | None


def _walk(dependant: Dependant) -> Iterator[Any]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _walk(dep)


def guard_of(method: str, path: str, dependant: Dependant) -> Guard:
    calls = list(_walk(dependant))
    if public in calls:
        return Guard(public=True, surface=None, permission=None)
    checks = [c for c in calls if hasattr(c, "surface")]
    assert len(checks) == 1, f"{method} {path} must declare exactly one access check, found {checks}"
    return Guard(public=False, surface=checks[0].surface, permission=checks[0].permission)


def routes(app: FastAPI) -> list[tuple[str, str, Guard]]:
    """Every (method, path, guard) the app serves, with router-level dependencies included."""
    found: list[tuple[str, str, Guard]] = []
    for ctx in routing.iter_route_contexts(app.routes):
        original = ctx.original_route
        if isinstance(original, APIRoute):
            for method in sorted(ctx.methods or ()):
                found.append((method, ctx.path, guard_of(method, ctx.path, ctx.dependant)))
        elif isinstance(original, Mount):
            assert original.path == "/static", f"unexpected mount {original.path}"
        elif isinstance(original, Route):
            assert original.path in {"/api/openapi.json"}, f"unexpected plain route {original.path}"
        else:
            raise AssertionError(f"unexpected route type {type(original).__name__}")
    # Session-ending routes go last so they do not sign the caller out of the rest.
    return sorted(found, key=lambda r: "logout" in r[1])


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", PLACEHOLDER, path)


class Caller:
    """Sends a route's request as one role, through the credential that surface takes."""

    def __init__(self, client: TestClient, app: FastAPI, account: Account) -> None:
        self.client = client
        self.api_headers = login(client, account)
        with session_scope(app.state.session_factory) as session:
            secret, _ = token_service.login_web(
                session,
                settings=app.state.settings,
                username=account.username,
                password=account.password,
                ctx=AuditContext(),
            )
        self.cookies = {SESSION_COOKIE: secret, CSRF_COOKIE: "matrix-nonce"}
        self.page_headers = {CSRF_HEADER: hmac_hex(TEST_SECRET, "csrf:matrix-nonce")}

    def call(self, method: str, path: str, surface: str) -> int:
        if surface == "api":
            headers, cookies = self.api_headers, {}
        else:
            headers, cookies = self.page_headers, self.cookies
        self.client.cookies.clear()
        for name, value in cookies.items():
            self.client.cookies.set(name, value)
        kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
        if method in {"POST", "PUT", "PATCH"}:
            kwargs["json"] = {}
        return self.client.request(method, concrete(path), **kwargs).status_code


@pytest.fixture
def callers(client: TestClient, app: FastAPI, make_user: MakeUser) -> dict[Role, Caller]:
    return {role: Caller(client, app, make_user(roles=(role.value,))) for role in Role}


def test_every_route_is_public_on_purpose_or_guarded(app: FastAPI) -> None:
    public_routes = {(m, p) for m, p, g in routes(app) if g.public} | {("GET", "/api/openapi.json")}
    assert public_routes == PUBLIC_ALLOWLIST


def test_there_are_guarded_routes_of_both_surfaces(app: FastAPI) -> None:
    surfaces = {g.surface for _, _, g in routes(app) if not g.public}
    assert surfaces == {"api", "page"}


def test_anonymous_callers_are_refused(client: TestClient, app: FastAPI) -> None:
    refused: list[str] = []
    for method, path, guard in routes(app):
        if guard.public:
            continue
        client.cookies.clear()
        kwargs: dict[str, Any] = {"follow_redirects": False}
        if method in {"POST", "PUT", "PATCH"}:
            kwargs["json"] = {}
        if guard.surface == "api":
            response = client.request(method, concrete(path), **kwargs)
            ok = response.status_code == 401 and response.headers["content-type"].startswith(
                "application/problem+json"
            )
        elif method == "GET":
            response = client.request(method, concrete(path), headers={"Accept": "text/html"}, **kwargs)
            ok = response.status_code == 303 and response.headers["location"].startswith("/login?next=")
            htmx = client.request(method, concrete(path), headers={"HX-Request": "true"}, **kwargs)
            ok = ok and htmx.status_code == 401
        else:
            # An unsafe page request without a session is refused before anything happens.
            response = client.request(method, concrete(path), **kwargs)
            ok = response.status_code in {401, 403}
        if not ok:
            refused.append(f"{method} {path} -> {response.status_code}")
    assert refused == []


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_roles_get_exactly_what_their_permissions_allow(
    role: Role, app: FastAPI, callers: dict[Role, Caller]
) -> None:
    wrong: list[str] = []
    checked = 0
    for method, path, guard in routes(app):
        if guard.public or guard.surface is None:
            continue
        status = callers[role].call(method, path, guard.surface)
        allowed = guard.permission is None or guard.permission in ROLE_PERMISSIONS[role]
        checked += 1
        if allowed and status in {401, 403}:
            wrong.append(f"{method} {path}: {role.value} should pass, got {status}")
        if not allowed and status != 403:
            wrong.append(f"{method} {path}: {role.value} lacks {guard.permission}, got {status}")
    assert checked > 10
    assert wrong == []


def test_permissions_of_guarded_routes_are_named_constants(app: FastAPI) -> None:
    for _, _, guard in routes(app):
        assert guard.permission is None or isinstance(guard.permission, Permission)
