"""Timbel with pieces switched off, for attributing ``/users/me`` cost in a served process.

``uvicorn --factory bench.app_timbel_variants:create`` with ``BENCH_VARIANT`` a comma-separated
list of:

- ``hello``: add ``GET /bench/hello`` (an ``async def`` returning a dict, matched before every
  other route) to measure Timbel's middleware/framework overhead without authentication;
- ``no-metrics``: PlatformMiddleware records no Prometheus metrics (the access log stays as
  configured by ``TIMBEL_LOG__ACCESS``);
- ``auth-first``: the auth router is matched before the system router;
- ``no-middleware``: no PlatformMiddleware at all;
- ``gc-freeze``: ``gc.freeze()`` once the app is built (start-up objects leave the collector's scans).

Only for measurement; patches live in the benchmark process, nothing in ``src/`` changes.
"""

from __future__ import annotations

import gc
import os

from fastapi import FastAPI
from starlette.routing import Match

from timbel.app import create_app
from timbel.core.settings import load_settings


def create() -> FastAPI:
    """uvicorn ``--factory`` entry point."""
    variants = {v.strip() for v in os.environ.get("BENCH_VARIANT", "").split(",") if v.strip()}
    from timbel.core.middleware import PlatformMiddleware

    app = create_app(load_settings(), run_jobs=False)
    platform = [
        m for m in app.user_middleware if getattr(m.cls, "__name__", "") == PlatformMiddleware.__name__
    ]
    if "no-metrics" in variants:
        for m in platform:  # the middleware stack is built on the first request, from these kwargs
            m.kwargs["metrics"] = _NoMetrics()
    if "auth-first" in variants:
        routes = app.router.routes
        scope = {"type": "http", "method": "GET", "path": "/api/v1/users/me", "root_path": "", "headers": []}
        branch = next(r for r in routes if r.matches(scope)[0] == Match.FULL)
        routes.insert(0, routes.pop(routes.index(branch)))
    if "hello" in variants:

        async def hello() -> dict[str, str]:
            return {"message": "hello"}

        app.add_api_route("/bench/hello", hello, methods=["GET"])
        app.router.routes.insert(0, app.router.routes.pop())
    if "no-middleware" in variants:
        app.user_middleware = [m for m in app.user_middleware if m not in platform]
        app.middleware_stack = None
    if "gc-freeze" in variants:
        gc.collect()
        gc.freeze()
    return app


class _NoMetric:
    """Stands in for a labelled Prometheus metric family and its children."""

    def labels(self, *_labels: str) -> _NoMetric:
        return self

    def inc(self, _amount: float = 1) -> None:
        return None

    def observe(self, _value: float) -> None:
        return None


class _NoMetrics:
    """Stands in for PlatformMetrics: records nothing."""

    def __init__(self) -> None:
        self.requests = _NoMetric()
        self.latency = _NoMetric()
