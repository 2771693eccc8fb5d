"""The receive path's storage: one INSERT per delivery, at most once per (source, delivery id), batched."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI

from tests.webhooks.conftest import count_deliveries
from timbel.webhooks import service, writer
from timbel.webhooks.writer import DeliveryWriter


def _item(delivery_id: str, *, source: str = "github", processed: bool = False) -> dict[str, Any]:
    return {
        "source": source, "delivery_id": delivery_id, "event": "ping" if processed else "push",
        "integration_id": None, "headers": {"x-github-delivery": delivery_id}, "payload": b"{}",
        "processed": processed,
    }  # fmt: skip


def test_a_batch_stores_each_delivery_once_even_copies_within_it(app: FastAPI) -> None:
    stored = service.receive_many(engine=app.state.engine, items=[_item("a")])
    results = service.receive_many(
        engine=app.state.engine,
        items=[_item("b"), _item("a"), _item("b"), _item("a", source="gitlab"), _item("p", processed=True)],
    )

    assert [(r.duplicate, r.state) for r in results] == [
        (False, "received"),
        (True, "received"),
        (True, "received"),
        (False, "received"),
        (False, "processed"),
    ]
    assert results[1].id == stored[0].id and results[2].id == results[0].id
    assert count_deliveries(app) == 4


def test_concurrent_single_inserts_of_one_id_store_one_row(app: FastAPI) -> None:
    start = threading.Barrier(6)

    def insert(_: int) -> bool:
        start.wait()
        return service.receive(engine=app.state.engine, **_item("same")).duplicate

    with ThreadPoolExecutor(6) as pool:
        duplicates = sorted(pool.map(insert, range(6)))

    assert duplicates == [False] + [True] * 5
    assert count_deliveries(app) == 1


def test_the_writer_queues_one_job_per_batch_then_answers(app: FastAPI) -> None:
    queued: list[tuple[str, dict[str, Any]]] = []

    def enqueue(name: str, /, **kwargs: Any) -> str:
        queued.append((name, kwargs))
        return "t"

    target = DeliveryWriter(engine=app.state.engine, enqueue=enqueue)

    async def send() -> list[service.Received]:
        return list(await asyncio.gather(*(target.store(**_item(f"w{i % 5}")) for i in range(10))))

    results = asyncio.run(send())

    assert sum(not r.duplicate for r in results) == 5
    assert {name for name, _ in queued} == {service.PROCESS_MANY_JOB}
    queued_ids = [i for _, kw in queued for i in kw["delivery_ids"]]
    assert sorted(queued_ids) == sorted(r.id for r in results if not r.duplicate)


def test_the_writer_thread_stops_when_idle_and_starts_again(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "IDLE_SECONDS", 0.05)
    target = DeliveryWriter(engine=app.state.engine, enqueue=lambda name, **kw: "t")

    asyncio.run(target.store(**_item("x1")))
    thread = target._thread
    assert thread is not None
    thread.join(2)
    assert not thread.is_alive()
    asyncio.run(target.store(**_item("x2")))

    assert count_deliveries(app) == 2


def test_a_failed_batch_fails_its_requests(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**_: Any) -> list[service.Received]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "receive_many", broken)
    target = DeliveryWriter(engine=app.state.engine, enqueue=lambda name, **kw: "t")

    with pytest.raises(RuntimeError, match="disk full"):
        asyncio.run(target.store(**_item("y")))
