"""Pipeline template fixtures: the app with the template API and pages mounted (until app.py includes them),
and a seeded database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from timbel.core.db import session_scope
from timbel.pipelines.template_routes import router as template_api
from timbel.pipelines.template_seeds import ensure_seeds
from timbel.pipelines.template_views import router as template_pages


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The usual test app, with the pipeline template routers included once."""
    paths = {route.path for route in app.routes if isinstance(route, APIRoute)}
    if "/api/v1/pipeline-templates" not in paths:
        app.include_router(template_api)
    if "/admin/pipeline-templates" not in paths:
        app.include_router(template_pages)
    return app


@pytest.fixture
def seeded(app: FastAPI) -> Callable[[], list[str]]:
    """Run ``ensure_seeds`` in its own committed transaction; returns the keys it added."""

    def run() -> list[str]:
        with session_scope(app.state.session_factory) as session:
            return ensure_seeds(session)

    return run
