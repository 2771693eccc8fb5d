"""Platform endpoints: liveness, readiness, Prometheus metrics and the API docs.

These are public on purpose: probes and scrapers call them without credentials,
and they expose no user data.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from timbel import __version__
from timbel.auth.deps import public

router = APIRouter(tags=["system"], dependencies=[Depends(public)])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Answer while the process is alive."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Answer 200 when the database and the job queue are reachable, 503 otherwise."""
    checks: dict[str, Any] = {}

    def check_db() -> None:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(check_db)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    jobs = getattr(request.app.state, "jobs", None)
    if jobs is None:
        checks["queue"] = "error: not configured"
    else:
        ok = await run_in_threadpool(jobs.ping)
        checks["queue"] = "ok" if ok else "error: unreachable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Expose platform metrics in the Prometheus text format."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/docs", include_in_schema=False)
async def api_docs() -> HTMLResponse:
    """Serve Swagger UI for the OpenAPI document, with locally installed assets."""
    return get_swagger_ui_html(
        openapi_url="/api/openapi.json",
        title="Timbel API",
        swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
    )
