"""Unified catalog search: Korean 1/2/3+-character substrings, English, literal input, filters and
facets, ranking, domain scoping and query validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.catalog.search_support import (
    BANKING,
    Search,
    add,
    new_component,
    new_domain,
    new_system,
    searcher,
    titles,
)
from tests.conftest import MakeUser, login
from timbel.catalog.models import DesignAsset, Project


@pytest.fixture
def search(client: TestClient, make_user: MakeUser) -> Search:
    """The search API, called as an administrator unless other headers are given."""
    return searcher(client, login(client, make_user(roles=("admin",))))


class TestKoreanAndEnglishMatching:
    def test_one_two_and_longer_korean_substrings(self, app: FastAPI, search: Search) -> None:
        kb = new_domain(app, "kb", name="국민은행")
        new_system(app, kb, "ibank", name="인터넷뱅킹", description=BANKING)
        new_system(app, kb, "stock", name="증권 거래소", description="주식 주문 처리")
        for q in ("뱅", "뱅킹", "인터넷", "인터넷뱅킹", "뱅킹 거래", "처리 시스템"):
            assert titles(search(q)) == ["인터넷뱅킹"], q
        assert sorted(titles(search("거래"))) == ["인터넷뱅킹", "증권 거래소"]
        assert titles(search("처리")) != []
        assert search("킹거")["total"] == 0  # "뱅킹 거래" has a space between 킹 and 거
        assert search("뱅킹 주식")["total"] == 0  # every word must match
        assert search("은행")["items"][0]["kind"] == "domain"  # 국민은행 by a two-character word

    def test_mixed_korean_and_english_is_case_insensitive(self, app: FastAPI, search: Search) -> None:
        kb = new_domain(app, "kb")
        system = new_system(app, kb, "pay", name="Payment 게이트웨이", description="결제API 서버, MyDB 사용")
        new_component(app, system, kb, "TokenVault", description="카드 토큰 저장", language="Kotlin")
        assert titles(search("PAYMENT 게이트")) == ["Payment 게이트웨이"]
        assert titles(search("pay 웨이")) == ["Payment 게이트웨이"]
        assert titles(search("제a")) == ["Payment 게이트웨이"]  # two characters across scripts
        assert titles(search("db")) == ["Payment 게이트웨이"]
        assert titles(search("TOKENVAULT")) == ["TokenVault"]
        assert titles(search("kotlin 토큰")) == ["TokenVault"]
        assert titles(search("V")) == ["TokenVault"]  # one Latin character

    def test_wildcards_quotes_and_fts_syntax_are_literal(self, app: FastAPI, search: Search) -> None:
        kb = new_domain(app, "kb", name="Bank")
        add(
            app,
            Project(domain_id=kb, name="이행률 100% 달성", description="plain"),
            Project(domain_id=kb, name="snake_case 규칙", description="naming"),
            Project(domain_id=kb, name='따옴표 "quoted" 이름', description="x"),
            Project(domain_id=kb, name="NEAR AND OR NOT", description="operators"),
            Project(domain_id=kb, name="평범한 프로젝트", description="nothing special"),
        )
        assert titles(search("%")) == ["이행률 100% 달성"]
        assert titles(search("100%")) == ["이행률 100% 달성"]
        assert titles(search("_")) == ["snake_case 규칙"]
        assert titles(search("e_c")) == ["snake_case 규칙"]
        assert titles(search('"')) == ['따옴표 "quoted" 이름']
        assert titles(search('"quoted"')) == ['따옴표 "quoted" 이름']
        for q in ('x" OR "y', "NEAR(a b)", "* OR *", "title:x", "a -b", "^x", "{title}: x", "\\", "'"):
            assert search(q)["total"] == 0, q
        assert titles(search("near and")) == ["NEAR AND OR NOT"]
        assert titles(search("OR")) == ["NEAR AND OR NOT"]

    def test_snippets_are_escaped_and_highlighted(self, app: FastAPI, search: Search) -> None:
        kb = new_domain(app, "kb")
        long_text = "앞부분 " * 40 + "<script>alert(1)</script> 인터넷뱅킹 핵심 " + "뒷부분 " * 40
        new_system(app, kb, "ibank", name="뱅킹 포털", description=long_text)
        item = search("뱅킹")["items"][0]
        assert "<mark>뱅킹</mark>" in item["snippet_html"]
        assert "&lt;script&gt;" in item["snippet_html"] and "<script>" not in item["snippet_html"]
        assert "<script>alert(1)</script> 인터넷뱅킹" in item["snippet"]
        assert item["snippet"].startswith("…") and item["snippet"].endswith("…")
        assert item["title_html"] == "<mark>뱅킹</mark> 포털"
        assert item["url"] == f"/catalog/systems/{item['id']}"
        assert item["domain"]["code"] == "kb"


class TestFiltersAndFacets:
    @pytest.fixture
    def catalog(self, app: FastAPI) -> dict[str, str]:
        kb = new_domain(app, "kb", name="국민은행")
        lg = new_domain(app, "lg", name="LG화학")
        prod = new_system(app, kb, "kb-pay", name="결제 시스템", stage="production", languages=["Java"])
        new_system(app, kb, "kb-dev", name="결제 검증 도구", stage="development", languages=["Python"])
        new_system(app, lg, "lg-pay", name="결제 정산", stage="production", languages=["Java", "Go"])
        new_component(app, prod, kb, "결제 모듈", language="Java")
        add(app, DesignAsset(domain_id=kb, system_id=prod, title="결제 화면", tags=["Mobile", "결제"]))
        return {"kb": kb, "lg": lg}

    def test_facets_count_every_other_filter(self, search: Search, catalog: dict[str, str]) -> None:
        everything = search("결제")
        assert everything["total"] == 5
        facets = everything["facets"]
        assert facets["kind"] == {
            "domain": 0,
            "project": 0,
            "system": 3,
            "component": 1,
            "document": 0,
            "design_asset": 1,
        }
        assert facets["domain"] == {"kb": 4, "lg": 1}
        assert facets["stage"] == {"production": 2, "development": 1}
        assert facets["language"] == {"java": 3, "python": 1, "go": 1}
        systems = search("결제", kind="system")
        assert systems["total"] == 3
        assert systems["facets"]["kind"]["component"] == 1  # the kind facet ignores the kind filter
        assert systems["facets"]["domain"] == {"kb": 2, "lg": 1}
        by_code = search("결제", domain="lg")
        by_id = search("결제", domain=catalog["lg"])
        assert titles(by_code) == titles(by_id) == ["결제 정산"]
        assert by_code["facets"]["domain"] == {"kb": 4, "lg": 1}
        assert titles(search("결제", stage="production", domain="kb")) == ["결제 시스템"]
        assert sorted(titles(search("결제", language="java"))) == ["결제 모듈", "결제 시스템", "결제 정산"]
        assert titles(search("결제", tag="mobile")) == ["결제 화면"]
        assert search("결제", domain="nope")["total"] == 0
        assert search("결제", kind="bogus", status=422)

    def test_paging(self, search: Search, catalog: dict[str, str]) -> None:
        first = search("결제", per_page=2)
        second = search("결제", per_page=2, page=2)
        third = search("결제", per_page=2, page=3)
        beyond = search("결제", per_page=2, page=9)
        assert [len(p["items"]) for p in (first, second, third, beyond)] == [2, 2, 1, 0]
        seen = titles(first) + titles(second) + titles(third)
        assert len(set(seen)) == 5 and beyond["total"] == 5


class TestRanking:
    def test_title_hits_first_then_exact_prefix_substring_then_recency(
        self, app: FastAPI, search: Search
    ) -> None:
        kb = new_domain(app, "kb")
        now = datetime.now(UTC)
        rows = [
            ("본문만 최근", "여기에 정산 이야기", now),
            ("월말 정산 배치", "", now - timedelta(days=3)),
            ("정산 시스템", "", now - timedelta(days=2)),
            ("정산", "", now - timedelta(days=9)),
            ("오래된 부분 정산", "", now - timedelta(days=30)),
        ]
        add(app, *(Project(domain_id=kb, name=n, description=d, updated_at=t) for n, d, t in rows))
        result = search("정산")
        assert titles(result) == ["정산", "정산 시스템", "월말 정산 배치", "오래된 부분 정산", "본문만 최근"]
        assert [item["score"] for item in result["items"]] == [4, 3, 2, 2, 0]


class TestDomainScoping:
    def test_viewers_see_only_their_domains_in_items_totals_and_facets(
        self, app: FastAPI, client: TestClient, make_user: MakeUser, search: Search
    ) -> None:
        kb = new_domain(app, "kb", name="국민은행")
        samsung = new_domain(app, "samsung", name="삼성전자")
        new_system(app, kb, "kb-ibank", name="인터넷뱅킹", description=BANKING, stage="production")
        new_system(app, samsung, "ss-ibank", name="사내 뱅킹", description=BANKING, stage="staging")
        kb_viewer = login(client, make_user(roles=("viewer",), domain_ids=(kb,)))
        ss_ops = login(client, make_user(roles=("operations",), domain_ids=(samsung,)))
        outsider = login(client, make_user(roles=("viewer",)))
        executive = login(client, make_user(roles=("executive",)))
        for q in ("뱅", "뱅킹", "인터넷뱅킹 거래"):
            mine = search(q, headers=kb_viewer)
            assert titles(mine) == ["인터넷뱅킹"] and mine["total"] == 1
            assert mine["facets"]["domain"] == {"kb": 1}
            assert mine["facets"]["stage"] == {"production": 1}
            assert mine["facets"]["kind"]["system"] == 1
            assert search(q, headers=outsider)["total"] == 0
            assert search(q, headers=executive)["total"] == 2
        hidden = search("뱅킹", headers=kb_viewer, domain="samsung")
        assert hidden["total"] == 0 and hidden["items"] == []
        assert "samsung" not in hidden["facets"]["domain"]
        assert search("뱅킹", headers=kb_viewer, domain=samsung)["total"] == 0
        assert search("삼성", headers=kb_viewer)["total"] == 0
        assert titles(search("삼성", headers=ss_ops)) == ["삼성전자"]


class TestQueryValidation:
    def test_empty_long_and_wordy_queries_are_refused(self, app: FastAPI, search: Search) -> None:
        new_domain(app, "kb", name="국민은행")
        assert search("", status=422)
        assert search("   ", status=422)["errors"][0]["type"] == "search.empty"
        assert search("가" * 201, status=422)
        assert search(" ".join("abcdefghijk"), status=422)["errors"][0]["type"] == "search.too_many_words"
        assert search("국")["total"] == 1
        assert search("가" * 200)["total"] == 0

    def test_search_needs_sign_in(self, client: TestClient) -> None:
        assert client.get("/api/v1/search", params={"q": "x"}).status_code == 401
