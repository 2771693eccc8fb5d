"""Notification fixtures: the Slack/JSON webhook fake, an SMTP sink, the notify adapter registered, the
notification routers and jobs usable on the app (also before the shared wiring lists them), and a factory
for notify channels created through the integrations API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from apprise.plugins.slack import NotifySlack
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.fakes.server import RunningFake, serve
from tests.fakes.slack import SlackState, slack_app
from tests.servers.smtp import SmtpSink, smtp_sink
from timbel.core.jobs import JobContext, registered_jobs
from timbel.integrations.base import IntegrationKind
from timbel.integrations.notify import adapter as notify_adapter
from timbel.integrations.notify.config import NotifyConfig
from timbel.integrations.registry_of_adapters import register_adapter
from timbel.notifications import jobs as notification_jobs  # noqa: F401  (declares the jobs)
from timbel.notifications.routes import router as api_router
from timbel.notifications.views import router as page_router

SLACK_SECRET = "Xs3cr3tSlackTokenC9f"  # the secret third part of a Slack webhook URL
SLACK_URL = f"slack://T0TIMBEL1/B0TIMBEL2/{SLACK_SECRET}?footer=no&image=no"
HOOK_SECRET = "hook-secret-path-4b7e"
API = "/api/v1/integrations"
Enqueue = Callable[..., str]
MakeChannel = Callable[..., str]


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The shared app, with the notify adapter registered and the notification routers present."""
    register_adapter(IntegrationKind.notify, notify_adapter.from_instance, config=NotifyConfig)
    paths = {getattr(route, "path", "") for route in app.routes}
    if "/api/v1/notifications/deliveries" not in paths:
        app.include_router(api_router)
    if "/admin/notifications" not in paths:
        app.include_router(page_router)
    return app


@pytest.fixture
def enqueue(app: FastAPI) -> Enqueue:
    """Enqueue a job on the app's runtime (immediate in tests), or run it inline if the runtime lacks it."""
    runtime = app.state.jobs

    def run(name: str, /, **kwargs: Any) -> str:
        if name in runtime.job_names:
            return str(runtime.enqueue(name, **kwargs))
        ctx = JobContext(app.state.settings, app.state.session_factory, "inline", run)
        registered_jobs()[name].func(ctx, **kwargs)
        return "inline"

    return run


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RunningFake, SlackState]]:
    """The fake Slack on loopback; apprise's Slack plugin is pointed at it instead of hooks.slack.com."""
    state = SlackState()
    with serve(slack_app(state)) as fake:
        monkeypatch.setattr(NotifySlack, "webhook_url", f"{fake.base_url}/services")
        yield fake, state


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A plain SMTP sink on loopback."""
    with smtp_sink() as sink:
        yield sink


def mail_url(sink: SmtpSink, *, to: str = "ops@example.com") -> str:
    """The apprise URL for plain SMTP (no TLS, no AUTH) to the sink."""
    return f"mailto://{sink.host}:{sink.port}?mode=insecure&from=timbel@example.com&to={to}"


def hook_url(fake: RunningFake, name: str = HOOK_SECRET) -> str:
    """The apprise generic JSON webhook URL of the fake (``json://`` = plain http)."""
    return f"json://127.0.0.1:{fake.port}/hooks/{name}"


@pytest.fixture
def admin(auth_headers: Callable[..., dict[str, str]]) -> dict[str, str]:
    """Bearer headers of an administrator."""
    return auth_headers("admin")


@pytest.fixture
def make_channel(client: TestClient, admin: dict[str, str]) -> MakeChannel:
    """Create a notify channel through the integrations API; return its id."""

    def make(name: str, url: str, *, domain_id: str | None = None, **options: Any) -> str:
        body = {
            "kind": "notify", "name": name, "base_url": "https://hooks.slack.com",
            "options": options, "secrets": {"url": url}, "domain_id": domain_id,
        }  # fmt: skip
        response = client.post(API, json=body, headers=admin)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    return make
