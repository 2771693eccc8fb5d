"""Run a fake ASGI app on a free loopback port in a background thread, and record what it receives."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.servers import LOOPBACK, free_port, port_open


@dataclass(frozen=True)
class Recorded:
    """One request a fake received: method, path, query string, headers (lower-case names) and body."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """The requests a fake received, in order."""

    requests: list[Recorded] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, item: Recorded) -> None:
        """Append one request."""
        with self._lock:
            self.requests.append(item)

    def calls(self) -> list[str]:
        """``METHOD /path`` of every request, in order (query strings left out)."""
        with self._lock:
            return [f"{r.method} {r.path}" for r in self.requests]

    def clear(self) -> None:
        """Forget what was recorded so far."""
        with self._lock:
            self.requests.clear()


class RecordingMiddleware:
    """Wrap an ASGI app so every HTTP request (with its body) lands in ``recorder``."""

    def __init__(self, app: ASGIApp, recorder: Recorder) -> None:
        self.app, self.recorder = app, recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the whole body, record the request, then replay the body to the app."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.recorder.add(
            Recorded(scope["method"], scope["path"], scope["query_string"].decode("latin-1"), headers, body)
        )
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


@dataclass(frozen=True)
class RunningFake:
    """A fake being served: its base URL (no trailing slash), port and request recorder."""

    base_url: str
    port: int
    recorder: Recorder


@contextmanager
def serve(app: ASGIApp, *, recorder: Recorder | None = None, timeout: float = 10.0) -> Iterator[RunningFake]:
    """Serve ``app`` on 127.0.0.1 (a free port) until the block ends; every request is recorded."""
    recorder = recorder or Recorder()
    port = free_port()
    config = uvicorn.Config(
        RecordingMiddleware(app, recorder), host=LOOPBACK, port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"fake-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError(f"fake server did not start on {LOOPBACK}:{port}")
        time.sleep(0.01)
    try:
        yield RunningFake(f"http://{LOOPBACK}:{port}", port, recorder)
    finally:
        server.should_exit = True
        thread.join(timeout)


def header(recorded: Recorded, name: str) -> str | None:
    """A recorded request's header (case-insensitive), or None."""
    return recorded.headers.get(name.lower())


def as_json(recorded: Recorded) -> Any:
    """A recorded request's body parsed as JSON."""
    return json.loads(recorded.body)
