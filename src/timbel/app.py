"""Application factory: one FastAPI app for the JSON API, web UI, hooks and platform endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from timbel import __version__
from timbel.analysis.routes import router as analysis_router
from timbel.audit.routes import router as audit_router
from timbel.audit.service import AuditContext
from timbel.auth.admin_routes import router as users_admin_router
from timbel.auth.principal import PrincipalCache
from timbel.auth.routes import router as auth_router
from timbel.catalog.component_routes import router as component_router
from timbel.catalog.design_asset_routes import router as design_asset_router
from timbel.catalog.document_routes import router as document_router
from timbel.catalog.interop_routes import router as interop_router
from timbel.catalog.project_routes import router as project_router
from timbel.catalog.relation_routes import router as relation_router
from timbel.catalog.routes import router as catalog_router
from timbel.catalog.search_routes import router as search_router
from timbel.catalog.system_routes import router as system_catalog_router
from timbel.core.db import create_db_engine, create_session_factory, session_scope
from timbel.core.jobs import JobRuntime
from timbel.core.logging import AccessLog, configure_logging, wants_json
from timbel.core.metrics import PlatformMetrics
from timbel.core.middleware import PlatformMiddleware
from timbel.core.problems import crashed_app, install_error_handlers, too_large_app
from timbel.core.security import AccessTokenVerifier
from timbel.core.settings import Settings
from timbel.core.system_routes import router as system_router
from timbel.deployments.environment_routes import router as environment_router
from timbel.deployments.read_routes import router as deployment_read_router
from timbel.deployments.release_routes import router as release_router
from timbel.deployments.routes import router as deployment_actions_router
from timbel.gitops.routes import router as gitops_router
from timbel.integrations.builtin import register_builtin_adapters
from timbel.integrations.retention_routes import router as integration_retention_router
from timbel.integrations.routes import router as integrations_router
from timbel.notifications.routes import router as notifications_router
from timbel.pipelines.log_routes import router as pipeline_log_router
from timbel.pipelines.run_routes import router as pipeline_runs_router
from timbel.pipelines.secret_routes import router as pipeline_secrets_router
from timbel.pipelines.template_routes import router as pipeline_template_router
from timbel.pipelines.trigger_routes import router as pipeline_triggers_router
from timbel.web.setup import install_web
from timbel.webhooks.routes import router as webhooks_router

STATIC_DIR = Path(__file__).parent / "web" / "static"


def operation_id(route: APIRoute) -> str:
    """Stable OpenAPI operation ids: the route function's name (unique across the app)."""
    return route.name


def create_app(settings: Settings, *, run_jobs: bool | None = None) -> FastAPI:
    """Build the ASGI app from prepared settings; ``run_jobs`` starts the in-process job consumer."""
    configure_logging(settings)
    register_builtin_adapters()
    engine = create_db_engine(settings.effective_database_url)
    session_factory = create_session_factory(engine)
    metrics = PlatformMetrics()
    jobs = JobRuntime(settings, session_factory, metrics)
    consume = settings.jobs.embedded_consumer and settings.redis_url is None if run_jobs is None else run_jobs

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if consume:
            jobs.start_consumer()
        try:
            yield
        finally:
            jobs.close()
            engine.dispose()

    app = FastAPI(
        title="Timbel",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.metrics = metrics
    app.state.jobs = jobs
    app.state.principal_cache = PrincipalCache(settings.auth.principal_cache_seconds)
    app.state.token_verifier = AccessTokenVerifier(
        key=settings.secret(), issuer=settings.auth.jwt_issuer, audience=settings.auth.jwt_audience
    )

    def audit_fallback(ctx: AuditContext, status: int) -> None:
        from timbel.audit import service as audit_service

        with session_scope(session_factory) as session:
            audit_service.record(
                session,
                ctx=ctx,
                action=f"http.{(ctx.method or 'unknown').lower()}",
                outcome="success" if status < 400 else "failure",
                summary=f"{ctx.method} {ctx.path} -> {status}",
                changes={"status": status},
            )

    install_error_handlers(app)
    # Routers are tried in order (FastAPI 0.165 does not flatten them): hot API routes first.
    app.include_router(webhooks_router)  # first: the highest-volume routes are matched soonest
    app.include_router(auth_router)
    app.include_router(users_admin_router)
    app.include_router(audit_router)
    app.include_router(catalog_router)
    app.include_router(project_router)
    app.include_router(system_catalog_router)
    app.include_router(component_router)
    app.include_router(document_router)
    app.include_router(design_asset_router)
    app.include_router(relation_router)
    app.include_router(search_router)
    app.include_router(interop_router)
    app.include_router(analysis_router)
    app.include_router(pipeline_template_router)
    app.include_router(gitops_router)
    app.include_router(integrations_router)
    app.include_router(integration_retention_router)
    app.include_router(notifications_router)
    app.include_router(pipeline_log_router)
    app.include_router(pipeline_runs_router)
    app.include_router(pipeline_secrets_router)
    app.include_router(pipeline_triggers_router)
    # fixed paths (/deployments/matrix, /releases/diff) before the {id} routes that would swallow them
    app.include_router(deployment_read_router)
    app.include_router(deployment_actions_router)
    app.include_router(release_router)
    app.include_router(environment_router)
    app.include_router(system_router)
    install_web(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(
        PlatformMiddleware,
        metrics=metrics,
        max_body_bytes=settings.http.max_body_bytes,
        path_limits={"/hooks/": settings.http.webhook_max_body_bytes},
        too_large=too_large_app,
        crashed=crashed_app,
        audit_fallback=audit_fallback,
        access_log=AccessLog(as_json=wants_json(settings)) if settings.log.access else None,
    )
    return app
