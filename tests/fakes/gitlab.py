"""A fake GitLab REST v4 API (``/api/v4/version``, ``/api/v4/user``) and GitLab-style webhook deliveries."""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

VERSION = "17.5.1"


def gitlab_app(*, token: str, version: str = VERSION) -> Starlette:
    """GitLab answering ``PRIVATE-TOKEN: token``; any other token gets 401 like GitLab."""

    def authorized(request: Request) -> bool:
        return request.headers.get("private-token") == token

    async def get_version(request: Request) -> JSONResponse:
        if not authorized(request):
            return JSONResponse({"message": "401 Unauthorized"}, status_code=401)
        return JSONResponse({"version": version, "revision": "abc1234", "kas": {"enabled": False}})

    async def get_user(request: Request) -> JSONResponse:
        if not authorized(request):
            return JSONResponse({"message": "401 Unauthorized"}, status_code=401)
        return JSONResponse({"id": 1, "username": "timbel-bot", "name": "Timbel Bot"})

    return Starlette(routes=[Route("/api/v4/version", get_version), Route("/api/v4/user", get_user)])


def push_payload(
    *, path: str = "acme/shop", host: str = "gitlab.example.com", ref: str = "refs/heads/main",
    after: str = "1" * 40,
) -> dict[str, Any]:  # fmt: skip
    """A ``Push Hook`` body as GitLab sends it (the fields Timbel reads, and a few more)."""
    return {
        "object_kind": "push",
        "event_name": "push",
        "before": "0" * 39 + "1",
        "after": after,
        "ref": ref,
        "checkout_sha": after,
        "user_username": "kim",
        "user_name": "Kim",
        "project": {
            "path_with_namespace": path,
            "web_url": f"https://{host}/{path}",
            "git_http_url": f"https://{host}/{path}.git",
            "git_ssh_url": f"git@{host}:{path}.git",
            "default_branch": "main",
        },
        "repository": {"name": path.rsplit("/", 1)[-1], "homepage": f"https://{host}/{path}"},
        "commits": [
            {"id": after, "message": "change", "author": {"name": "Kim", "email": "kim@example.com"}}
        ],
        "total_commits_count": 1,
    }


def gitlab_delivery(
    payload: dict[str, Any], *, token: str | None, event: str = "Push Hook", event_uuid: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """A webhook delivery as GitLab sends it: the JSON body and its headers (token as given)."""
    body = json.dumps(payload).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/17.5.1",
        "X-Gitlab-Event": event,
        "X-Gitlab-Event-UUID": event_uuid or str(uuid.uuid4()),
        "X-Gitlab-Webhook-UUID": "6a4a4c1e-0000-4000-8000-000000000001",
        "X-Gitlab-Instance": "https://gitlab.example.com",
    }
    if token is not None:
        headers["X-Gitlab-Token"] = token
    return body, headers
