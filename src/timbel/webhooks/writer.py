"""Group commit for the receive path: one writer thread stores queued deliveries in one transaction.

Why: SQLite has one writer. Thirty request threads each committing one INSERT spend their time in the
busy handler's back-off sleeps and in GIL hand-offs; one thread that drains whatever arrived meanwhile
and commits it at once answers every one of them sooner (PostgreSQL gains too: one commit per batch).
Each request gets its answer only after its row is committed and its processing queued: one
``webhooks.process_many`` job for the batch's new deliveries (one queue write, not one each).
The thread stops after ``IDLE_SECONDS`` without work and starts again with the next delivery.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from timbel.webhooks import service
from timbel.webhooks.models import DeliveryState

logger = logging.getLogger(__name__)
IDLE_SECONDS = 2.0
MAX_BATCH = 256


@dataclass
class _Pending:
    fields: dict[str, Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[service.Received]


def _settle(future: asyncio.Future[service.Received], value: Any, error: bool) -> None:
    if future.done():  # the client went away
        return
    if error:
        future.set_exception(value)
    else:
        future.set_result(value)


class DeliveryWriter:
    """Store deliveries in batches on one thread; queue their processing after each commit."""

    def __init__(self, *, engine: Engine, enqueue: Callable[..., str]) -> None:
        self.engine, self.enqueue = engine, enqueue
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    async def store(self, **fields: Any) -> service.Received:
        """Store one delivery (see ``service.receive_many``) and return what happened, once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[service.Received] = loop.create_future()
        self._queue.put(_Pending(fields, loop, future))
        self._ensure_thread()
        return await future

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhooks-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        try:
            results = service.receive_many(engine=self.engine, items=[p.fields for p in batch])
        except Exception as exc:
            logger.exception("storing %d webhook deliveries failed", len(batch))
            for pending in batch:
                pending.loop.call_soon_threadsafe(_settle, pending.future, exc, True)
            return
        new = [r.id for r in results if not r.duplicate and r.state == DeliveryState.received]
        if new:
            try:
                self.enqueue(service.PROCESS_MANY_JOB, delivery_ids=new)
            except Exception:  # stored all the same: the reconcile job queues them again within minutes
                logger.exception("queueing %d webhook deliveries failed", len(new))
        for pending, result in zip(batch, results, strict=True):
            pending.loop.call_soon_threadsafe(_settle, pending.future, result, False)
