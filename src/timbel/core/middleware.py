"""One pure-ASGI middleware for every request: id, body limit, metrics, access log, audit fallback.

Written as raw ASGI (not BaseHTTPMiddleware) because it sits on every request's
hot path. Mutating requests that no service audited explicitly still get a
generic audit entry here, so "every mutating request is audited" holds even for
routes that forget.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from timbel.audit.service import AuditContext
from timbel.core.logging import AccessLog
from timbel.core.metrics import PlatformMetrics

log = structlog.get_logger("timbel.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyTooLarge(Exception):
    """Raised inside receive() when a streamed body passes the limit."""


class PlatformMiddleware:
    """Request id, body size limit, metrics by route template, access log and audit fallback."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: PlatformMetrics,
        max_body_bytes: int,
        too_large: Callable[[Scope, str], Any],
        crashed: Callable[[Scope, str], Any],
        audit_fallback: Callable[[AuditContext, int], None] | None = None,
        access_log: AccessLog | None = None,
        path_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body_bytes
        self.path_limits = dict(path_limits or {})  # path prefix → its own body limit (webhooks)
        self.too_large = too_large
        self.crashed = crashed
        self.audit_fallback = audit_fallback
        self.access_log = access_log
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _limit_for(self, path: str) -> int:
        """The body limit of a path: its prefix's own limit, else the global one."""
        for prefix, limit in self.path_limits.items():
            if path.startswith(prefix):
                return limit
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = _incoming_request_id(scope) or os.urandom(16).hex()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        started = False
        header_value = request_id.encode("latin-1")

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", header_value)]
            await send(message)

        max_body = self._limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > max_body:
            await self.too_large(scope, request_id)(scope, receive, send_wrapper)
            self._observe(scope, status, start, request_id)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    state["body_too_large"] = True
                    raise BodyTooLarge
            return message

        # Without a declared length or chunked encoding no body follows (a typical GET): nothing to count.
        may_stream = declared is not None or _header(scope, b"transfer-encoding") is not None
        try:
            await self.app(scope, limited_receive if may_stream else receive, send_wrapper)
        except BodyTooLarge:
            await self.too_large(scope, request_id)(scope, receive, send_wrapper)
        except Exception:
            log.exception("unhandled error", request_id=request_id, path=scope["path"])
            if started:
                raise
            await self.crashed(scope, request_id)(scope, receive, send_wrapper)
        self._observe(scope, status, start, request_id)
        if self.audit_fallback is not None and scope["method"] in UNSAFE_METHODS:
            await self._audit_unrecorded(scope, state, status, request_id)

    async def _audit_unrecorded(
        self, scope: Scope, state: dict[str, Any], status: int, request_id: str
    ) -> None:
        """Record a generic entry for a mutation no service audited (authenticated, or a success)."""
        assert self.audit_fallback is not None
        ctx: AuditContext | None = state.get("audit")
        principal = state.get("principal")
        authenticated = principal is not None
        anonymous_public = not authenticated and state.get("public_route", False)
        worth_recording = authenticated or (status < 400 and not anonymous_public)
        if (ctx is not None and ctx.recorded) or not worth_recording:
            return
        ctx = ctx or AuditContext(
            actor_id=principal.user_id if principal else None,
            actor_name=principal.username if principal else None,
            ip=scope["client"][0] if scope.get("client") else None,
            user_agent=_header(scope, b"user-agent"),
            request_id=request_id,
            method=scope["method"],
            path=scope["path"],
        )
        await run_in_threadpool(self.audit_fallback, ctx, status)

    def _observe(self, scope: Scope, status: int, start: float, request_id: str) -> None:
        elapsed = time.perf_counter() - start
        route = scope.get("route")
        template = getattr(route, "path", None) or "<unmatched>"
        method = scope["method"]
        key = (method, template, status)
        children = self._children.get(key)
        if children is None:  # labels() validates and locks; resolve each series once
            children = (
                self.metrics.requests.labels(method, template, str(status)),
                self.metrics.latency.labels(method, template),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(elapsed)
        if self.access_log is not None:
            self.access_log.write(
                method=method,
                route=template,
                status=status,
                ms=round(elapsed * 1000, 2),
                request_id=request_id,
            )


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return str(value.decode("latin-1"))
    return None


def _incoming_request_id(scope: Scope) -> str | None:
    text = _header(scope, b"x-request-id")
    return text if text is not None and _REQUEST_ID.match(text) else None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
