"""Run logs API: JSON slices, the download, the live stream (SSE) and who may read a run's log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.conftest import MakeUser, login
from tests.pipelines.test_logs_store import STAMP, append, insert_run, set_state
from timbel.core.db import session_scope
from timbel.pipelines import log_routes
from timbel.pipelines.log_routes import StreamTiming, log_events, stream_timing
from timbel.pipelines.logs import iter_log

Headers = dict[str, str]


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The test app with the log routes included (until app.py includes them) and a fast stream."""
    if "/api/v1/runs/{run_id}/log" not in {r.path for r in app.routes if isinstance(r, APIRoute)}:
        app.include_router(log_routes.router)
    app.dependency_overrides[stream_timing] = lambda: StreamTiming(poll=0.01)
    return app


@dataclass
class World:
    """Two domains with a system and a run each; ``reader(role, domain)`` signs a user in (made on demand:
    password hashing is the slow part of these tests)."""

    run: str
    other_run: str
    domain_a: str
    domain_b: str
    reader: Callable[..., Headers]

    @property
    def member(self) -> Headers:
        """An operations user of domain A (one per test)."""
        return self.reader("operations", self.domain_a)


@pytest.fixture
def world(
    app: FastAPI,
    client: TestClient,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
) -> World:
    """Runs in domains A and B."""
    a, b = make_domain("dom-a"), make_domain("dom-b")
    signed_in: dict[tuple[str, str | None], Headers] = {}

    def reader(role: str, domain: str | None = None) -> Headers:
        key = (role, domain)
        if key not in signed_in:
            signed_in[key] = login(client, make_user(roles=(role,), domain_ids=(domain,) if domain else ()))
        return signed_in[key]

    return World(
        run=insert_run(app, system_id=make_system(a, "shop-a")),
        other_run=insert_run(app, system_id=make_system(b, "shop-b")),
        domain_a=a,
        domain_b=b,
        reader=reader,
    )


def test_reads_a_slice_as_json(app: FastAPI, client: TestClient, world: World) -> None:
    append(app, world.run, "\x1b[31mred\x1b[0m <b>\n둘째 줄\n")
    body = client.get(f"/api/v1/runs/{world.run}/log", headers=world.member).json()
    line1 = f"{STAMP}\x1b[31mred\x1b[0m <b>\n"
    assert body["text"] == f"{line1}{STAMP}둘째 줄\n"
    assert body["offset"] == 0 and body["next_offset"] == body["size"] == len(body["text"].encode())
    assert body["complete"] is False and body["state"] == "running"
    assert '<span class="ansi-red">red</span> &lt;b&gt;' in body["html"]
    part = client.get(
        f"/api/v1/runs/{world.run}/log",
        params={"offset": len(line1.encode()), "limit": 10_000},
        headers=world.member,
    ).json()
    assert part["text"] == f"{STAMP}둘째 줄\n" and part["offset"] == len(line1.encode())
    first = client.get(
        f"/api/v1/runs/{world.run}/log", params={"limit": len(line1) + 5}, headers=world.member
    ).json()
    assert first["text"] == line1
    set_state(app, world.run, "succeeded")
    done = client.get(f"/api/v1/runs/{world.run}/log", headers=world.member).json()
    assert done["complete"] is True and done["state"] == "succeeded"
    bad = client.get(f"/api/v1/runs/{world.run}/log", params={"offset": -1}, headers=world.member)
    assert bad.status_code == 422


def test_downloads_the_whole_log(app: FastAPI, client: TestClient, world: World) -> None:
    append(app, world.run, "a" * 70_000 + "\n")
    append(app, world.run, "배포 완료\n")
    response = client.get(f"/api/v1/runs/{world.run}/log.txt", headers=world.reader("viewer", world.domain_a))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="run-{world.run}.log"'
    text = response.content.decode()
    assert text.endswith(f"\n{STAMP}배포 완료\n") and text.count("a") == 70_000  # the long line in two pieces
    assert [line[: len(STAMP)] for line in text.splitlines()] == [STAMP] * 3
    with session_scope(app.state.session_factory) as session:
        assert text == "".join(iter_log(session, run_id=world.run))


def test_permissions(client: TestClient, world: World) -> None:
    outsider, executive = world.reader("operations", world.domain_b), world.reader("executive")
    nobody = world.reader("operations")  # no domain at all
    for path in ("log", "log.txt", "log/stream"):
        url = f"/api/v1/runs/{world.run}/{path}"
        assert client.get(url).status_code == 401
        assert client.get(url, headers=outsider).status_code == 404
        assert client.get(url, headers=nobody).status_code == 404
        assert client.get(f"/api/v1/runs/{world.other_run}/{path}", headers=world.member).status_code == 404
        assert client.get(f"/api/v1/runs/missing/{path}", headers=executive).status_code == 404
    assert client.get(f"/api/v1/runs/{world.run}/log", headers=executive).status_code == 200  # domains:all


def _events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Parse an SSE stream into events ({id, event, data} or {comment})."""
    block: dict[str, Any] = {}
    for line in lines:
        if line == "":
            if block:
                yield block
            block = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            field, _, value = line.partition(": ")
            block[field] = json.loads(value) if field == "data" else value


def test_stream_follows_appends_and_ends(app: FastAPI, client: TestClient, world: World) -> None:
    append(app, world.run, "first\n")
    with client.stream("GET", f"/api/v1/runs/{world.run}/log/stream", headers=world.member) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response.iter_lines())
        assert next(events) == {"retry": "2000"}
        first = next(events)
        assert first["event"] == "log" and first["data"]["text"] == f"{STAMP}first\n"
        assert first["data"]["offset"] == 0 and first["id"] == str(first["data"]["next_offset"])
        size = append(app, world.run, "\x1b[32m둘째\x1b[0m\n")
        second = next(events)
        assert second["event"] == "log" and second["data"]["offset"] == first["data"]["next_offset"]
        assert second["data"]["text"] == f"{STAMP}\x1b[32m둘째\x1b[0m\n"
        assert second["data"]["html"] == f'{STAMP}<span class="ansi-green">둘째</span>\n'
        assert second["id"] == str(size)
        set_state(app, world.run, "failed")
        end = next(events)
        assert end["event"] == "end" and end["data"] == {"state": "failed", "offset": size, "size": size}
        assert list(events) == []


def test_stream_resumes_from_last_event_id_or_offset(app: FastAPI, client: TestClient, world: World) -> None:
    first = append(app, world.run, "one\n")
    append(app, world.run, "two\n")
    set_state(app, world.run, "succeeded")
    url = f"/api/v1/runs/{world.run}/log/stream"
    for kwargs in (
        {"headers": {**world.member, "Last-Event-ID": str(first)}},
        {"headers": {**world.member, "Last-Event-ID": "junk"}, "params": {"offset": first}},
        {"headers": world.member, "params": {"offset": first}},
    ):
        with client.stream("GET", url, **kwargs) as response:
            events = [e for e in _events(response.iter_lines()) if "event" in e]
        assert [e["event"] for e in events] == ["log", "end"]
        assert events[0]["data"]["text"] == f"{STAMP}two\n" and events[0]["data"]["offset"] == first
        assert events[1]["data"]["state"] == "succeeded"
    with client.stream("GET", url, headers={**world.member, "Last-Event-ID": "999999"}) as response:
        events = [e for e in _events(response.iter_lines()) if "event" in e]
    size = first * 2
    assert events == [
        {"id": str(size), "event": "end", "data": {"state": "succeeded", "offset": size, "size": size}}
    ]


class _FakeRequest:
    """Just what ``log_events`` uses of a request: the app and whether the client went away."""

    def __init__(self, app: FastAPI, *, disconnect_after: int = 10**6) -> None:
        self.app = app
        self.checks = 0
        self.disconnect_after = disconnect_after

    async def is_disconnected(self) -> bool:
        self.checks += 1
        return self.checks > self.disconnect_after


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += 5.0


async def _collect(stream: Any) -> list[str]:
    return [frame async for frame in stream]


def test_stream_sends_keepalives_while_quiet_and_stops_after_max_seconds(app: FastAPI, world: World) -> None:
    clock = _Clock()
    timing = StreamTiming(poll=0.5, keepalive=15.0, max_seconds=60.0, sleep=clock.sleep, clock=clock)
    request: Any = _FakeRequest(app)
    frames = asyncio.run(_collect(log_events(request, world.run, offset=0, timing=timing)))
    assert frames[0] == "retry: 2000\n\n"
    assert frames.count(": keep-alive\n\n") == 3  # at 15, 30 and 45 s of a quiet 60 s
    assert set(clock.slept) == {0.5} and clock.now >= 60.0


def test_stream_stops_when_the_client_disconnects(app: FastAPI, world: World) -> None:
    append(app, world.run, "x\n")
    clock = _Clock()
    timing = StreamTiming(sleep=clock.sleep, clock=clock)
    request: Any = _FakeRequest(app, disconnect_after=1)
    frames = asyncio.run(_collect(log_events(request, world.run, offset=0, timing=timing)))
    assert frames[0] == "retry: 2000\n\n" and frames[1].startswith("id: ") and len(frames) == 2
    assert request.checks == 2 and len(clock.slept) == 1


def test_stream_of_a_deleted_run_just_ends(app: FastAPI, world: World) -> None:
    clock = _Clock()
    timing = StreamTiming(sleep=clock.sleep, clock=clock)
    request: Any = _FakeRequest(app)
    frames = asyncio.run(_collect(log_events(request, "missing", offset=0, timing=timing)))
    assert frames == ["retry: 2000\n\n"]
