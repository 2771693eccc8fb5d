"""Customer domain pages: create and edit in the browser forms, search, visibility, Korean labels."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import MakeUser
from tests.web.conftest import post_form, sign_in

FORM = {
    "code": "kb-bank",
    "name": "국민은행",
    "industry": "금융",
    "region": "서울",
    "priority": "high",
    "description": "차세대 인터넷뱅킹 거래 처리",
    "contacts": "김민수 | IT 부장 | minsu@example.com | 02-1234-5678\n이영희 | PM",
}


class TestDomainPages:
    def test_create_keeps_input_on_errors_then_saves_and_edits(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        sign_in(client, make_user(roles=("operations",)))
        page = client.get("/catalog/domains").text
        assert "아직 볼 수 있는 영업처가 없습니다" in page
        assert "지식자원 카탈로그" in page
        bad = post_form(
            client, "/catalog/domains/new", {**FORM, "code": "Bad Code"}, token_from="/catalog/domains/new"
        )
        assert bad.status_code == 422
        assert 'value="국민은행"' in bad.text  # input kept
        assert "is-invalid" in bad.text
        created = post_form(client, "/catalog/domains/new", FORM, token_from="/catalog/domains/new")
        assert created.status_code == 303
        detail_url = created.headers["location"]
        detail = client.get(detail_url).text
        assert "영업처를 만들었습니다" in detail
        assert "김민수 | IT 부장 | minsu@example.com | 02-1234-5678" in detail
        assert "이영희 | PM" in detail
        saved = post_form(client, detail_url, {**FORM, "priority": "critical"}, token_from=detail_url)
        assert saved.status_code == 303
        assert '<option value="critical" selected>긴급</option>' in client.get(detail_url).text

    def test_duplicate_code_is_reported_on_the_field(self, client: TestClient, make_user: MakeUser) -> None:
        sign_in(client, make_user(roles=("admin",)))
        post_form(client, "/catalog/domains/new", FORM, token_from="/catalog/domains/new")
        again = post_form(client, "/catalog/domains/new", FORM, token_from="/catalog/domains/new")
        assert again.status_code == 422
        assert "is-invalid" in again.text

    def test_search_by_korean_substring_and_visibility(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str]
    ) -> None:
        sign_in(client, make_user(roles=("admin",)))
        post_form(client, "/catalog/domains/new", FORM, token_from="/catalog/domains/new")
        found = client.get("/catalog/domains", params={"q": "뱅킹"}).text
        assert "국민은행" in found
        assert (
            "검색 조건에 맞는 영업처가 없습니다" in client.get("/catalog/domains", params={"q": "삼성"}).text
        )
        client.cookies.clear()
        sign_in(client, make_user(roles=("viewer",)))
        listing = client.get("/catalog/domains").text
        assert "국민은행" not in listing
        assert "new-domain" not in listing  # viewers cannot create
        other = make_domain("other")
        assert client.get(f"/catalog/domains/{other}").status_code == 404
