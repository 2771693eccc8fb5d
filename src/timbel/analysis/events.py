"""Live progress of one analysis as Server-Sent Events, shared by the API and the wizard page.

The stream polls the row (its own short sessions; the request's session is closed by then) and sends
an event only when something changed, a comment every ``KEEPALIVE`` seconds, and ``done`` at the end.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

from timbel.analysis.models import ANALYSIS_MACHINE, Analysis, AnalysisState
from timbel.core.db import session_scope

POLL_SECONDS = 0.5
KEEPALIVE = 15.0
MAX_SECONDS = 3600.0  # the browser reconnects after this
Render = Callable[[str, dict[str, Any]], str]


def json_render(event: str, status: dict[str, Any]) -> str:
    """Render an event's data as JSON (the API's format)."""
    return json.dumps(status, separators=(",", ":"))


def _status(factory: sessionmaker[Session], analysis_id: str) -> dict[str, Any] | None:
    with session_scope(factory) as session:
        row = session.execute(
            select(
                Analysis.state, Analysis.phase, Analysis.progress_done, Analysis.progress_total,
                Analysis.error_code, Analysis.error, Analysis.commit_sha,
            ).where(Analysis.id == analysis_id)
        ).one_or_none()  # fmt: skip
    if row is None:
        return None
    state, phase, done, total, code, error, commit = row
    return {"id": analysis_id, "state": state, "phase": phase, "done": done, "total": total,
            "error_code": code, "error": error, "commit": commit}  # fmt: skip


def _frame(event: str, data: str, number: int) -> str:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"id: {number}\nevent: {event}\n{lines}\n"


async def stream(request: Request, analysis_id: str, *, render: Render = json_render) -> AsyncIterator[str]:
    """Yield ``progress`` events while the analysis runs and one ``done`` event when it ends."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    last: dict[str, Any] | None = None
    number = 0
    started = beat = time.monotonic()
    yield "retry: 2000\n\n"
    while time.monotonic() - started < MAX_SECONDS:
        status = await run_in_threadpool(_status, factory, analysis_id)
        if status is None:
            return
        if status != last:
            number += 1
            terminal = ANALYSIS_MACHINE.terminal(AnalysisState(status["state"]))
            event = "done" if terminal else "progress"
            yield _frame(event, render(event, status), number)
            if terminal:
                return
            last, beat = status, time.monotonic()
        elif time.monotonic() - beat >= KEEPALIVE:
            yield ": keep-alive\n\n"
            beat = time.monotonic()
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_SECONDS)


def response(request: Request, analysis_id: str, *, render: Render = json_render) -> StreamingResponse:
    """Wrap :func:`stream` as a ``text/event-stream`` response that proxies do not buffer."""
    return StreamingResponse(
        stream(request, analysis_id, render=render),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
