"""FastAPI hello-worlds (``async def`` and plain ``def``), the reference for the ≥ 50 % target.

Served by ``bench/api_baseline.py`` as ``uvicorn --factory bench.hello_fastapi:create``
(``create_sync`` for the plain ``def`` variant, which runs in the thread pool).
"""

from __future__ import annotations

from fastapi import FastAPI


def create() -> FastAPI:
    """FastAPI app with one ``async def`` route returning a dict (the target's reference)."""
    app = FastAPI()

    @app.get("/")
    async def hello() -> dict[str, str]:
        return {"message": "hello"}

    return app


def create_sync() -> FastAPI:
    """FastAPI app with one plain ``def`` route (dispatched to the thread pool)."""
    app = FastAPI()

    @app.get("/")
    def hello() -> dict[str, str]:
        return {"message": "hello"}

    return app
