"""Administration pages: user accounts (forms, search, edit, reset) and the audit log with CSV export."""

from __future__ import annotations

import csv
import io

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import Account, MakeUser, get_user
from tests.web.conftest import post_form, sign_in


class TestAdminUsers:
    def test_create_user_keeps_input_on_errors_then_confirms(
        self, client: TestClient, app: FastAPI, make_user: MakeUser, make_domain: object
    ) -> None:
        sign_in(client, make_user(roles=("admin",)))
        assert "아직 영업처(도메인)가 없습니다" in client.get("/admin/users/new").text
        domain_id = make_domain("kb")  # type: ignore[operator]
        form = {
            "username": "kim.ops",
            "display_name": "김운영",
            "email": "kim@example.com",
            "roles": ["operations"],
            "preferred_locale": "ko",
            "domain_ids": [domain_id],
            "password": "short",
            "must_change_password": "on",
        }
        bad = post_form(client, "/admin/users/new", form, token_from="/admin/users/new")
        assert bad.status_code == 422
        assert "12자 이상 입력하세요." in bad.text and 'value="kim.ops"' in bad.text
        assert "김운영" in bad.text
        no_role = post_form(
            client,
            "/admin/users/new",
            {**form, "roles": [], "password": "Long-Enough-Pass-77"},
            token_from="/admin/users/new",
        )
        assert "역할을 하나 이상 선택하세요." in no_role.text
        good = post_form(
            client,
            "/admin/users/new",
            {**form, "password": "Long-Enough-Pass-77"},
            token_from="/admin/users/new",
        )
        assert good.status_code == 303
        edit = client.get(good.headers["location"])
        assert "사용자를 만들었습니다." in edit.text
        assert "사용자를 만들었습니다." not in client.get(good.headers["location"]).text
        duplicate = post_form(
            client,
            "/admin/users/new",
            {**form, "password": "Long-Enough-Pass-77"},
            token_from="/admin/users/new",
        )
        assert "이미 사용 중인 사용자 이름입니다." in duplicate.text

    def test_list_search_and_htmx_partial(self, client: TestClient, make_user: MakeUser) -> None:
        sign_in(client, make_user("boss", roles=("admin",)))
        make_user("alice.viewer", roles=("viewer",))
        page = client.get("/admin/users?q=alice")
        assert "alice.viewer</a>" in page.text and "boss</a>" not in page.text
        partial = client.get("/admin/users?q=boss", headers={"HX-Request": "true", "HX-Target": "user-table"})
        assert partial.text.lstrip().startswith('<div id="user-table">') and "<html" not in partial.text

    def test_edit_and_reset_password(self, client: TestClient, app: FastAPI, make_user: MakeUser) -> None:
        admin = make_user("boss", roles=("admin",))
        other = make_user("lee", roles=("viewer",))
        sign_in(client, admin)
        path = f"/admin/users/{other.id}"
        saved = post_form(
            client,
            path,
            {
                "display_name": "이뷰어",
                "email": "",
                "roles": ["viewer", "executive"],
                "preferred_locale": "en",
                "is_active": "on",
            },
            token_from=path,
        )
        assert saved.status_code == 303
        user = get_user(app, other.id)
        assert user.display_name == "이뷰어" and user.preferred_locale == "en"
        self_off = post_form(
            client,
            f"/admin/users/{admin.id}",
            {"display_name": "boss", "roles": ["admin"], "preferred_locale": "ko"},
            token_from=path,
        )
        assert self_off.status_code == 422
        assert "마지막 활성 관리자입니다." in self_off.text
        make_user("second", roles=("admin",))
        self_off = post_form(
            client,
            f"/admin/users/{admin.id}",
            {"display_name": "boss", "roles": ["admin"], "preferred_locale": "ko"},
            token_from=path,
        )
        assert "자신의 계정은 비활성화할 수 없습니다." in self_off.text
        assert get_user(app, admin.id).is_active
        reset = post_form(client, f"{path}/password", {"new_password": "Fresh-Temporary-55"}, token_from=path)
        assert reset.status_code == 303
        assert get_user(app, other.id).must_change_password


class TestAuditPages:
    def test_audit_page_filters_and_csv_streams(self, client: TestClient, make_user: MakeUser) -> None:
        admin: Account = make_user(roles=("admin",))
        sign_in(client, admin)
        page = client.get("/admin/audit?action=auth.*")
        assert page.status_code == 200 and "auth.login" in page.text and "user.create" not in page.text
        bad = client.get("/admin/audit?since=yesterday")
        assert bad.status_code == 422 and "형식으로 시각을 입력하세요" in bad.text
        with client.stream("GET", "/admin/audit/export.csv") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/csv")
            assert "attachment" in response.headers["content-disposition"]
            body = b"".join(response.iter_bytes()).decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(body)))
        assert {"user.create", "auth.login"} <= {r["action"] for r in rows}
        filtered = client.get("/admin/audit/export.csv?action=user.create").content.decode("utf-8-sig")
        assert {r["action"] for r in csv.DictReader(io.StringIO(filtered))} == {"user.create"}


class TestDisplayTimeZone:
    def test_audit_times_show_and_filter_in_the_configured_zone(
        self, client: TestClient, app: FastAPI, make_user: MakeUser
    ) -> None:
        from datetime import UTC, datetime

        from sqlalchemy import update

        from timbel.audit.models import AuditEntry
        from timbel.core.db import session_scope

        admin = make_user("tz.admin", roles=("admin",))
        sign_in(client, admin)
        with session_scope(app.state.session_factory) as session:
            session.execute(update(AuditEntry).values(created_at=datetime(2026, 3, 1, 0, 30, tzinfo=UTC)))
        page = client.get("/admin/audit").text
        assert "2026-03-01 09:30 KST" in page  # 00:30 UTC is 09:30 in Seoul
        assert "시작 (KST)" in page
        # 09:00 typed in the form means 09:00 KST = 00:00 UTC, so the 00:30 UTC entries match.
        matched = client.get("/admin/audit", params={"since": "2026-03-01 09:00", "actor": "tz.admin"}).text
        assert "2026-03-01 09:30 KST" in matched
        later = client.get("/admin/audit", params={"since": "2026-03-01 09:31", "actor": "tz.admin"}).text
        assert "2026-03-01 09:30 KST" not in later
