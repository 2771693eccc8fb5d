"""A fake Argo CD API server: sessions and account tokens, projects, applications, sync, rollback, history.

It follows the public REST API (``../shared/reference/external-apis.md``): gRPC-gateway style error bodies
``{error, code, message}`` with 400/401/403/404/500/503, ``upsert`` semantics for projects and applications,
and operations that a controller would move along. Here every ``GET`` of an application is one controller
tick: a requested sync is picked up (phase Running, health Progressing), stays Running for
``running_polls`` ticks, then ends Succeeded (sync Synced, history appended, health still Progressing) and
the next tick reports Healthy; with ``fail_syncs`` it ends Failed (health Degraded, no history entry).
"""

from __future__ import annotations

import copy
import hashlib
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEFAULT_NAMESPACE = "argocd"
GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 500: 13, 503: 14}
SHA = re.compile(r"[0-9a-f]{40}")
FAIL_MESSAGE = 'one or more objects failed to apply, reason: Deployment.apps "{name}" is invalid'


class ArgoError(Exception):
    """An error answer: HTTP status and message (the body gets the matching gRPC code)."""

    def __init__(self, status: int, message: str, *, grpc_code: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.grpc_code = grpc_code if grpc_code is not None else GRPC_CODES.get(status, 2)


@dataclass
class FakeArgoCD:
    """The state of one fake Argo CD; ``asgi()`` serves it. Tests may change any field between calls."""

    users: dict[str, str] = field(default_factory=lambda: {"admin": "admin-password"})
    tokens: dict[str, str] = field(default_factory=dict)  # account token → account name
    readonly: set[str] = field(default_factory=set)  # accounts that may read but not write
    version: str = "v2.11.3+3f344d5"
    running_polls: int = 1  # ticks an operation stays Running after the controller picked it up
    fail_syncs: bool = False
    error_status: int | None = None  # answer every request with this status …
    error_times: int | None = None  # … this many times (None: until cleared)
    error_message: str = "injected failure"
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    apps: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (namespace, name) → app
    sessions: dict[str, str] = field(default_factory=dict)  # session token → user

    def __post_init__(self) -> None:
        if "default" not in self.projects:
            self.projects["default"] = _project({"metadata": {"name": "default"}, "spec": _open_project()})

    def fail(self, status: int, *, times: int | None = None, message: str = "injected failure") -> None:
        """Answer the next ``times`` requests (every request when None) with ``status`` and ``message``."""
        self.error_status, self.error_times, self.error_message = status, times, message

    def expire_sessions(self) -> None:
        """Forget every session token (as when the server's signing key changes)."""
        self.sessions.clear()

    def app_of(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> dict[str, Any]:
        """The stored application (KeyError when absent)."""
        return self.apps[(namespace, name)]

    def asgi(self) -> Starlette:
        """The ASGI app serving this state."""
        routes = [
            Route("/api/version", self._version, methods=["GET"]),
            Route("/api/v1/session", self._login, methods=["POST"]),
            Route("/api/v1/session/userinfo", self._userinfo, methods=["GET"]),
            Route("/api/v1/projects", self._projects, methods=["GET", "POST"]),
            Route("/api/v1/applications", self._applications, methods=["GET", "POST"]),
            Route("/api/v1/applications/{name}", self._application, methods=["GET", "DELETE"]),
            Route("/api/v1/applications/{name}/sync", self._sync, methods=["POST"]),
            Route("/api/v1/applications/{name}/rollback", self._rollback, methods=["POST"]),
            Route("/api/v1/applications/{name}/resource-tree", self._tree, methods=["GET"]),
        ]
        return Starlette(routes=[Route(r.path, _guard(self, r.endpoint), methods=r.methods) for r in routes])

    # --- endpoints -------------------------------------------------------------------------------------

    async def _version(self, request: Request) -> Response:
        if self._user(request, required=False) is None:
            return JSONResponse({"Version": self.version})
        return JSONResponse(
            {"Version": self.version, "BuildDate": "2024-06-05T12:00:00Z", "GitCommit": "3f344d5",
             "GitTreeState": "clean", "GoVersion": "go1.21.9", "Compiler": "gc", "Platform": "linux/amd64"}
        )  # fmt: skip

    async def _login(self, request: Request) -> Response:
        body = await _body(request)
        username, password = body.get("username"), body.get("password")
        if not username or self.users.get(str(username)) != password:
            raise ArgoError(401, "Invalid username or password")
        token = f"session-{secrets.token_hex(16)}"
        self.sessions[token] = str(username)
        return JSONResponse({"token": token})

    async def _userinfo(self, request: Request) -> Response:
        user = self._user(request, required=False)
        if user is None:
            return JSONResponse({"loggedIn": False})
        return JSONResponse({"loggedIn": True, "username": user, "iss": "argocd", "groups": []})

    async def _projects(self, request: Request) -> Response:
        user = self._user(request)
        if request.method == "GET":
            return JSONResponse({"metadata": {"resourceVersion": "1"}, "items": list(self.projects.values())})
        body = await _body(request)
        project, upsert = body.get("project") or {}, bool(body.get("upsert"))
        name = str((project.get("metadata") or {}).get("name") or "")
        if not name:
            raise ArgoError(400, "project name is required")
        self._may_write(user, "projects", "create", name)
        existing = self.projects.get(name)
        if existing is not None and existing.get("spec") != project.get("spec") and not upsert:
            raise ArgoError(400, "existing project spec is different, use upsert flag to force update")
        if existing is None or upsert:
            self.projects[name] = _project(project)
        return JSONResponse(self.projects[name])

    async def _applications(self, request: Request) -> Response:
        user = self._user(request)
        if request.method == "GET":
            wanted = request.query_params.getlist("projects")
            namespace = request.query_params.get("appNamespace")
            items = [
                app
                for (app_namespace, _), app in self.apps.items()
                if (not wanted or app["spec"].get("project") in wanted) and namespace in (None, app_namespace)
            ]
            return JSONResponse({"metadata": {"resourceVersion": "1"}, "items": _public(items)})
        body = await _body(request)
        upsert = request.query_params.get("upsert") == "true"
        metadata = body.get("metadata") or {}
        name, namespace = str(metadata.get("name") or ""), str(metadata.get("namespace") or DEFAULT_NAMESPACE)
        if not name:
            raise ArgoError(400, "application name is required")
        project = str((body.get("spec") or {}).get("project") or "")
        self._may_write(user, "applications", "create", f"{project}/{name}")
        if project not in self.projects:
            raise ArgoError(400, f"application references project {project} which does not exist")
        existing = self.apps.get((namespace, name))
        if existing is not None:
            if existing["spec"] == body.get("spec"):
                return JSONResponse(_public(existing))
            if not upsert:
                raise ArgoError(
                    400, "existing application spec is different, use upsert flag to force update"
                )
            existing["spec"] = copy.deepcopy(body.get("spec") or {})
            existing["metadata"].update({k: v for k, v in metadata.items() if k in ("labels", "annotations")})
            existing["status"]["sync"] = {
                "status": "OutOfSync",
                "revision": existing["status"]["sync"].get("revision", ""),
            }
            return JSONResponse(_public(existing))
        app = {
            "metadata": {**copy.deepcopy(metadata), "name": name, "namespace": namespace},
            "spec": copy.deepcopy(body.get("spec") or {}),
            "status": {"sync": {"status": "OutOfSync", "revision": ""}, "health": {"status": "Missing"},
                       "history": [], "reconciledAt": _iso(self.clock())},
        }  # fmt: skip
        self.apps[(namespace, name)] = app
        return JSONResponse(_public(app))

    async def _application(self, request: Request) -> Response:
        user = self._user(request)
        app = self._find(request)
        if request.method == "DELETE":
            self._may_write(user, "applications", "delete", _qualified(app))
            del self.apps[(app["metadata"]["namespace"], app["metadata"]["name"])]
            return JSONResponse({})
        if request.query_params.get("refresh") in ("normal", "hard"):
            app["status"]["reconciledAt"] = _iso(self.clock())
        self._tick(app)
        return JSONResponse(_public(app))

    async def _sync(self, request: Request) -> Response:
        user = self._user(request)
        body = await _body(request)
        app = self._find(request, namespace=body.get("appNamespace"))
        self._may_write(user, "applications", "sync", _qualified(app))
        self._start(app, user, revision=body.get("revision") or None, prune=bool(body.get("prune")))
        return JSONResponse(_public(app))

    async def _rollback(self, request: Request) -> Response:
        user = self._user(request)
        body = await _body(request)
        app = self._find(request, namespace=body.get("appNamespace"))
        self._may_write(user, "applications", "sync", _qualified(app))
        entry = next((h for h in app["status"]["history"] if h["id"] == body.get("id")), None)
        if entry is None:
            raise ArgoError(
                400, f"application {_qualified(app)} does not have deployment with id {body.get('id')}"
            )
        (app["spec"].get("syncPolicy") or {}).pop("automated", None)  # rollback switches auto-sync off
        self._start(app, user, revision=entry["revision"], prune=bool(body.get("prune")), rollback=True)
        return JSONResponse(_public(app))

    async def _tree(self, request: Request) -> Response:
        self._user(request)
        app = self._find(request)
        return JSONResponse({"nodes": _nodes(app), "orphanedNodes": [], "hosts": []})

    # --- behaviour -------------------------------------------------------------------------------------

    def _user(self, request: Request, *, required: bool = True) -> str | None:
        """The account of the Bearer token (or ``argocd.token`` cookie); 401 when required and absent."""
        header = request.headers.get("authorization", "")
        token = (
            header[7:] if header.lower().startswith("bearer ") else request.cookies.get("argocd.token", "")
        )
        user = self.tokens.get(token) or self.sessions.get(token) if token else None
        if user is None and required:
            raise ArgoError(
                401, "invalid session: token signature is invalid" if token else "no session information"
            )
        return user

    def _may_write(self, user: str | None, resource: str, action: str, obj: str) -> None:
        if user in self.readonly:
            raise ArgoError(403, f"permission denied: {resource}, {action}, {obj}, sub: {user}")

    def _find(self, request: Request, *, namespace: Any = None) -> dict[str, Any]:
        name = request.path_params["name"]
        namespace = str(namespace or request.query_params.get("appNamespace") or DEFAULT_NAMESPACE)
        app = self.apps.get((namespace, name))
        if app is None:
            raise ArgoError(404, f'applications.argoproj.io "{name}" not found')
        return app

    def _start(self, app: dict[str, Any], user: str | None, *, revision: str | None, prune: bool,
               rollback: bool = False) -> None:  # fmt: skip
        """Record a requested operation, as the API server does; the controller picks it up on a tick."""
        if app.get("operation"):
            raise ArgoError(400, "another operation is already in progress", grpc_code=9)
        sync: dict[str, Any] = {"prune": prune}
        if revision:
            sync["revision"] = revision
        app["operation"] = {"sync": sync, "initiatedBy": {"username": user}, "retry": {}}
        app["_rollback"] = rollback

    def _tick(self, app: dict[str, Any]) -> None:
        """One controller step: pick up a requested operation, keep it running, or finish it."""
        status, operation = app["status"], app.get("operation")
        state = status.get("operationState")
        if operation and (state is None or state.get("phase") != "Running"):
            revision = self._resolve(app, operation["sync"].get("revision"))
            status["operationState"] = {
                "operation": copy.deepcopy(operation), "phase": "Running", "message": "syncing",
                "startedAt": _iso(self.clock()), "syncResult": {"revision": revision}, "_polls": 0,
            }  # fmt: skip
            status["health"] = {"status": "Progressing"}
            return
        if operation and state is not None:
            state["_polls"] += 1
            if state["_polls"] >= self.running_polls:
                self._finish(app, state)
            return
        if status["health"]["status"] == "Progressing" and state and state.get("phase") == "Succeeded":
            status["health"] = {"status": "Healthy"}

    def _finish(self, app: dict[str, Any], state: dict[str, Any]) -> None:
        """End the running operation: Succeeded (history entry) or Failed (Degraded)."""
        status, revision, now = app["status"], state["syncResult"]["revision"], _iso(self.clock())
        app.pop("operation", None)
        state.pop("_polls", None)
        state["finishedAt"] = now
        if self.fail_syncs:
            state.update(phase="Failed", message=FAIL_MESSAGE.format(name=app["metadata"]["name"]))
            status["health"] = {"status": "Degraded"}
            return
        state.update(phase="Succeeded", message="successfully synced (all tasks run)")
        target = self._resolve(app, None)
        in_sync = revision == target and not app.pop("_rollback", False)
        status["sync"] = {"status": "Synced" if in_sync else "OutOfSync", "revision": revision}
        history = status["history"]
        history.append({
            "id": history[-1]["id"] + 1 if history else 0, "revision": revision, "deployedAt": now,
            "deployStartedAt": state["startedAt"], "source": copy.deepcopy(app["spec"].get("source") or {}),
            "initiatedBy": copy.deepcopy(state["operation"].get("initiatedBy") or {}),
        })  # fmt: skip
        del history[: max(0, len(history) - int(app["spec"].get("revisionHistoryLimit") or 10))]

    def _resolve(self, app: dict[str, Any], revision: str | None) -> str:
        """A commit SHA for a revision (a SHA stays; a branch or tag hashes with the repo URL)."""
        source = app["spec"].get("source") or {}
        wanted = revision or str(source.get("targetRevision") or "HEAD")
        if SHA.fullmatch(wanted):
            return wanted
        return hashlib.sha1(
            f"{source.get('repoURL', '')}@{wanted}".encode(), usedforsecurity=False
        ).hexdigest()


def _guard(fake: FakeArgoCD, endpoint: Callable[..., Any]) -> Callable[[Request], Any]:
    """Apply the injected error mode, and turn ``ArgoError`` into a gRPC-gateway error body."""

    async def guarded(request: Request) -> Response:
        if fake.error_status is not None and fake.error_times != 0:
            status = fake.error_status
            if fake.error_times is not None:
                fake.error_times -= 1
                if fake.error_times == 0:
                    fake.error_status = fake.error_times = None
            return _error(ArgoError(status, fake.error_message))
        try:
            response: Response = await endpoint(request)
        except ArgoError as exc:
            return _error(exc)
        return response

    return guarded


def _public(value: Any) -> Any:
    """A copy without the fake's private ``_`` keys."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def _error(exc: ArgoError) -> JSONResponse:
    return JSONResponse({"error": exc.message, "code": exc.grpc_code, "message": exc.message}, exc.status)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise ArgoError(400, "invalid JSON body") from exc
    if not isinstance(body, dict):
        raise ArgoError(400, "the body must be an object")
    return body


def _project(body: dict[str, Any]) -> dict[str, Any]:
    project = copy.deepcopy(body)
    project.setdefault("metadata", {}).setdefault("namespace", DEFAULT_NAMESPACE)
    project.setdefault("spec", {})
    return project


def _open_project() -> dict[str, Any]:
    return {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}  # fmt: skip


def _qualified(app: dict[str, Any]) -> str:
    return f"{app['spec'].get('project', '')}/{app['metadata']['name']}"


def _nodes(app: dict[str, Any]) -> list[dict[str, Any]]:
    """The live resources of a synced app: a Service and a Deployment → ReplicaSet → Pod chain."""
    status = app["status"]
    if not status["history"] and status["sync"]["status"] != "Synced":
        return []
    name = app["metadata"]["name"]
    namespace = (app["spec"].get("destination") or {}).get("namespace") or "default"
    health = {"status": status["health"]["status"]}
    suffix = (status["sync"].get("revision") or "0" * 10)[:10]
    deployment = {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
        "namespace": namespace,
        "name": name,
    }
    replicaset = {**deployment, "kind": "ReplicaSet", "name": f"{name}-{suffix}"}
    pod = {
        "group": "",
        "version": "v1",
        "kind": "Pod",
        "namespace": namespace,
        "name": f"{name}-{suffix}-x7k2p",
    }
    service = {"group": "", "version": "v1", "kind": "Service", "namespace": namespace, "name": name}
    nodes = [
        {**service, "health": {"status": "Healthy"}},
        {**deployment, "health": health},
        {**replicaset, "health": health, "parentRefs": [deployment]},
        {**pod, "health": health, "parentRefs": [{k: v for k, v in replicaset.items()}]},
    ]
    for node in nodes:
        node["uid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{node['kind']}/{namespace}/{node['name']}"))
        node["resourceVersion"] = "1"
    return nodes


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
