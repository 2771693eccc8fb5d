"""A fake Slack incoming-webhook endpoint (and a generic JSON webhook) for notification tests.

Slack's incoming webhooks take ``POST /services/T…/B…/X…`` with a JSON body and answer ``200 ok`` (text);
errors are plain-text codes such as ``400 invalid_payload`` or ``404 no_service``. ``/hooks/{name}`` accepts
any JSON (apprise's ``json://`` plugin) the same way. ``fail`` makes the next answers an error status.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

ERROR_TEXT = {400: "invalid_payload", 403: "invalid_token", 404: "no_service", 500: "internal_error"}


@dataclass
class SlackState:
    """What the fake answers: ``failures`` error answers with ``fail_status`` before answering ok again."""

    fail_status: int = 500
    failures: int = 0
    received: list[dict[str, object]] = field(default_factory=list)

    def fail(self, times: int, *, status: int = 500) -> None:
        """Answer the next ``times`` requests with ``status``."""
        self.failures, self.fail_status = times, status


def slack_app(state: SlackState | None = None) -> Starlette:
    """The fake's ASGI app; pass a ``SlackState`` to script failures and read the parsed bodies."""
    state = state or SlackState()

    async def receive(request: Request) -> PlainTextResponse:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not isinstance(body, dict):
            return PlainTextResponse("invalid_payload", status_code=400)
        if state.failures > 0:
            state.failures -= 1
            return PlainTextResponse(
                ERROR_TEXT.get(state.fail_status, "error"), status_code=state.fail_status
            )
        if request.url.path.startswith("/services/") and not (body.get("text") or body.get("blocks")
                                                               or body.get("attachments")):  # fmt: skip
            return PlainTextResponse("no_text", status_code=400)
        state.received.append(body)
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[
            Route("/services/{a}/{b}/{c}", receive, methods=["POST"]),
            Route("/hooks/{name}", receive, methods=["POST"]),
        ]
    )
    app.state.slack = state
    return app
