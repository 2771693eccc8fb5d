"""In headless Chromium (Korean), an administrator opens 외부 연동 from the menu, adds a real Basic-auth
registry through the generated form, tests the connection (✓ per check, 연결 성공), sees the list's health
turn 정상, then enters a wrong password and sees the failure with its precise reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import MakeUser
from tests.servers.docker_registry import DockerRegistryServer, start_docker_registry
from tests.web.conftest import LiveServer
from tests.web.test_browser import sign_in
from tests.web.test_catalog_browser import new_page

pytestmark = pytest.mark.browser
ADMIN_PASSWORD = "Granite-Harbor-7315"
REGISTRY_PASSWORD = "browser-registry-secret-62fa"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[DockerRegistryServer]:
    """A real Basic-auth registry on loopback."""
    server = start_docker_registry(tmp_path, users={"ci": REGISTRY_PASSWORD})
    try:
        yield server
    finally:
        server.stop()


def test_admin_adds_a_registry_and_tests_it(
    browser: Browser,
    live_server: LiveServer,
    make_user: MakeUser,
    registry: DockerRegistryServer,
    artifacts: Path,
) -> None:
    base = live_server.url
    make_user("admin.lee", roles=("admin",), password=ADMIN_PASSWORD)
    page = new_page(browser)
    sign_in(page, base, "admin.lee", ADMIN_PASSWORD)
    expect(page.locator("h1.page-title")).to_have_text("운영 대시보드")
    page.click("text=외부 연동")
    expect(page.locator("h1.page-title")).to_have_text("외부 연동")
    expect(page.locator("#no-integrations")).to_have_text("아직 연동이 없습니다.")
    page.select_option("#kind", "registry")
    page.click("#add-integration-button")
    expect(page.locator("h1.page-title")).to_have_text("연동 추가")
    page.fill("#name", "harbor")
    page.fill("#base_url", registry.url)
    page.fill("#opt-username", "ci")
    page.fill("#opt-retries", "0")
    page.fill("#secret-password", REGISTRY_PASSWORD)
    page.check("#is_default")
    page.screenshot(path=str(artifacts / "integrations-01-form.png"), full_page=True)
    page.click("#save-integration")
    expect(page.locator("#flash")).to_have_text("연동을 추가했습니다.")
    expect(page.locator(".secret-state").first).to_contain_text("설정됨 (변경하려면 입력)")
    expect(page.locator("#secret-password")).to_have_value("")

    page.click("#integration-health button:has-text('연결 테스트')")
    expect(page.locator("h1.page-title")).to_have_text("연결 테스트: harbor")
    expect(page.locator("#report-overall")).to_have_text("연결 성공")
    expect(page.locator("#report-checks .check-ok")).to_have_count(4)
    expect(page.locator("#report-checks")).to_contain_text("✓")
    expect(page.locator("#report-checks")).to_contain_text("인증")
    expect(page.locator("#integration-health")).to_contain_text("정상")
    page.screenshot(path=str(artifacts / "integrations-02-test-ok.png"), full_page=True)

    page.click("text=목록으로")
    row = page.locator("#integration-harbor")
    expect(row).to_contain_text("정상")
    expect(row).to_contain_text("기본")
    expect(row).to_contain_text("전역")
    expect(row).to_contain_text("마지막 확인")

    page.click("#integration-harbor a")
    page.fill("#secret-password", "not-the-password")
    page.click("#save-integration")
    expect(page.locator("#flash")).to_have_text("연동을 저장했습니다.")
    page.click("#integration-health button:has-text('연결 테스트')")
    expect(page.locator("#report-overall")).to_have_text("연결 실패")
    failed = page.locator("#report-checks .check-failed").first
    expect(failed).to_contain_text("✗")
    expect(failed).to_contain_text("harbor")
    expect(page.locator("#integration-health")).to_contain_text("실패")
    page.screenshot(path=str(artifacts / "integrations-03-test-failed.png"), full_page=True)
    page.click("text=목록으로")
    expect(page.locator("#integration-harbor")).to_contain_text("실패")
    assert REGISTRY_PASSWORD not in page.content()
