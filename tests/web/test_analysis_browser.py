"""The deploy wizard in headless Chromium, with a real job consumer and a real git smart-HTTP server:
a new operations user pastes a repository URL, watches the analysis, sees every service with its port
and evidence, registers the system, configures, reviews and commits its delivery files to GitOps, and finds
its extracted components and documents in the catalog."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, expect

from tests.analysis._analyze_fixture import build_fastapi_repo
from tests.conftest import MakeUser, empty_all_tables
from tests.servers import ServerUnavailableError
from tests.servers.git_http import GitHttpServer, start_git_http
from tests.web.conftest import LiveServer
from tests.web.test_browser import sign_in
from tests.web.test_catalog_browser import new_page
from timbel.app import create_app
from timbel.core.settings import AnalysisSettings, JobSettings, Settings

pytestmark = pytest.mark.browser
PASSWORD = "Copper-Lantern-4821"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback allow-listed (an admin's choice for an internal git server); jobs through a real queue."""
    return settings.model_copy(
        update={
            "analysis": AnalysisSettings(allowed_hosts=("127.0.0.0/8",)),
            "jobs": JobSettings(immediate=False, embedded_consumer=True, workers=1),
        }
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    """The app with its in-process job consumer running (started by the live server's lifespan)."""
    application = create_app(settings, run_jobs=True)
    try:
        yield application
    finally:
        empty_all_tables(application.state.engine)
        application.state.engine.dispose()


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitHttpServer]:
    try:
        running = start_git_http(tmp_path / "srv")
    except ServerUnavailableError as exc:
        pytest.fail(str(exc))
    try:
        running.add_repo("shop", build_fastapi_repo(tmp_path / "shop"))
        yield running
    finally:
        running.stop()


def test_new_user_analyses_a_repository_and_registers_it(
    browser: Browser,
    live_server: LiveServer,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    git_server: GitHttpServer,
    artifacts: Path,
) -> None:
    base = live_server.url
    domain_id = make_domain("shop-mall")
    make_user("ops.park", roles=("operations",), password=PASSWORD, domain_ids=(domain_id,))
    page = new_page(browser)
    page.set_default_timeout(30_000)
    sign_in(page, base, "ops.park", PASSWORD)
    page.click("a:has-text('레포지토리 배포')")
    expect(page).to_have_url(f"{base}/deploy/repository")
    page.fill("#url", git_server.url_for("shop"))
    page.click("#start-analysis")

    services = page.locator("#report-services")
    expect(services).to_be_visible()  # reached through the live stream's "done" event
    expect(services).to_contain_text("8000")
    expect(services).to_contain_text("Dockerfile")
    expect(page.locator("#report-readiness")).to_be_visible()
    page.screenshot(path=str(artifacts / "analysis-report.png"), full_page=True)

    page.select_option("#domain_id", domain_id)
    page.fill("#name", "쇼핑몰 API")
    page.fill("#slug", "shop-mall-api")
    page.click("#register-system")
    expect(page.locator("#flash")).to_be_visible()
    expect(page.locator("#system-analysis")).to_contain_text("8000")

    system_url = page.url

    # Steps 2-4 right after: configure (the proposed plan as is), review, commit to the GitOps repository.
    page.click("#system-configure-delivery")
    expect(page.locator("#s0\\.port")).to_have_value("8000")
    page.click("#save-plan")
    expect(page.locator("#commit")).to_be_enabled()
    page.fill("#why", "첫 배포 구성")
    page.click("#commit")
    expect(page.locator("#operation")).to_have_attribute("data-state", "succeeded")
    page.goto(system_url)
    page.click("a[href^='/catalog/documents?system_id=']")
    expect(page.locator("body")).to_contain_text("Shop API")
    page.goto(f"{base}/catalog/components")
    expect(page.locator("body")).to_contain_text("app.models")
    page.screenshot(path=str(artifacts / "analysis-components.png"), full_page=True)
