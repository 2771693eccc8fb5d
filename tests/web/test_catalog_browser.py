"""The catalog in headless Chromium: an admin registers a domain, a project with a VoC upload and a
system, finds the system by a Korean substring; a viewer of another domain finds none of it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import MakeUser
from tests.web.conftest import LiveServer
from tests.web.test_browser import sign_in

pytestmark = pytest.mark.browser

ADMIN_PASSWORD = "Amber-Compass-2046"
VIEWER_PASSWORD = "Quiet-Harbor-7719"
DESCRIPTION = "차세대 인터넷뱅킹 거래 처리 시스템"
VOC_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def new_page(browser: Browser) -> Page:
    page = browser.new_context(locale="ko-KR", viewport={"width": 1360, "height": 900}).new_page()
    page.set_default_timeout(10_000)
    return page


def search(page: Page, base: str, query: str) -> None:
    page.goto(f"{base}/catalog/search")
    page.fill("#search-q", query)
    page.press("#search-q", "Enter")


def test_admin_registers_catalog_and_other_domain_viewer_sees_none(
    browser: Browser,
    live_server: LiveServer,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    artifacts: Path,
    tmp_path: Path,
) -> None:
    base = live_server.url
    make_user("admin.lee", roles=("admin",), password=ADMIN_PASSWORD, display_name="이관리")
    other = make_domain("other-bank")
    make_user("viewer.choi", roles=("viewer",), password=VIEWER_PASSWORD, domain_ids=(other,))

    admin = new_page(browser)
    sign_in(admin, base, "admin.lee", ADMIN_PASSWORD)
    admin.goto(f"{base}/catalog/domains")
    admin.click("#new-domain")
    admin.fill("#code", "kb-bank")
    admin.fill("#name", "국민은행")
    admin.fill("#industry", "금융")
    admin.click("#save-domain")
    expect(admin.locator("#flash")).to_be_visible()

    admin.goto(f"{base}/catalog/projects")
    admin.click("#new-project")
    admin.select_option("#domain_id", label="국민은행")
    admin.fill("#name", "차세대 뱅킹 전환")
    admin.click("#save-project")
    expect(admin.locator("#flash")).to_be_visible()
    expect(admin.locator("#project-documents-panel")).to_be_visible()
    voc = tmp_path / "voc-요구사항.pdf"
    voc.write_bytes(VOC_PDF)
    admin.select_option("#project-document-kind", "voc")
    admin.fill("#project-document-title", "고객 VoC 1차")
    admin.set_input_files("#project-document-file", str(voc))
    admin.click("#upload-project-document")
    expect(admin.locator("#project-document-list")).to_contain_text("고객 VoC 1차")
    admin.screenshot(path=str(artifacts / "catalog-01-project-voc.png"), full_page=True)
    with admin.expect_download() as download_info:
        admin.click(".project-document-download")
    downloaded = download_info.value.path()
    assert downloaded is not None and Path(downloaded).read_bytes() == VOC_PDF

    admin.goto(f"{base}/catalog/systems")
    admin.click("#new-system")
    admin.fill("#name", "인터넷뱅킹")
    admin.fill("#slug", "kb-internet-banking")
    admin.select_option("#domain_id", label="국민은행")
    admin.fill("#description", DESCRIPTION)
    admin.fill("#languages", "Java, TypeScript")
    admin.click("#save-system")
    expect(admin.locator("#flash")).to_be_visible()
    system_url = admin.url
    admin.screenshot(path=str(artifacts / "catalog-02-system.png"), full_page=True)

    for query in ("뱅킹", "뱅", "인터넷뱅킹 거래"):
        search(admin, base, query)
        expect(admin.locator("#search-hits")).to_contain_text("인터넷뱅킹")
    admin.screenshot(path=str(artifacts / "catalog-03-search.png"), full_page=True)

    viewer = new_page(browser)
    sign_in(viewer, base, "viewer.choi", VIEWER_PASSWORD)
    for query in ("뱅킹", "국민", "VoC"):
        search(viewer, base, query)
        expect(viewer.locator("#no-results")).to_be_visible()
    viewer.screenshot(path=str(artifacts / "catalog-04-viewer-search.png"), full_page=True)
    viewer.goto(f"{base}/catalog/systems")
    expect(viewer.locator("body")).not_to_contain_text("인터넷뱅킹")
    response = viewer.goto(system_url)
    assert response is not None and response.status == 404
