"""Page routes through the real app: sign-in, CSRF, redirects, permissions, language, forms, CSV."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import MakeUser, get_user
from tests.web.conftest import csrf_of, page_token, post_form, sign_in
from timbel.auth.deps import CSRF_COOKIE, SESSION_COOKIE
from timbel.auth.models import AuthSession
from timbel.core.db import session_scope


def set_cookie_header(response: httpx.Response, name: str) -> str:
    """Return the Set-Cookie header of one cookie."""
    headers = response.headers.get_list("set-cookie")
    found = [h for h in headers if h.startswith(name + "=")]
    assert found, f"no Set-Cookie for {name}: {headers}"
    return found[-1]


class TestSignIn:
    def test_login_sets_a_hardened_session_cookie_and_follows_next(
        self, client: TestClient, app: FastAPI, make_user: MakeUser
    ) -> None:
        account = make_user(roles=("admin",))
        login_page = client.get("/login")
        assert login_page.status_code == 200
        assert "로그인" in login_page.text
        csrf_cookie = set_cookie_header(login_page, CSRF_COOKIE).lower()
        assert "httponly" in csrf_cookie and "samesite=lax" in csrf_cookie and "path=/" in csrf_cookie
        response = client.post(
            "/login",
            data={
                "username": account.username,
                "password": account.password,
                "next": "/admin/users",
                "csrf_token": csrf_of(login_page.text),
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/users"
        cookie = set_cookie_header(response, SESSION_COOKIE).lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
        assert f"max-age={app.state.settings.auth.web_session_absolute_seconds}" in cookie
        assert "secure" not in cookie
        assert "timbel_locale=ko" in response.headers.get("set-cookie", "")
        home = client.get("/")
        assert home.status_code == 200 and account.username in home.text

    def test_cookies_are_secure_when_configured(self, app: FastAPI, make_user: MakeUser) -> None:
        app.state.settings.http.secure_cookies = True
        account = make_user()
        with TestClient(app, base_url="https://testserver") as client:
            token = page_token(client)
            response = client.post(
                "/login",
                data={"username": account.username, "password": account.password, "csrf_token": token},
                follow_redirects=False,
            )
        assert "; secure" in set_cookie_header(response, SESSION_COOKIE).lower()
        assert "; secure" in set_cookie_header(response, CSRF_COOKIE).lower()

    def test_failed_login_is_generic_and_keeps_the_username(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        account = make_user()
        token = page_token(client)
        wrong = client.post(
            "/login", data={"username": account.username, "password": "nope", "csrf_token": token}
        )
        unknown = client.post("/login", data={"username": "ghost", "password": "nope", "csrf_token": token})
        assert wrong.status_code == unknown.status_code == 401
        message = "사용자 이름 또는 비밀번호가 올바르지 않습니다."
        assert message in wrong.text and message in unknown.text
        assert f'value="{account.username}"' in wrong.text
        assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")

    def test_throttled_login_says_try_again_later(self, client: TestClient, make_user: MakeUser) -> None:
        account = make_user()
        token = page_token(client)
        statuses = [
            client.post("/login", data={"username": account.username, "password": "bad", "csrf_token": token})
            for _ in range(6)
        ]
        assert statuses[-1].status_code == 429
        assert "잠시 후 다시 시도하세요" in statuses[-1].text
        assert int(statuses[-1].headers["retry-after"]) > 0

    def test_logout_ends_the_session(self, client: TestClient, app: FastAPI, make_user: MakeUser) -> None:
        account = make_user()
        sign_in(client, account)
        response = post_form(client, "/logout", {})
        assert response.status_code == 303 and response.headers["location"] == "/login"
        assert client.get("/", follow_redirects=False).status_code == 303
        with session_scope(app.state.session_factory) as session:
            sessions = session.query(AuthSession).filter_by(user_id=account.id).all()
            assert sessions and all(s.revoked_at is not None for s in sessions)
        assert "로그아웃했습니다." in client.get("/login").text

    def test_signing_in_again_ends_the_previous_session(
        self, client: TestClient, app: FastAPI, make_user: MakeUser
    ) -> None:
        account = make_user()
        sign_in(client, account)
        sign_in(client, make_user())
        with session_scope(app.state.session_factory) as session:
            first = session.query(AuthSession).filter_by(user_id=account.id).one()
            assert first.revoked_at is not None and first.revoke_reason == "replaced"


class TestCsrf:
    def test_login_without_or_with_a_wrong_token_is_refused(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        account = make_user()
        page_token(client)
        data = {"username": account.username, "password": account.password}
        missing = client.post("/login", data=data, follow_redirects=False)
        wrong = client.post("/login", data={**data, "csrf_token": "0" * 64}, follow_redirects=False)
        for response in (missing, wrong):
            assert response.status_code == 403
            assert response.headers["content-type"].startswith("text/html")
            assert "양식이 만료되었거나" in response.text
            assert SESSION_COOKIE not in response.headers.get("set-cookie", "")

    def test_mutating_form_without_or_with_a_wrong_token_is_refused(
        self, client: TestClient, app: FastAPI, make_user: MakeUser
    ) -> None:
        account = make_user()
        sign_in(client, account)
        data = {"display_name": "Changed", "email": "", "preferred_locale": "ko"}
        missing = client.post("/profile", data=data, follow_redirects=False)
        wrong = client.post("/profile", data={**data, "csrf_token": "not-it"}, follow_redirects=False)
        assert missing.status_code == wrong.status_code == 403
        assert "양식이 만료되었거나" in wrong.text
        assert get_user(app, account.id).display_name != "Changed"
        ok = post_form(client, "/profile", data, token_from="/profile")
        assert ok.status_code == 303
        assert get_user(app, account.id).display_name == "Changed"

    def test_htmx_requests_may_send_the_token_as_a_header(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        sign_in(client, make_user())
        token = page_token(client, "/profile")
        response = client.post(
            "/profile",
            data={"display_name": "Via header", "preferred_locale": "ko"},
            headers={"X-CSRF-Token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in client.get("/profile").text


class TestRedirects:
    def test_anonymous_page_redirects_to_login_with_next(self, client: TestClient) -> None:
        response = client.get("/admin/users?q=kim", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/admin/users%3Fq%3Dkim"

    def test_anonymous_htmx_request_gets_401_and_hx_redirect(self, client: TestClient) -> None:
        response = client.get(
            "/admin/users",
            headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/admin/users?q=a"},
        )
        assert response.status_code == 401
        assert response.headers["hx-redirect"].startswith("/login")

    @pytest.mark.parametrize(
        "target",
        [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "http:/evil",
            " //evil",
            "javascript:x",
        ],
    )
    def test_next_never_leaves_the_site(self, client: TestClient, make_user: MakeUser, target: str) -> None:
        assert sign_in(client, make_user(), next_url=target) == "/"
        assert client.get(f"/login?next={target}", follow_redirects=False).headers["location"] == "/"
        response = post_form(client, "/locale", {"locale": "en", "next": target})
        assert response.headers["location"] == "/"

    def test_machine_paths_keep_problem_json(self, client: TestClient) -> None:
        for path in ("/api/v1/users/me", "/api/v1/nothing-here"):
            assert client.get(path).headers["content-type"].startswith("application/problem+json")
        page = client.get("/no-such-page")
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert "이 주소에는 아무것도 없습니다" in page.text


class TestPasswordChange:
    def test_must_change_password_is_forced_then_lifted(
        self, client: TestClient, app: FastAPI, make_user: MakeUser
    ) -> None:
        account = make_user(must_change_password=True)
        assert sign_in(client, account, next_url="/admin/users") == "/profile/password"
        assert client.get("/", follow_redirects=False).headers["location"] == "/profile/password"
        assert client.get("/profile", follow_redirects=False).headers["location"] == "/profile/password"
        page = client.get("/profile/password")
        assert page.status_code == 200 and "새 비밀번호를 정하세요" in page.text
        mismatch = post_form(
            client,
            "/profile/password",
            {
                "current_password": account.password,
                "new_password": "Quiet-Harbour-9071",
                "confirm_password": "x",
            },
            token_from="/profile/password",
        )
        assert mismatch.status_code == 422
        assert "새 비밀번호가 서로 일치하지 않습니다." in mismatch.text
        done = post_form(
            client,
            "/profile/password",
            {
                "current_password": account.password,
                "new_password": "Quiet-Harbour-9071",
                "confirm_password": "Quiet-Harbour-9071",
            },
            token_from="/profile/password",
        )
        assert done.status_code == 303 and done.headers["location"] == "/"
        assert client.get("/").status_code == 200
        assert not get_user(app, account.id).must_change_password

    def test_policy_errors_are_shown_in_the_users_language(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        account = make_user()
        sign_in(client, account)
        response = post_form(
            client,
            "/profile/password",
            {"current_password": account.password, "new_password": "short", "confirm_password": "short"},
            token_from="/profile/password",
        )
        assert response.status_code == 422
        assert "12자 이상 입력하세요." in response.text


class TestPermissions:
    def test_operations_user_gets_the_403_page(self, client: TestClient, make_user: MakeUser) -> None:
        sign_in(client, make_user(roles=("operations",)))
        for path in ("/admin/users", "/admin/audit", "/admin/audit/export.csv"):
            response = client.get(path)
            assert response.status_code == 403
            assert "이 페이지를 볼 권한이 없습니다" in response.text
        assert "admin:users" in client.get("/admin/users").text
        home = client.get("/")
        assert "/admin/users" not in home.text and "시스템관리" not in home.text

    def test_unknown_user_is_a_404_page(self, client: TestClient, make_user: MakeUser) -> None:
        sign_in(client, make_user(roles=("admin",)))
        response = client.get("/admin/users/00000000-0000-4000-8000-000000000000")
        assert response.status_code == 404 and "error-404" in response.text


class TestLocale:
    def test_switching_language_changes_the_page_and_the_preference(
        self, client: TestClient, app: FastAPI, make_user: MakeUser
    ) -> None:
        account = make_user()
        sign_in(client, account)
        assert "운영 대시보드" in client.get("/").text
        response = post_form(client, "/locale", {"locale": "en", "next": "/profile"})
        assert response.headers["location"] == "/profile"
        home = client.get("/").text
        assert "Operations dashboard" in home and "운영 대시보드" not in home
        assert '<html lang="en">' in home
        assert get_user(app, account.id).preferred_locale == "en"

    def test_anonymous_switch_uses_a_cookie(self, client: TestClient) -> None:
        assert "Timbel 로그인" in client.get("/login").text
        response = post_form(client, "/locale", {"locale": "en", "next": "/login"}, token_from="/login")
        assert response.status_code == 303
        assert "Sign in to Timbel" in client.get("/login").text

    def test_unsupported_locale_is_ignored(self, client: TestClient) -> None:
        post_form(client, "/locale", {"locale": "xx", "next": "/login"}, token_from="/login")
        assert "Timbel 로그인" in client.get("/login").text


class TestTokens:
    def test_token_is_shown_once_and_can_be_revoked(self, client: TestClient, make_user: MakeUser) -> None:
        sign_in(client, make_user(roles=("operations",)))
        created = post_form(
            client,
            "/profile/tokens",
            {"name": "ci", "role_ceiling": "viewer", "expires_in_days": "30"},
            token_from="/profile",
        )
        assert created.status_code == 303
        first = client.get("/profile").text
        match = re.search(r'id="new-token-value" value="(tb[^"]+)"|value="([^"]+)" x-ref="token"', first)
        assert "new-token" in first and match is not None
        second = client.get("/profile").text
        assert 'id="new-token"' not in second
        too_high = post_form(
            client, "/profile/tokens", {"name": "x", "role_ceiling": "admin"}, token_from="/profile"
        )
        assert "최대 역할이 내 권한을 넘습니다." in too_high.text
        token_id = re.search(r'action="/profile/tokens/([^/]+)/revoke"', second)
        assert token_id is not None
        revoked = post_form(client, f"/profile/tokens/{token_id.group(1)}/revoke", {}, token_from="/profile")
        assert revoked.status_code == 303
        assert "폐기됨" in client.get("/profile").text


def test_a_crash_on_a_page_shows_the_error_page_with_the_request_id(app: FastAPI) -> None:
    @app.get("/crash-page", dependencies=[])
    async def crash_page() -> None:
        raise RuntimeError("internal detail /srv/x.py")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/crash-page", headers={"Accept": "text/html"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-request-id"] in response.text
    assert "internal detail" not in response.text
