"""Webhook endpoints: public receivers (authenticated by signature/token) and the admin deliveries API."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from timbel.auth.deps import public, require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.errors import AuthenticationRequired, BadRequest, PayloadTooLarge
from timbel.core.pagination import Page, PageDep
from timbel.integrations.base import IntegrationKind
from timbel.webhooks import service
from timbel.webhooks.models import DeliveryState, Source, header_subset
from timbel.webhooks.payloads import zen
from timbel.webhooks.schemas import Accepted, DeliveryRead, DeliverySummary
from timbel.webhooks.signatures import SecretCache, match_github, match_gitlab
from timbel.webhooks.writer import DeliveryWriter

router = APIRouter(tags=["webhooks"])
Admin = Annotated[Principal, Depends(require(Permission.admin_integrations))]
MAX_BODY_BYTES = 25 * 1024 * 1024  # what GitHub sends at most
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_EVENT = re.compile(r"^[A-Za-z0-9 ._-]{1,64}$")
GITHUB_HEADERS = (
    "x-github-event", "x-github-delivery", "x-github-hook-id", "x-github-hook-installation-target-id",
    "x-github-hook-installation-target-type", "user-agent", "content-type",
)  # fmt: skip
GITLAB_HEADERS = (
    "x-gitlab-event", "x-gitlab-event-uuid", "x-gitlab-webhook-uuid", "x-gitlab-instance", "idempotency-key",
    "user-agent", "content-type",
)  # fmt: skip
RECEIVER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A ping, or a copy of a delivery stored before (`duplicate: true`)."},
    202: {"description": "Stored; processed in the background."},
    401: {"description": "Unsigned, wrongly signed, or no secret configured: nothing is stored."},
    413: {"description": "The body is larger than 25 MiB."},
}


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge("The webhook body is larger than 25 MiB.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge("The webhook body is larger than 25 MiB.")
        chunks.append(chunk)
    return b"".join(chunks)


async def _secrets(request: Request, kind: IntegrationKind) -> tuple[tuple[str, bytes], ...]:
    state = request.app.state
    cache: SecretCache | None = getattr(state, "webhook_secrets", None)
    if cache is None:
        cache = state.webhook_secrets = SecretCache()
    fresh = cache.peek(kind=kind)
    if fresh is not None:
        return fresh
    return await run_in_threadpool(
        cache.get, kind=kind, session_factory=state.session_factory, settings=state.settings
    )


def _header(request: Request, name: str, pattern: re.Pattern[str]) -> str:
    value = request.headers.get(name, "").strip()
    if not pattern.match(value):
        raise BadRequest(f"The {name} header is missing or malformed.")
    return value


def _writer(request: Request) -> DeliveryWriter:
    state = request.app.state
    writer: DeliveryWriter | None = getattr(state, "webhook_writer", None)
    if writer is None or writer.enqueue != state.jobs.enqueue:
        writer = state.webhook_writer = DeliveryWriter(engine=state.engine, enqueue=state.jobs.enqueue)
    return writer


def _answer(received: service.Received, **extra: Any) -> JSONResponse:
    body = Accepted(id=received.id, state=received.state, duplicate=received.duplicate).model_dump()
    status = 200 if received.duplicate or received.state == DeliveryState.processed else 202
    return JSONResponse({**body, **extra}, status_code=status)


@router.post("/hooks/github", dependencies=[Depends(public)], status_code=202, responses=RECEIVER_RESPONSES)
async def receive_github(request: Request) -> JSONResponse:
    """Receive a GitHub delivery signed with the webhook secret of a GitHub instance; store it once."""
    body = await _body(request)
    instance = match_github(
        body,
        signature=request.headers.get("x-hub-signature-256"),
        secrets=await _secrets(request, IntegrationKind.github),
    )
    if instance is None:
        raise AuthenticationRequired("The delivery is unsigned or its signature matches no webhook secret.")
    event = _header(request, "x-github-event", _EVENT)
    delivery = _header(request, "x-github-delivery", _ID)
    ping = event == "ping"
    received = await _writer(request).store(
        source=Source.github.value, delivery_id=delivery, event=event,
        integration_id=instance, headers=header_subset(request.headers, names=GITHUB_HEADERS), payload=body,
        processed=ping,
    )  # fmt: skip
    return _answer(received, **({"ok": True, "zen": zen(body)} if ping else {}))


@router.post("/hooks/gitlab", dependencies=[Depends(public)], status_code=202, responses=RECEIVER_RESPONSES)
async def receive_gitlab(request: Request) -> JSONResponse:
    """Receive a GitLab delivery carrying the webhook token of a GitLab instance; store it once."""
    body = await _body(request)
    instance = match_gitlab(
        request.headers.get("x-gitlab-token"), secrets=await _secrets(request, IntegrationKind.gitlab)
    )
    if instance is None:
        raise AuthenticationRequired("The delivery has no token or its token matches no GitLab instance.")
    event = _header(request, "x-gitlab-event", _EVENT)
    key = "idempotency-key" if request.headers.get("idempotency-key") else "x-gitlab-event-uuid"
    delivery = _header(request, key, _ID)
    received = await _writer(request).store(
        source=Source.gitlab.value, delivery_id=delivery, event=event,
        integration_id=instance, headers=header_subset(request.headers, names=GITLAB_HEADERS), payload=body,
    )  # fmt: skip
    return _answer(received)


@router.get("/api/v1/webhooks/deliveries")
def list_deliveries(
    principal: Admin,
    session: SessionDep,
    paging: PageDep,
    source: Source | None = None,
    state: DeliveryState | None = None,
    event: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[DeliverySummary]:
    """List stored webhook deliveries, newest first (filters: source, state, event)."""
    rows, total = service.list_deliveries(
        session,
        paging=paging,
        source=source.value if source else None,
        state=state.value if state else None,
        event=event,
    )
    return Page[DeliverySummary](
        items=[DeliverySummary.of(r) for r in rows], total=total, page=paging.page, per_page=paging.per_page
    )


@router.get("/api/v1/webhooks/deliveries/{delivery_id}")
def get_delivery(delivery_id: str, principal: Admin, session: SessionDep) -> DeliveryRead:
    """Read one delivery with its headers of interest, raw payload and state history."""
    row = service.get_or_raise(session, delivery_id=delivery_id)
    return DeliveryRead.full(row, service.history(session, delivery_id=delivery_id))


@router.post("/api/v1/webhooks/deliveries/{delivery_id}/redeliver", status_code=202)
def redeliver_delivery(
    delivery_id: str, request: Request, principal: Admin, session: SessionDep, audit: AuditDep
) -> DeliverySummary:
    """Process a failed delivery again."""
    row = service.redeliver(
        session, delivery_id=delivery_id, ctx=audit, enqueue=request.app.state.jobs.enqueue
    )
    return DeliverySummary.of(row)
