"""Webhook fixtures: GitHub/GitLab instances with webhook secrets, signed posts, a push recorder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.fakes.github import signed_delivery
from timbel.audit.service import AuditContext
from timbel.core.db import session_scope
from timbel.integrations import service as integrations
from timbel.integrations.base import IntegrationKind
from timbel.integrations.schemas import IntegrationCreate
from timbel.webhooks import handlers
from timbel.webhooks.handlers import PushEvent
from timbel.webhooks.models import WebhookDelivery

GITHUB_SECRET = "hook-secret-0123456789"
GITLAB_TOKEN = "gitlab-hook-token-42"


def make_instance(app: FastAPI, *, kind: IntegrationKind, name: str, secrets: dict[str, str]) -> str:
    """Create an integration instance through the real service; return its id."""
    with session_scope(app.state.session_factory) as session:
        row = integrations.create(
            session,
            settings=app.state.settings,
            data=IntegrationCreate(
                kind=kind,
                name=name,
                base_url="https://example.invalid",
                secrets=secrets,
            ),
            ctx=AuditContext(actor_name="test"),
        )
        return row.id


@pytest.fixture
def github_instance(app: FastAPI) -> str:
    """A GitHub instance whose webhook secret is GITHUB_SECRET."""
    return make_instance(
        app,
        kind=IntegrationKind.github,
        name="gh",
        secrets={"token": "ghp_x", "webhook_secret": GITHUB_SECRET},
    )


@pytest.fixture
def gitlab_instance(app: FastAPI) -> str:
    """A GitLab instance whose webhook token is GITLAB_TOKEN."""
    return make_instance(
        app,
        kind=IntegrationKind.gitlab,
        name="gl",
        secrets={"token": "glpat-x", "webhook_token": GITLAB_TOKEN},
    )


def push_payload(
    *, full_name: str = "acme/shop", ref: str = "refs/heads/main", after: str = "a" * 40
) -> dict[str, Any]:
    """A GitHub push body with the fields Timbel reads."""
    return {
        "ref": ref,
        "before": "b" * 40,
        "after": after,
        "created": False,
        "deleted": False,
        "forced": False,
        "commits": [{"id": after, "message": "fix", "author": {"name": "Kim", "email": "kim@example.com"}}],
        "repository": {
            "full_name": full_name,
            "clone_url": f"https://github.com/{full_name}.git",
            "ssh_url": f"git@github.com:{full_name}.git",
            "html_url": f"https://github.com/{full_name}",
            "default_branch": "main",
        },
        "pusher": {"name": "kim", "email": "kim@example.com"},
    }


def post_github(
    client: TestClient,
    payload: dict[str, Any],
    *,
    secret: str = GITHUB_SECRET,
    event: str = "push",
    delivery_id: str | None = None,
) -> Any:
    """Sign and post a delivery like GitHub."""
    body, headers = signed_delivery(payload, secret=secret, event=event, delivery_id=delivery_id)
    return client.post("/hooks/github", content=body, headers=headers)


def count_deliveries(app: FastAPI) -> int:
    """Stored deliveries."""
    with session_scope(app.state.session_factory) as session:
        return session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0


def delivery(app: FastAPI, row_id: str) -> WebhookDelivery:
    """Load one delivery (payload included) in a fresh session."""
    with session_scope(app.state.session_factory) as session:
        row = session.get(WebhookDelivery, row_id)
        assert row is not None
        _ = row.payload
        session.expunge(row)
        return row


@dataclass
class Recorder:
    """Push events the test handler saw."""

    events: list[PushEvent]


@pytest.fixture
def pushes() -> Iterator[Recorder]:
    """Record every push handed to the handlers."""
    seen = Recorder([])

    def record(*, session: Any, event: PushEvent, enqueue: Callable[..., str]) -> None:
        seen.events.append(event)

    handlers.on_push(record, name="tests.record")
    try:
        yield seen
    finally:
        handlers.remove("tests.record")
