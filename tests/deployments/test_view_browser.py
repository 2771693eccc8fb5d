"""In Chromium: the home dashboard follows a deployment live (SSE + HTMX), the matrix and detail render."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect

from tests.conftest import MakeUser
from tests.deployments._view_support import D, deploy, fast_timing, make_release, move
from tests.web.conftest import LiveServer, artifacts, browser, live_server  # noqa: F401 (fixtures)

PASSWORD = "Quartz-Harbor-4471"


@pytest.fixture(autouse=True)
def _mounted(app: FastAPI) -> None:
    fast_timing(app, poll=0.05, max_seconds=60.0)


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def test_home_follows_a_deployment_live(
    app: FastAPI,
    browser: Browser,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    artifacts: Path,  # noqa: F811
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
) -> None:
    domain = make_domain("shop")
    web = make_system(domain, "web", name="Web shop")
    make_user("kim.ops", roles=("operations",), domain_ids=(domain,), password=PASSWORD)
    v1, v2 = make_release(app, web, "1.0.0"), make_release(app, web, "2.0.0")
    deploy(app, web, "dev", v1, health="Healthy")
    running = deploy(app, web, "dev", v2, to=D.syncing)
    page = browser.new_context(locale="ko-KR", viewport={"width": 1360, "height": 900}).new_page()
    page.set_default_timeout(10_000)
    _sign_in(page, live_server.url, "kim.ops")
    item = page.locator(f'#dash-active [data-deployment="{running}"] [data-state]')
    expect(item).to_have_attribute("data-state", "syncing")
    page.wait_for_timeout(300)  # the event stream is connected
    move(app, running, D.verifying)
    expect(item).to_have_attribute("data-state", "verifying")
    move(app, running, D.succeeded, health="Healthy")
    expect(page.locator("#dash-active-empty")).to_be_visible()
    expect(page.locator(f'#dash-recent [data-deployment="{running}"]')).to_contain_text("2.0.0")
    page.screenshot(path=str(artifacts / "deploy-01-home.png"), full_page=True)
    page.goto(f"{live_server.url}/deployments")
    expect(page.locator('[data-cell="web:dev"] [data-version]')).to_have_text("2.0.0")
    page.screenshot(path=str(artifacts / "deploy-02-matrix.png"), full_page=True)
    page.goto(f"{live_server.url}/deployments/{running}")
    expect(page.locator("#deployment-state")).to_have_attribute("data-state", "succeeded")
    page.screenshot(path=str(artifacts / "deploy-03-detail.png"), full_page=True)
