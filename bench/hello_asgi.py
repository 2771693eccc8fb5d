"""Bare ASGI hello-world: the ceiling of what uvicorn can serve on this machine.

Served by ``bench/api_baseline.py`` as ``uvicorn --factory bench.hello_asgi:create``.
"""

from __future__ import annotations

from typing import Any

BODY = b'{"message":"hello"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer every HTTP request with a small JSON document; accept lifespan events."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def create() -> Any:
    """uvicorn ``--factory`` entry point."""
    return app
