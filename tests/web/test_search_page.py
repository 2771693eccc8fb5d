"""The catalog search page: Korean box, facet filters with counts, highlighted hits, HTMX updates, scoping."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from tests.catalog.search_support import BANKING, add, new_domain, new_system
from tests.conftest import MakeUser
from tests.web.conftest import LiveServer, sign_in
from timbel.catalog.models import Component, Document, Project

HX = {"HX-Request": "true", "HX-Target": "search-results"}


def _catalog(app: FastAPI) -> dict[str, str]:
    kb = new_domain(app, "kb", name="국민은행")
    samsung = new_domain(app, "samsung", name="삼성전자")
    system = new_system(app, kb, "kb-ibank", name="인터넷뱅킹", description=BANKING, stage="production")
    new_system(
        app, samsung, "ss-bank", name="사내 뱅킹 포털", description="임직원 <급여> 뱅킹", stage="staging"
    )
    add(
        app,
        Component(domain_id=kb, system_id=system, name="뱅킹 인증 모듈", language="Java"),
        Document(domain_id=kb, system_id=system, title="이체 매뉴얼", content="인터넷뱅킹 이체 한도 안내"),
        Project(domain_id=kb, name="모바일 뱅킹 개편"),
    )
    return {"kb": kb, "samsung": samsung, "system": system}


def _hits(html: str) -> list[str]:
    return re.findall(r'class="list-group-item list-group-item-action search-hit" href="([^"]+)"', html)


class TestSearchPage:
    def test_empty_page_offers_a_korean_search_box(self, client: TestClient, make_user: MakeUser) -> None:
        sign_in(client, make_user(roles=("viewer",)))
        page = client.get("/catalog/search")
        assert page.status_code == 200
        assert 'placeholder="시스템, 컴포넌트, 문서, 프로젝트 검색… 예: 뱅킹, 결제 API"' in page.text
        assert "한글 한두 글자로도 찾을 수 있습니다" in page.text
        assert 'hx-target="#search-results"' in page.text

    def test_results_link_to_entities_with_highlights_and_facets(
        self, app: FastAPI, client: TestClient, make_user: MakeUser
    ) -> None:
        ids = _catalog(app)
        sign_in(client, make_user(roles=("admin",)))
        page = client.get("/catalog/search", params={"q": "뱅킹"}).text
        hits = _hits(page)
        assert len(hits) == 5 and "검색 결과 5건" in page
        assert hits[0].startswith("/catalog/") and f"/catalog/systems/{ids['system']}" in hits
        assert any(h.startswith("/catalog/components/") for h in hits)
        assert any(h.startswith("/catalog/documents/") for h in hits)
        assert any(h.startswith("/catalog/projects/") for h in hits)
        assert "<mark>뱅킹</mark>" in page
        assert "임직원 &lt;급여&gt; <mark>뱅킹</mark>" in page  # escaped, then highlighted
        assert ">시스템 (2)</option>" in page and ">코드 컴포넌트 (1)</option>" in page
        assert ">국민은행 (4)</option>" in page and ">삼성전자 (1)</option>" in page
        assert ">운영 환경 (1)</option>" in page and ">스테이징 (1)</option>" in page
        one_char = client.get(
            "/catalog/search", params={"q": "뱅", "kind": "system", "stage": "production"}
        ).text
        assert _hits(one_char) == [f"/catalog/systems/{ids['system']}"]
        assert (
            '<option value="system" selected>시스템 (1)</option>' in one_char
        )  # counted with the stage filter
        by_domain = client.get("/catalog/search", params={"q": "뱅킹", "domain": "samsung"}).text
        assert (
            len(_hits(by_domain)) == 1
            and '<option value="samsung" selected>삼성전자 (1)</option>' in by_domain
        )

    def test_htmx_updates_results_and_facets_only(
        self, app: FastAPI, client: TestClient, make_user: MakeUser
    ) -> None:
        _catalog(app)
        sign_in(client, make_user(roles=("admin",)))
        partial = client.get("/catalog/search", params={"q": "이체"}, headers=HX).text
        assert "<html" not in partial and 'id="search-q"' not in partial
        assert '<div id="search-results">' in partial
        assert 'id="search-filters" hx-swap-oob="true"' in partial
        assert len(_hits(partial)) == 1 and "<mark>이체</mark> 매뉴얼" in partial

    def test_paging_keeps_the_query_and_filters(
        self, app: FastAPI, client: TestClient, make_user: MakeUser
    ) -> None:
        kb = new_domain(app, "kb", name="국민은행")
        add(app, *(Project(domain_id=kb, name=f"정산 배치 {n:02d}") for n in range(25)))
        sign_in(client, make_user(roles=("admin",)))
        first = client.get("/catalog/search", params={"q": "정산", "kind": "project"}).text
        assert len(_hits(first)) == 20 and "1 / 2" in first
        assert "/catalog/search?q=%EC%A0%95%EC%82%B0&amp;kind=project&amp;page=2" in first
        second = client.get("/catalog/search", params={"q": "정산", "kind": "project", "page": 2}).text
        assert len(_hits(second)) == 5

    def test_bad_queries_explain_themselves(self, client: TestClient, make_user: MakeUser) -> None:
        sign_in(client, make_user(roles=("viewer",)))
        wordy = client.get("/catalog/search", params={"q": " ".join("abcdefghijk")})
        assert wordy.status_code == 200 and "검색어는 10개 단어까지 입력할 수 있습니다." in wordy.text
        long = client.get("/catalog/search", params={"q": "가" * 201}).text
        assert "검색어가 너무 깁니다. 200자 이내로 입력하세요." in long
        nothing = client.get("/catalog/search", params={"q": "없는말"}).text
        assert "검색 결과가 없습니다." in nothing


class TestSearchPageScoping:
    def test_viewer_of_another_domain_finds_none_of_it(
        self, app: FastAPI, client: TestClient, make_user: MakeUser
    ) -> None:
        ids = _catalog(app)
        sign_in(client, make_user(roles=("viewer",), domain_ids=(ids["samsung"],)))
        page = client.get("/catalog/search", params={"q": "뱅킹"}).text
        assert len(_hits(page)) == 1 and "사내 <mark>뱅킹</mark> 포털" in page
        assert "국민은행" not in page and "인터넷뱅킹" not in page
        assert ">시스템 (1)</option>" in page and ">코드 컴포넌트 (0)</option>" in page
        hidden = client.get("/catalog/search", params={"q": "뱅킹", "domain": "kb"}).text
        assert _hits(hidden) == [] and "국민은행" not in hidden

    def test_signed_out_visitors_are_sent_to_sign_in(self, client: TestClient) -> None:
        response = client.get("/catalog/search", params={"q": "뱅킹"}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


@pytest.mark.browser
def test_live_search_in_the_browser(
    app: FastAPI, browser: Browser, live_server: LiveServer, make_user: MakeUser, artifacts: Path
) -> None:
    """Typing updates hits and facet counts in place; a facet choice narrows and is kept in the URL."""
    _catalog(app)
    make_user("search.kim", roles=("admin",), password="Amber-Compass-2046")
    page = browser.new_context(locale="ko-KR", viewport={"width": 1360, "height": 900}).new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login?next=/catalog/search")
    page.fill("#username", "search.kim")
    page.fill("#password", "Amber-Compass-2046")
    page.click("button[type=submit]")
    expect(page.locator("#search-hint")).to_be_visible()
    page.locator("#search-q").press_sequentially("뱅", delay=30)
    expect(page.locator(".search-hit")).to_have_count(5)
    expect(page.locator("#search-kind option[value=system]")).to_have_text("시스템 (2)")
    expect(page.locator(".search-hit mark").first).to_have_text("뱅")
    page.select_option("#search-kind", "system")
    expect(page.locator(".search-hit")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"kind=system"))
    page.select_option("#search-stage", "staging")
    expect(page.locator(".search-hit")).to_have_count(1)
    expect(page.locator("#search-hits")).to_contain_text("사내 뱅킹 포털")
    page.screenshot(path=str(artifacts / "search-live.png"), full_page=True)
    page.locator(".search-hit").first.click()
    expect(page).to_have_url(re.compile(r"/catalog/systems/"))
