"""Run logs API: read a slice, download the whole log, follow it live (Server-Sent Events)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import service as catalog_service
from timbel.catalog.models import System
from timbel.core.db import session_scope
from timbel.core.deps import SessionDep
from timbel.core.errors import NotFound
from timbel.pipelines import ansi, logs

router = APIRouter(prefix="/api/v1/runs", tags=["pipelines"])
Reader = Annotated[Principal, Depends(require(Permission.pipelines_read))]
MAX_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class RunRef:
    """A run the caller may see: its id, system, the system's domain and the run's state."""

    id: str
    system_id: str
    domain_id: str | None
    state: str


def visible_run_or_404(session: Session, principal: Principal, run_id: str) -> RunRef:
    """Return a run whose system is in one of the caller's domains (any with domains:all), else NotFound."""
    row = session.execute(
        select(logs.RUNS.c.id, logs.RUNS.c.system_id, System.domain_id, logs.RUNS.c.state)
        .outerjoin(System, System.id == logs.RUNS.c.system_id)
        .where(logs.RUNS.c.id == run_id)
    ).one_or_none()
    if row is None or not (catalog_service.sees_all(principal) or row[2] in principal.domain_ids):
        raise NotFound("No such run.")
    return RunRef(id=row[0], system_id=row[1], domain_id=row[2], state=row[3])


class LogSliceRead(BaseModel):
    """A slice of a run's log: ``text`` from ``offset`` to ``next_offset`` (also as HTML)."""

    offset: int
    next_offset: int
    size: int
    complete: bool
    state: str
    text: str
    html: str


@router.get("/{run_id}/log")
def read_run_log(
    run_id: str,
    principal: Reader,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = logs.READ_LIMIT,
) -> LogSliceRead:
    """Read part of a run's log from a byte offset; ``complete`` once the run ended and all was read."""
    run = visible_run_or_404(session, principal, run_id)
    part = logs.read_log(session, run_id=run.id, offset=offset, limit=limit)
    return LogSliceRead(
        offset=part.offset, next_offset=part.next_offset, size=part.size,
        complete=part.complete, state=part.state, text=part.text, html=str(ansi.to_html(part.text)),
    )  # fmt: skip


def _download(factory: sessionmaker[Session], run_id: str) -> Iterator[bytes]:
    with session_scope(factory) as session:
        for text in logs.iter_log(session, run_id=run_id):
            yield text.encode()


@router.get("/{run_id}/log.txt", response_class=StreamingResponse)
def download_run_log(
    run_id: str, request: Request, principal: Reader, session: SessionDep
) -> StreamingResponse:
    """Download a run's whole log as UTF-8 text."""
    run = visible_run_or_404(session, principal, run_id)
    return StreamingResponse(
        _download(request.app.state.session_factory, run.id),
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="run-{run.id}.log"',
            "Cache-Control": "no-store",
        },
    )


@dataclass(frozen=True)
class StreamTiming:
    """How the live log polls: interval, keep-alive comments, longest stream, injectable sleep and clock."""

    poll: float = 0.5
    keepalive: float = 15.0
    max_seconds: float = 3600.0  # the browser reconnects (with Last-Event-ID) after this
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic


def stream_timing() -> StreamTiming:
    """Dependency giving the stream's timing (tests override it)."""
    return StreamTiming()


def _frame(event: str, data: dict[str, Any], number: int) -> str:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {number}\nevent: {event}\ndata: {payload}\n\n"


def _read(factory: sessionmaker[Session], run_id: str, offset: int) -> logs.LogSlice | None:
    with session_scope(factory) as session:
        try:
            return logs.read_log(session, run_id=run_id, offset=offset)
        except NotFound:
            return None


async def log_events(
    request: Request, run_id: str, *, offset: int, timing: StreamTiming
) -> AsyncIterator[str]:
    """Yield ``log`` events (id: the next byte offset) as the log grows, then ``end`` with the final state."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    yield "retry: 2000\n\n"
    started = beat = timing.clock()
    while timing.clock() - started < timing.max_seconds:
        part = await run_in_threadpool(_read, factory, run_id, offset)
        if part is None:
            return
        if part.text:
            data = {"offset": part.offset, "next_offset": part.next_offset, "text": part.text,
                    "html": str(ansi.to_html(part.text))}  # fmt: skip
            yield _frame("log", data, part.next_offset)
            beat = timing.clock()
        offset = part.next_offset  # also pulls an offset past the end back to the end
        if part.complete:
            yield _frame("end", {"state": part.state, "offset": offset, "size": part.size}, offset)
            return
        if await request.is_disconnected():
            return
        if part.text and offset < part.size:
            continue  # more is waiting: no pause
        if timing.clock() - beat >= timing.keepalive:
            yield ": keep-alive\n\n"
            beat = timing.clock()
        await timing.sleep(timing.poll)


def _resume_offset(last_event_id: str | None, offset: int) -> int:
    if last_event_id and last_event_id.strip().isdigit():
        return int(last_event_id.strip())
    return offset


@router.get("/{run_id}/log/stream", response_class=StreamingResponse)
def stream_run_log(
    run_id: str,
    request: Request,
    principal: Reader,
    session: SessionDep,
    timing: Annotated[StreamTiming, Depends(stream_timing)],
    offset: Annotated[int, Query(ge=0)] = 0,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:
    """Follow a run's log live (Server-Sent Events), resuming from ``Last-Event-ID`` or ``?offset=``."""
    run = visible_run_or_404(session, principal, run_id)
    return StreamingResponse(
        log_events(request, run.id, offset=_resume_offset(last_event_id, offset), timing=timing),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
