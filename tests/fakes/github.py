"""A fake GitHub REST v3 API and GitHub's webhook signing, per ../shared/reference/external-apis.md.

Serves ``GET /meta``, ``GET /user`` (``X-OAuth-Scopes``), ``GET /repos/{o}/{r}``, ``…/branches`` and
``…/commits?sha=&per_page=&page=`` (paged with ``Link``), ``…/languages``, ``GET|POST …/hooks`` (201 with
id, config.url, events; the secret shown masked) and ``DELETE …/hooks/{id}`` (204). Every answer carries
``X-RateLimit-*`` headers; a wrong token is 401 ``Bad credentials``, unknown things 404 ``Not Found``.
``signed_delivery`` builds a webhook delivery (body + headers) signed exactly like GitHub does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def signature_256(body: bytes, *, secret: str) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signed_delivery(
    payload: dict[str, Any], *, secret: str, event: str = "push", delivery_id: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """A webhook delivery as GitHub sends it: the raw JSON body and its headers (signed with ``secret``)."""
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/fake",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "1",
        "X-Hub-Signature-256": signature_256(body, secret=secret),
    }
    return body, headers


API_VERSION = "2022-11-28"
DOCS = "https://docs.github.com/rest"


@dataclass
class FakeRepo:
    """One repository the fake serves."""

    full_name: str
    default_branch: str = "main"
    private: bool = False
    language: str | None = "Python"
    size: int = 1024
    topics: list[str] = field(default_factory=list)
    branches: list[str] = field(default_factory=lambda: ["main"])
    commits: list[dict[str, Any]] = field(default_factory=list)  # newest first: {sha, message, author, date}
    languages: dict[str, int] = field(default_factory=lambda: {"Python": 1000})
    hooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    hooks_forbidden: bool = False  # answer hook calls 403 (a token without the webhooks permission)


@dataclass
class FakeGitHub:
    """The fake's state: the accepted token, its login and scopes, repositories, and the rate limit.

    ``exhaust(times, reset)`` makes the next ``times`` authenticated requests answer 403 with
    ``X-RateLimit-Remaining: 0`` (None: every request); ``secondary(times, retry_after)`` answers 403
    with ``Retry-After``. ``base_url`` (set by the test after ``serve``) makes ``Link`` and clone URLs
    absolute.
    """

    token: str = "ghp_fake-token"
    login: str = "timbel-bot"
    scopes: str | None = "repo, admin:repo_hook"
    enterprise_version: str | None = None
    repos: dict[str, FakeRepo] = field(default_factory=dict)
    rate_limit: int = 5000
    remaining: int = 4999
    reset: int = 1_900_000_000
    exhausted_for: int | None = 0
    secondary_for: int = 0
    retry_after: int = 60
    base_url: str = ""
    next_hook_id: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_repo(self, repo: FakeRepo) -> FakeRepo:
        """Serve ``repo``."""
        self.repos[repo.full_name] = repo
        return repo

    def exhaust(self, *, times: int | None = 1, reset: int | None = None) -> None:
        """Refuse the next ``times`` requests (None: all) as over the primary rate limit."""
        self.exhausted_for = times
        if reset is not None:
            self.reset = reset

    def secondary(self, *, times: int = 1, retry_after: int = 60) -> None:
        """Refuse the next ``times`` requests with a secondary rate limit and ``Retry-After``."""
        self.secondary_for, self.retry_after = times, retry_after

    def _limited(self) -> str | None:
        """Count one request against the limits; the kind of refusal (``primary``/``secondary``) or None."""
        with self._lock:
            if self.secondary_for > 0:
                self.secondary_for -= 1
                return "secondary"
            if self.exhausted_for is None or self.exhausted_for > 0:
                if self.exhausted_for is not None:
                    self.exhausted_for -= 1
                return "primary"
            self.remaining = max(0, self.remaining - 1)
            return None

    def rate_headers(self, *, exhausted: bool = False) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers GitHub puts on every answer."""
        remaining = 0 if exhausted else self.remaining
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(self.reset),
            "X-RateLimit-Used": str(self.rate_limit - remaining),
            "X-RateLimit-Resource": "core",
        }


def make_commit(
    sha: str, message: str, *, author: str = "Dev", date: str = "2026-11-01T10:00:00Z"
) -> dict[str, Any]:
    """A commit for ``FakeRepo.commits``."""
    return {"sha": sha, "message": message, "author": author, "date": date}


def github_app(state: FakeGitHub) -> Starlette:
    """The fake GitHub REST API over ``state`` (see the module docstring for what it serves)."""

    def answer(body: Any, status: int = 200, *, headers: dict[str, str] | None = None) -> Response:
        extra = {
            "X-GitHub-Api-Version-Selected": API_VERSION,
            "X-GitHub-Media-Type": "github.v3; format=json",
        }
        if state.enterprise_version:
            extra["X-GitHub-Enterprise-Version"] = state.enterprise_version
        extra |= state.rate_headers() | (headers or {})
        if body is None:
            return Response(status_code=status, headers=extra)
        return JSONResponse(body, status_code=status, headers=extra)

    def error(status: int, message: str, *, headers: dict[str, str] | None = None) -> Response:
        return answer(
            {"message": message, "documentation_url": DOCS, "status": str(status)}, status, headers=headers
        )

    def gate(request: Request, *, anonymous_ok: bool = True) -> Response | None:
        """Check the token and the rate limits; an error answer, or None to go on."""
        sent = request.headers.get("authorization")
        if sent is not None and sent not in (f"Bearer {state.token}", f"token {state.token}"):
            return error(401, "Bad credentials")
        if sent is None and not anonymous_ok:
            return error(401, "Requires authentication")
        refusal = state._limited()
        if refusal == "secondary":
            return error(
                403,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                headers={"Retry-After": str(state.retry_after)},
            )
        if refusal == "primary":
            headers = state.rate_headers(exhausted=True)
            return error(403, f"API rate limit exceeded for user {state.login}.", headers=headers)
        return None

    def find(request: Request) -> FakeRepo | None:
        full = f"{request.path_params['owner']}/{request.path_params['repo']}"
        repo = state.repos.get(full)
        if repo is None or (repo.private and request.headers.get("authorization") is None):
            return None
        return repo

    def paged(request: Request, items: list[Any]) -> Response:
        """One page of ``items`` (``per_page`` ≤ 100, ``page`` from 1) with ``Link`` next/last."""
        per_page = max(1, min(100, int(request.query_params.get("per_page", "30"))))
        page = max(1, int(request.query_params.get("page", "1")))
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(items) // per_page))
        headers: dict[str, str] = {}
        if page < last:
            query = dict(request.query_params) | {"page": str(page + 1)}
            base = f"{state.base_url}{request.url.path}"
            last_query = dict(query) | {"page": str(last)}
            headers["Link"] = (
                f'<{base}?{urlencode(query)}>; rel="next", <{base}?{urlencode(last_query)}>; rel="last"'
            )
        return answer(chunk, headers=headers)

    async def meta(request: Request) -> Response:
        refused = gate(request)
        if refused is not None:
            return refused
        body: dict[str, Any] = {"verifiable_password_authentication": False, "hooks": ["192.0.2.0/24"]}
        if state.enterprise_version:
            body["installed_version"] = state.enterprise_version
        return answer(body)

    async def user(request: Request) -> Response:
        refused = gate(request, anonymous_ok=False)
        if refused is not None:
            return refused
        headers = (
            {} if state.scopes is None else {"X-OAuth-Scopes": state.scopes, "X-Accepted-OAuth-Scopes": ""}
        )
        return answer({"login": state.login, "id": 1, "type": "User"}, headers=headers)

    async def repository(request: Request) -> Response:
        refused = gate(request)
        if refused is not None:
            return refused
        repo = find(request)
        if repo is None:
            return error(404, "Not Found")
        owner = repo.full_name.split("/")[0]
        web = state.base_url or "https://github.com"
        return answer({
            "id": 1, "name": repo.full_name.split("/")[1], "full_name": repo.full_name,
            "private": repo.private,
            "owner": {"login": owner}, "html_url": f"{web}/{repo.full_name}",
            "clone_url": f"{web}/{repo.full_name}.git", "ssh_url": f"git@github.com:{repo.full_name}.git",
            "default_branch": repo.default_branch, "language": repo.language, "size": repo.size,
            "topics": repo.topics,
        })  # fmt: skip

    async def branches(request: Request) -> Response:
        refused = gate(request)
        if refused is not None:
            return refused
        repo = find(request)
        if repo is None:
            return error(404, "Not Found")
        items = [
            {"name": b, "commit": {"sha": f"{i:040x}"}, "protected": False}
            for i, b in enumerate(repo.branches)
        ]
        return paged(request, items)

    async def commits(request: Request) -> Response:
        refused = gate(request)
        if refused is not None:
            return refused
        repo = find(request)
        if repo is None:
            return error(404, "Not Found")
        ref = request.query_params.get("sha", repo.default_branch)
        if ref not in repo.branches:
            return error(404, f"No commit found for SHA: {ref}")
        items = [
            {
                "sha": c["sha"],
                "commit": {
                    "message": c["message"],
                    "author": {"name": c["author"], "email": "dev@example.com", "date": c["date"]},
                    "committer": {"name": c["author"], "email": "dev@example.com", "date": c["date"]},
                },
                "author": {"login": c["author"].lower()},
            }
            for c in repo.commits
        ]
        return paged(request, items)

    async def languages(request: Request) -> Response:
        refused = gate(request)
        if refused is not None:
            return refused
        repo = find(request)
        return error(404, "Not Found") if repo is None else answer(repo.languages)

    async def hooks(request: Request) -> Response:
        refused = gate(request, anonymous_ok=False)
        if refused is not None:
            return refused
        repo = find(request)
        if repo is None:
            return error(404, "Not Found")
        if repo.hooks_forbidden:
            return error(403, "Resource not accessible by personal access token")
        if request.method == "GET":
            return paged(request, [_shown(hook) for hook in repo.hooks.values()])
        try:
            body = json.loads(await request.body())
        except ValueError:
            return error(400, "Problems parsing JSON")
        config = body.get("config") if isinstance(body, dict) else None
        if not isinstance(config, dict) or not config.get("url"):
            return error(422, "Validation Failed")
        with state._lock:
            hook_id = state.next_hook_id
            state.next_hook_id += 1
        hook = {
            "type": "Repository", "id": hook_id, "name": body.get("name", "web"),
            "active": bool(body.get("active", True)), "events": list(body.get("events") or ["push"]),
            "config": dict(config), "created_at": "2026-11-26T00:00:00Z",
            "updated_at": "2026-11-26T00:00:00Z",
            "url": f"{state.base_url}/repos/{repo.full_name}/hooks/{hook_id}",
        }  # fmt: skip
        repo.hooks[hook_id] = hook
        return answer(_shown(hook), 201)

    async def hook(request: Request) -> Response:
        refused = gate(request, anonymous_ok=False)
        if refused is not None:
            return refused
        repo = find(request)
        hook_id = int(request.path_params["hook_id"])
        if repo is None or hook_id not in repo.hooks:
            return error(404, "Not Found")
        if request.method == "DELETE":
            del repo.hooks[hook_id]
            return answer(None, 204)
        return answer(_shown(repo.hooks[hook_id]))

    prefix = "/repos/{owner}/{repo}"
    return Starlette(
        routes=[
            Route("/meta", meta),
            Route("/user", user),
            Route(prefix, repository),
            Route(f"{prefix}/branches", branches),
            Route(f"{prefix}/commits", commits),
            Route(f"{prefix}/languages", languages),
            Route(f"{prefix}/hooks", hooks, methods=["GET", "POST"]),
            Route(f"{prefix}/hooks/{{hook_id:int}}", hook, methods=["GET", "DELETE"]),
        ]
    )


def _shown(hook: dict[str, Any]) -> dict[str, Any]:
    """A hook as GitHub shows it: the secret is masked."""
    config = dict(hook["config"])
    if "secret" in config:
        config["secret"] = "********"
    return hook | {"config": config}
