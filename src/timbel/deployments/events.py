"""Server-Sent Events for the live dashboard and a deployment's page: send a snapshot only when it changed.

Why a marker: every poll asks the database for a cheap change marker (a few aggregates); only when it moved
is the full snapshot built and sent. Comments keep idle connections open; the stream ends when the client
goes away, after ``max_seconds`` (the browser reconnects), or — for one deployment — once it is terminal.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from timbel.core.db import session_scope

Marker = Callable[[Session], Any]
Build = Callable[[Session], tuple[str, str, bool]]  # (event, data, last)


@dataclass(frozen=True)
class EventTiming:
    """How a live stream polls: interval, keep-alive comments, a periodic refresh, longest stream, clocks."""

    poll: float = 2.0
    keepalive: float = 15.0
    refresh: float = 30.0  # resend even without a change (elapsed times move)
    max_seconds: float = 3600.0
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic


def event_timing(request: Request) -> EventTiming:
    """Dependency: the stream timing, polling as ``settings.deployments.dashboard_poll_seconds`` says."""
    deployments = getattr(request.app.state.settings, "deployments", None)
    return EventTiming(poll=float(getattr(deployments, "dashboard_poll_seconds", 2.0)))


def json_default(value: Any) -> Any:
    """JSON for datetimes (ISO 8601) and anything else as text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def to_json(data: Any) -> str:
    """Compact JSON of a snapshot."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=json_default)


def frame(event: str, data: str, number: int) -> str:
    """One SSE frame; multi-line data becomes several ``data:`` lines."""
    body = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"id: {number}\nevent: {event}\n{body}\n"


def follows(request: Request) -> bool:
    """Tell whether the client follows a stream (EventSource sends ``Accept: text/event-stream``).

    Any other client gets the current snapshot as one event and the stream ends, so a plain GET never hangs.
    """
    return "text/event-stream" in request.headers.get("accept", "")


def _once(factory: sessionmaker[Session], marker: Marker) -> Any:
    with session_scope(factory) as session:
        return marker(session)


def _build(factory: sessionmaker[Session], build: Build) -> tuple[str, str, bool]:
    with session_scope(factory) as session:
        return build(session)


async def changes(
    request: Request, *, marker: Marker, build: Build, timing: EventTiming, first: bool = True
) -> AsyncIterator[str]:
    """Yield a snapshot at once (``first``), then whenever the marker moves; stop when ``build`` says last."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    yield "retry: 2000\n\n"
    if not follows(request):
        event, data, _ = await run_in_threadpool(_build, factory, build)
        yield frame(event, data, 1)
        return
    number = 0
    seen: Any = None if first else await run_in_threadpool(_once, factory, marker)
    started = beat = sent = timing.clock()
    while timing.clock() - started < timing.max_seconds:
        now_marker = await run_in_threadpool(_once, factory, marker)
        if now_marker != seen or timing.clock() - sent >= timing.refresh:
            seen = now_marker
            event, data, last = await run_in_threadpool(_build, factory, build)
            number += 1
            yield frame(event, data, number)
            beat = sent = timing.clock()
            if last:
                return
        elif timing.clock() - beat >= timing.keepalive:
            yield ": keep-alive\n\n"
            beat = timing.clock()
        if await request.is_disconnected():
            return
        await timing.sleep(timing.poll)


def response(stream: AsyncIterator[str]) -> StreamingResponse:
    """The streaming response for an event stream."""
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
