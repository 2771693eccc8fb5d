"""The real UI in headless Chromium: an admin creates an operations user, who is forced to change the
password, is refused the admin pages, switches to English; the admin then reads the audit log."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import MakeUser
from tests.web.conftest import LiveServer

pytestmark = pytest.mark.browser

ADMIN_PASSWORD = "Amber-Compass-2046"
OPS_INITIAL = "Granite-Meadow-3317"
OPS_NEW = "Silver-Orchard-5582"


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]:has-text('로그인'), button[type=submit]:has-text('Sign in')")


def test_admin_creates_operations_user_who_is_guided_and_audited(
    browser: Browser, live_server: LiveServer, make_user: MakeUser, artifacts: Path
) -> None:
    base = live_server.url
    make_user("admin.kim", roles=("admin",), password=ADMIN_PASSWORD, display_name="김관리")

    admin = browser.new_context(locale="ko-KR", viewport={"width": 1360, "height": 860}).new_page()
    admin.set_default_timeout(10_000)
    admin.goto(base + "/")
    expect(admin).to_have_url(f"{base}/login?next=/")
    expect(admin.locator("h1")).to_have_text("Timbel 로그인")
    admin.screenshot(path=str(artifacts / "01-login.png"))
    sign_in(admin, base, "admin.kim", ADMIN_PASSWORD)
    expect(admin.locator("h1.page-title")).to_have_text("운영 대시보드")
    expect(admin.locator("#platform-status")).to_contain_text("정상")
    expect(admin.locator("#me-roles")).to_contain_text("관리자")
    admin.screenshot(path=str(artifacts / "02-home-admin.png"), full_page=True)

    admin.click("text=사용자 및 역할")
    expect(admin.locator("#user-table")).to_contain_text("admin.kim")
    admin.click("#new-user")
    expect(admin.locator("#no-domains")).to_be_visible()
    admin.fill("#username", "park.ops")
    admin.fill("#display_name", "박운영")
    admin.fill("#email", "park.ops@example.com")
    admin.fill("#password", OPS_INITIAL)
    admin.check("#role-operations")
    expect(admin.locator("#must_change_password")).to_be_checked()
    admin.screenshot(path=str(artifacts / "03-new-user-form.png"), full_page=True)
    admin.click("#save-user")
    expect(admin.locator("#flash")).to_have_text("사용자를 만들었습니다.")
    admin.click("text=사용자 및 역할")
    admin.fill("#user-search", "park")
    expect(admin.locator("#user-table tbody tr")).to_have_count(1)
    expect(admin.locator("#user-table")).to_contain_text("비밀번호 변경 필요")
    admin.screenshot(path=str(artifacts / "04-users-search.png"), full_page=True)

    ops = browser.new_context(locale="ko-KR", viewport={"width": 1360, "height": 860}).new_page()
    ops.set_default_timeout(10_000)
    sign_in(ops, base, "park.ops", OPS_INITIAL)
    expect(ops).to_have_url(f"{base}/profile/password")
    expect(ops.locator("#password-required")).to_be_visible()
    ops.goto(base + "/")
    expect(ops).to_have_url(f"{base}/profile/password")
    ops.fill("#current_password", OPS_INITIAL)
    ops.fill("#new_password", OPS_NEW)
    ops.fill("#confirm_password", "Mismatched-Value-1")
    ops.click("button:has-text('비밀번호 변경')")
    expect(ops.locator(".invalid-feedback")).to_have_text("새 비밀번호가 서로 일치하지 않습니다.")
    ops.screenshot(path=str(artifacts / "05-forced-password-change.png"), full_page=True)
    ops.fill("#current_password", OPS_INITIAL)
    ops.fill("#new_password", OPS_NEW)
    ops.fill("#confirm_password", OPS_NEW)
    ops.click("button:has-text('비밀번호 변경')")
    expect(ops).to_have_url(f"{base}/")
    expect(ops.locator("#flash")).to_contain_text("비밀번호를 변경했습니다")
    expect(ops.locator("#me-roles")).to_have_text("운영자")
    expect(ops.locator("aside")).not_to_contain_text("시스템관리")
    ops.screenshot(path=str(artifacts / "06-home-operations.png"), full_page=True)

    response = ops.goto(base + "/admin/users")
    assert response is not None and response.status == 403
    expect(ops.locator("#error-403")).to_contain_text("이 페이지를 볼 권한이 없습니다")
    expect(ops.locator("#error-403")).to_contain_text("admin:users")
    ops.screenshot(path=str(artifacts / "07-denied.png"), full_page=True)

    ops.click("#user-menu")
    ops.click("button[data-locale=en]")
    expect(ops.locator("#error-403")).to_contain_text("You do not have permission to view this page")
    ops.click("text=Go to the home page")
    expect(ops.locator("h1.page-title")).to_have_text("Operations dashboard")
    expect(ops.locator("html")).to_have_attribute("lang", "en")
    ops.screenshot(path=str(artifacts / "08-home-english.png"), full_page=True)
    ops.click("#user-menu")
    ops.click("text=Profile and API tokens")
    ops.fill("#token-name", "ci-deploy")
    ops.click("button:has-text('Create token')")
    expect(ops.locator("#flash")).to_contain_text("it will not be shown again")
    expect(ops.locator("#new-token-value")).to_have_value(re.compile(r"^\S{20,}$"))
    ops.screenshot(path=str(artifacts / "09-profile-token.png"), full_page=True)
    ops.once("dialog", lambda dialog: dialog.accept())
    ops.click("button:has-text('Revoke')")
    expect(ops.locator("#token-table")).to_contain_text("Revoked")
    expect(ops.locator("#new-token")).to_have_count(0)
    ops.click("#user-menu")
    ops.click("#sign-out")
    expect(ops.locator("#flash")).to_have_text("You have signed out.")
    sign_in(ops, base, "park.ops", OPS_NEW)
    expect(ops.locator("h1.page-title")).to_have_text("Operations dashboard")

    admin.click("text=감사 로그")
    table = admin.locator("#audit-table")
    for action in ("user.create", "auth.login", "user.password_change", "token.create", "token.revoke"):
        expect(table).to_contain_text(action)
    admin.fill("#actor", "park.ops")
    admin.click("button:has-text('필터 적용')")
    expect(admin.locator("#audit-table tbody tr td:nth-child(3)", has_text="auth.login")).to_have_count(2)
    expect(table).to_contain_text("user.password_change")
    admin.screenshot(path=str(artifacts / "10-audit-log.png"), full_page=True)
    with admin.expect_download() as download_info:
        admin.click("#export-csv")
    exported = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {r["action"] for r in rows} >= {"auth.login", "user.password_change"}
    assert {r["actor_name"] for r in rows} == {"park.ops"}
    creates = [
        r
        for r in csv.DictReader(io.StringIO(admin.request.get(f"{base}/admin/audit/export.csv").text()))
        if r["action"] == "user.create"
    ]
    assert [r["actor_name"] for r in creates if "park.ops" in r["summary"]] == ["admin.kim"]

    # An HTMX request after the session is gone sends the browser to the sign-in page.
    admin.click("text=사용자 및 역할")
    admin.context.clear_cookies(name="timbel_session")
    admin.fill("#user-search", "kim")
    expect(admin).to_have_url(re.compile(r"/login\?next=/admin/users"))
    expect(admin.locator("h1")).to_have_text("Timbel 로그인")
