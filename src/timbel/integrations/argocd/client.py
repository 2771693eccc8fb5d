"""A thin httpx client for the Argo CD REST API (``/api/version``, ``/api/v1/...``).

Why an ``httpx.Auth`` for sessions: with a username and password the client logs in through
``POST /api/v1/session`` on first use and caches the token; when Argo CD answers 401 (the session expired or
the server's key rotated) it logs in again once and repeats the request. Repeating is safe even for a POST:
a 401 means Argo CD refused the request before acting on it. Everything else about retries comes from
``timbel.integrations.http.make_client`` (idempotent methods only, per-instance circuit breaker), so a sync,
rollback or create POST is never sent twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable, NotFound
from timbel.integrations.http import CircuitBreaker, as_integration_error, make_client

from .config import ArgoCDConfig

USER_AGENT = "timbel-argocd"
MAX_DETAIL = 300


class ArgoCDNotFound(IntegrationError, NotFound):
    """Argo CD does not know the addressed application or project."""

    status: ClassVar[int] = 404
    code: ClassVar[str] = "integration-not-found"
    title: ClassVar[str] = "Not found in the integration"


class SessionAuth(httpx.Auth):
    """Send a Bearer token: the account token, or a session token from ``POST /api/v1/session``."""

    requires_response_body = True

    def __init__(self, config: ArgoCDConfig) -> None:
        self._config = config
        self._token = config.token.get_secret_value() if config.token is not None else None
        self._lock = threading.Lock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Attach the token; with a session, log in first and once more after a 401."""
        if self._config.token is not None:
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request
            return
        with self._lock:
            token = self._token
        fresh = token is None
        if token is None:
            token = yield from self._login(request)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and not fresh:
            with self._lock:
                self._token = None
            token = yield from self._login(request)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def _login(self, original: httpx.Request) -> Generator[httpx.Request, httpx.Response, str]:
        """``POST /api/v1/session`` with the username and password; cache and return the token."""
        config = self._config
        assert config.username is not None and config.password is not None
        body = {"username": config.username, "password": config.password.get_secret_value()}
        headers = {k: v for k, v in original.headers.items() if k.lower() in ("accept", "user-agent")}
        response = yield httpx.Request(
            "POST",
            f"{config.base_url}/api/v1/session",
            json=body,
            headers=headers,
            extensions={k: v for k, v in original.extensions.items() if k == "timeout"},
        )
        if response.status_code in (401, 403):
            raise IntegrationAuthError(
                f"Argo CD '{config.name}' refused the login of user '{config.username}' "
                f"(HTTP {response.status_code})"
            )
        if response.status_code >= 400:
            raise _status_error(config.name, response, "POST /api/v1/session", secrets=_secrets(config))
        token = _json(response, name=config.name).get("token")
        if not isinstance(token, str) or not token:
            raise IntegrationError(f"Argo CD '{config.name}' answered the login without a token")
        with self._lock:
            self._token = token
        return token


class ArgoCDClient:
    """Call one Argo CD API server; ``transport`` lets tests swap the network out."""

    def __init__(
        self,
        config: ArgoCDConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._secrets = _secrets(config)
        self._http = make_client(
            base_url=config.base_url,
            breaker=breaker,
            timeout=httpx.Timeout(config.timeout_seconds, connect=min(5.0, config.timeout_seconds)),
            transport=transport,
            auth=SessionAuth(config),
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            verify=config.verify_tls,
            sleep=sleep,
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def version(self) -> dict[str, Any]:
        """``GET /api/version`` without credentials → ``{Version}`` (more fields when logged in)."""
        return self._call("GET", "/api/version", anonymous=True)

    def userinfo(self) -> dict[str, Any]:
        """``GET /api/v1/session/userinfo`` → ``{loggedIn, username, iss, groups}``."""
        return self._call("GET", "/api/v1/session/userinfo")

    def applications(self, *, project: str | None = None) -> list[dict[str, Any]]:
        """``GET /api/v1/applications`` (optionally of one project) → the items."""
        params = {"projects": project} if project else {}
        if self.config.app_namespace:
            params["appNamespace"] = self.config.app_namespace
        return list(self._call("GET", "/api/v1/applications", params=params).get("items") or [])

    def projects(self) -> list[dict[str, Any]]:
        """``GET /api/v1/projects`` → the items."""
        return list(self._call("GET", "/api/v1/projects").get("items") or [])

    def create_project(self, project: Mapping[str, Any], *, upsert: bool = True) -> dict[str, Any]:
        """``POST /api/v1/projects`` with ``{project, upsert}``."""
        body = {"project": dict(project), "upsert": upsert}
        return self._call("POST", "/api/v1/projects", json=body)

    def create_application(self, application: Mapping[str, Any], *, upsert: bool = True) -> dict[str, Any]:
        """``POST /api/v1/applications?upsert=…`` with the Application body."""
        params = {"upsert": "true" if upsert else "false"}
        return self._call("POST", "/api/v1/applications", params=params, json=dict(application))

    def application(self, name: str, *, refresh: str | None = None) -> dict[str, Any]:
        """``GET /api/v1/applications/{name}`` (``refresh`` normal or hard asks for a new comparison)."""
        params = {"refresh": refresh} if refresh else {}
        return self._call("GET", _app_path(name), params=self._ns(params), app=name)

    def sync(self, name: str, *, revision: str | None = None, prune: bool = False) -> dict[str, Any]:
        """``POST …/{name}/sync`` with ``{revision, prune}`` (no revision: the app's targetRevision)."""
        body: dict[str, Any] = {"prune": prune}
        if revision is not None:
            body = {"revision": revision, "prune": prune}
        return self._call("POST", f"{_app_path(name)}/sync", json=self._ns_body(body), app=name)

    def rollback(self, name: str, *, history_id: int, prune: bool = False) -> dict[str, Any]:
        """``POST …/{name}/rollback`` with ``{id, prune}``."""
        body = self._ns_body({"id": history_id, "prune": prune})
        return self._call("POST", f"{_app_path(name)}/rollback", json=body, app=name)

    def delete_application(self, name: str, *, cascade: bool = True) -> None:
        """``DELETE /api/v1/applications/{name}?cascade=…``."""
        params = self._ns({"cascade": "true" if cascade else "false"})
        self._call("DELETE", _app_path(name), params=params, app=name)

    def resource_tree(self, name: str) -> dict[str, Any]:
        """``GET …/{name}/resource-tree`` → ``{nodes, orphanedNodes, hosts}``."""
        return self._call("GET", f"{_app_path(name)}/resource-tree", params=self._ns({}), app=name)

    def _ns(self, params: dict[str, str]) -> dict[str, str]:
        """Add ``appNamespace`` to query parameters when the instance uses one."""
        if self.config.app_namespace:
            params["appNamespace"] = self.config.app_namespace
        return params

    def _ns_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add ``appNamespace`` to an operation body when the instance uses one."""
        if self.config.app_namespace:
            body["appNamespace"] = self.config.app_namespace
        return body

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        app: str | None = None,
        anonymous: bool = False,
    ) -> dict[str, Any]:
        """Send one request and return its JSON object; map every failure to the error hierarchy."""
        name = self.config.name
        auth: Any = None if anonymous else httpx.USE_CLIENT_DEFAULT
        try:
            response = self._http.request(method, path, params=params or None, json=json, auth=auth)
        except IntegrationError:
            raise
        except httpx.HTTPError as exc:
            raise as_integration_error(f"Argo CD '{name}'", exc) from exc
        if response.status_code >= 400:
            raise _status_error(name, response, f"{method} {path}", secrets=self._secrets, app=app)
        if not response.content:
            return {}
        return _json(response, name=name)


def _app_path(name: str) -> str:
    """The URL path of one application (its name percent-encoded)."""
    if not name:
        raise ValueError("an application name is required")
    return f"/api/v1/applications/{quote(name, safe='')}"


def _secrets(config: ArgoCDConfig) -> list[str]:
    """The secret values that must never appear in a message."""
    return [s.get_secret_value() for s in (config.token, config.password) if s is not None]


def _status_error(
    name: str, response: httpx.Response, call: str, *, secrets: list[str], app: str | None = None
) -> IntegrationError:
    """The error for a non-2xx answer, with Argo CD's own message (secrets scrubbed, shortened)."""
    status = response.status_code
    detail = _detail(response, secrets)
    suffix = f": {detail}" if detail else ""
    if status in (401, 403):
        word = "refused the credentials" if status == 401 else "denied permission"
        return IntegrationAuthError(f"Argo CD '{name}' {word} (HTTP {status} on {call}){suffix}")
    if status == 404:
        what = f"application '{app}'" if app else call
        return ArgoCDNotFound(f"Argo CD '{name}' has no {what} (HTTP 404)")
    if status in (502, 503, 504, 429):
        return IntegrationUnavailable(f"Argo CD '{name}' is unavailable (HTTP {status} on {call})")
    return IntegrationError(f"Argo CD '{name}' answered HTTP {status} on {call}{suffix}")


def _detail(response: httpx.Response, secrets: list[str]) -> str:
    """Argo CD's error message (``message`` or ``error``), without any secret value, at most 300 chars."""
    try:
        body = response.json()
    except ValueError:
        return ""
    text = str(body.get("message") or body.get("error") or "") if isinstance(body, dict) else ""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def _json(response: httpx.Response, *, name: str) -> dict[str, Any]:
    """Decode a JSON object body; anything else is an integration error."""
    try:
        body = response.json()
    except ValueError as exc:
        path = response.request.url.path
        raise IntegrationError(f"Argo CD '{name}' answered {path} with non-JSON") from exc
    if not isinstance(body, dict):
        raise IntegrationError(f"Argo CD '{name}' answered {response.request.url.path} with a non-object")
    return body
