"""A fake Nexus Repository 3 REST API (``/service/rest/v1``) following external-apis.md.

Docker tags are components (name = image, version = tag) whose manifest asset carries the digest as its
``checksum.sha256``; listings page with an opaque ``continuationToken``; Basic auth answers 401 with
Nexus' ``BASIC realm`` challenge, a user without a privilege gets 403, unknown ids and repositories 404.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

PREFIX = "/service/rest/v1"
REALM = 'BASIC realm="Sonatype Nexus Repository Manager"'
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


@dataclass
class NexusState:
    """What the fake holds: users and their privileges, repositories, components, switches."""

    users: dict[str, str] = field(default_factory=dict)  # user -> password
    cannot_delete: set[str] = field(default_factory=set)  # users answered 403 on DELETE
    cannot_browse: set[str] = field(default_factory=set)  # users answered 403 on listings and search
    anonymous: bool = False  # anonymous users may read (never delete)
    writable: bool = True
    page_size: int = 2
    version: str = "3.61.0-02"
    repositories: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    _tokens: dict[str, int] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_repository(self, name: str, *, format: str = "docker", type: str = "hosted") -> None:
        """Add a repository to ``GET /repositories``."""
        self.repositories.append(
            {"name": name, "format": format, "type": type, "url": f"http://nexus/repository/{name}",
             "attributes": {}}
        )  # fmt: skip

    def add_image(
        self, repository: str, name: str, tag: str, *, digest: str | None = None,
        created: datetime | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Add one docker tag as a component with its manifest asset; return the component."""
        number = next(self._ids)
        sha256 = (digest or "sha256:" + hashlib.sha256(f"{name}:{tag}:{number}".encode()).hexdigest())[7:]
        when = (created or datetime(2026, 1, 1, tzinfo=UTC)).isoformat(timespec="milliseconds")
        path = f"v2/{name}/manifests/{tag}"
        sha1 = hashlib.sha1(sha256.encode(), usedforsecurity=False).hexdigest()
        component = {
            "id": _id(f"{repository}:component:{number}"), "repository": repository, "format": "docker",
            "group": None, "name": name, "version": tag,
            "assets": [{
                "downloadUrl": f"http://nexus/repository/{repository}/{path}", "path": path,
                "id": _id(f"{repository}:asset:{number}"), "repository": repository, "format": "docker",
                "checksum": {"sha1": sha1, "sha256": sha256},
                "contentType": MANIFEST_TYPE, "lastModified": when, "blobCreated": when,
                "lastDownloaded": None, "uploader": "admin", "uploaderIp": "127.0.0.1", "fileSize": 528,
            }],
        }  # fmt: skip
        self.components.append(component)
        return component

    def page(self, items: list[dict[str, Any]], token: str | None) -> Response:
        """One page of ``items`` and the token of the next (None on the last page)."""
        start = 0
        if token is not None:
            if token not in self._tokens:
                return PlainTextResponse("Continuation token not valid", status_code=406)
            start = self._tokens[token]
        end = start + self.page_size
        following = None
        if end < len(items):
            following = secrets.token_hex(16)
            self._tokens[following] = end
        return JSONResponse({"items": items[start:end], "continuationToken": following})


def _id(text: str) -> str:
    """A Nexus-style opaque id (base64url of a string, no padding)."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def create_app(state: NexusState) -> Starlette:
    """The fake's ASGI app over ``state`` (mutate ``state`` between calls to change what it answers)."""

    def user_of(request: Request) -> str | Response:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                user, password = "", ""
            if state.users.get(user) == password and user:
                return user
            return _unauthorized()
        if state.anonymous:
            return "anonymous"
        return _unauthorized()

    def reader(request: Request) -> str | Response:
        user = user_of(request)
        if isinstance(user, str) and user in state.cannot_browse:
            return PlainTextResponse("", status_code=403)
        return user

    async def status(request: Request) -> Response:
        return _server(Response(status_code=200), state)

    async def writable(request: Request) -> Response:
        return _server(Response(status_code=200 if state.writable else 503), state)

    async def repositories(request: Request) -> Response:
        user = reader(request)
        if isinstance(user, Response):
            return user
        return JSONResponse(state.repositories)

    async def search(request: Request) -> Response:
        user = reader(request)
        if isinstance(user, Response):
            return user
        query = request.query_params
        items = [
            c for c in state.components
            if all(query.get(key) in (None, c[key]) for key in ("repository", "format", "name", "version"))
        ]  # fmt: skip
        return state.page(items, query.get("continuationToken"))

    async def components(request: Request) -> Response:
        user = reader(request)
        if isinstance(user, Response):
            return user
        repository = request.query_params.get("repository")
        if repository not in {r["name"] for r in state.repositories}:
            return PlainTextResponse("Repository not found", status_code=404)
        items = [c for c in state.components if c["repository"] == repository]
        return state.page(items, request.query_params.get("continuationToken"))

    async def component(request: Request) -> Response:
        user = reader(request) if request.method == "GET" else user_of(request)
        if isinstance(user, Response):
            return user
        found = next((c for c in state.components if c["id"] == request.path_params["id"]), None)
        if request.method == "DELETE" and (user == "anonymous" or user in state.cannot_delete):
            return PlainTextResponse("", status_code=403)
        if found is None:
            return PlainTextResponse("Component not found", status_code=404)
        if request.method == "GET":
            return JSONResponse(found)
        state.components.remove(found)
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route(f"{PREFIX}/status", status, methods=["GET"]),
            Route(f"{PREFIX}/status/writable", writable, methods=["GET"]),
            Route(f"{PREFIX}/repositories", repositories, methods=["GET"]),
            Route(f"{PREFIX}/search", search, methods=["GET"]),
            Route(f"{PREFIX}/components", components, methods=["GET"]),
            Route(f"{PREFIX}/components/{{id}}", component, methods=["GET", "DELETE"]),
        ]
    )


def _unauthorized() -> Response:
    return PlainTextResponse("", status_code=401, headers={"WWW-Authenticate": REALM})


def _server(response: Response, state: NexusState) -> Response:
    response.headers["Server"] = f"Nexus/{state.version} (OSS)"
    return response
