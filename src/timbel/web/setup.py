"""Install the web UI into the app: catalogs, page routers and the HTML error renderer."""

from __future__ import annotations

from fastapi import FastAPI

from timbel.analysis.views import router as analysis_pages
from timbel.audit.views import router as audit_pages
from timbel.auth.admin_views import router as user_admin_pages
from timbel.auth.views import router as auth_pages
from timbel.catalog.component_views import router as component_pages
from timbel.catalog.dashboard_views import router as catalog_dashboard_pages
from timbel.catalog.design_asset_views import router as design_asset_pages
from timbel.catalog.document_views import router as document_pages
from timbel.catalog.project_views import router as project_pages
from timbel.catalog.search_views import router as search_pages
from timbel.catalog.system_views import router as system_pages
from timbel.catalog.views import router as catalog_pages
from timbel.core.settings import Settings
from timbel.deployments.action_views import router as deployment_action_pages
from timbel.deployments.environment_views import router as environment_pages
from timbel.deployments.release_views import router as release_pages
from timbel.deployments.views import router as deployment_pages
from timbel.gitops.admin_views import router as gitops_admin_pages
from timbel.gitops.views import router as delivery_pages
from timbel.integrations.views import router as integration_admin_pages
from timbel.notifications.views import router as notification_pages
from timbel.pipelines.run_views import router as pipeline_pages
from timbel.pipelines.settings_views import router as pipeline_settings_pages
from timbel.pipelines.template_views import router as pipeline_template_pages
from timbel.web import i18n
from timbel.web.errors import render_html_error
from timbel.web.views import router as web_pages


def install_web(app: FastAPI) -> None:
    """Add the page routes and make page errors render as HTML."""
    settings: Settings = app.state.settings
    i18n.load_catalogs(i18n.supported_locales(settings))
    app.include_router(web_pages)
    app.include_router(auth_pages)
    app.include_router(user_admin_pages)
    app.include_router(audit_pages)
    app.include_router(catalog_pages)
    app.include_router(project_pages)
    app.include_router(system_pages)
    app.include_router(component_pages)
    app.include_router(document_pages)
    app.include_router(design_asset_pages)
    app.include_router(search_pages)
    app.include_router(catalog_dashboard_pages)
    app.include_router(analysis_pages)
    app.include_router(pipeline_template_pages)
    app.include_router(pipeline_pages)
    app.include_router(pipeline_settings_pages)
    app.include_router(delivery_pages)
    app.include_router(gitops_admin_pages)
    app.include_router(notification_pages)
    app.include_router(integration_admin_pages)
    # /deployments/requests/new before /deployments/{id}; /releases/diff before /releases/{id}
    app.include_router(deployment_action_pages)
    app.include_router(deployment_pages)
    app.include_router(release_pages)
    app.include_router(environment_pages)
    app.state.html_error_renderer = render_html_error
