"""The catalog dashboard: real counts, stages, domains, recent changes, popular and most-reused, scoping,
the empty state, and a fixed number of queries however large the catalog."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from tests.catalog.test_backstage import CATALOG
from tests.conftest import MakeUser
from tests.web.conftest import page_token, sign_in
from timbel.catalog import usage
from timbel.catalog.models import Component, DesignAsset, Document, Domain, Project, System
from timbel.core.db import session_scope


def _fill(session: Session, domain: Domain, prefix: str, systems: int, per_system: int) -> list[Component]:
    """Add a project and systems with components, documents and a design asset to a domain."""
    session.add(Project(domain_id=domain.id, name=f"{prefix} 프로젝트"))
    stages = ("production", "staging", "development")
    components: list[Component] = []
    for s in range(systems):
        system = System(
            domain_id=domain.id, slug=f"{prefix}-sys-{s}", name=f"{prefix} 시스템 {s}", stage=stages[s % 3]
        )
        session.add(system)
        session.flush()
        for c in range(per_system):
            component = Component(domain_id=domain.id, system_id=system.id, name=f"{prefix}-comp-{s}-{c}")
            components.append(component)
            session.add(component)
        session.add(Document(domain_id=domain.id, system_id=system.id, title=f"{prefix} 문서 {s}"))
    session.add(DesignAsset(domain_id=domain.id, system_id=system.id, title=f"{prefix} 시안"))
    session.flush()
    return components


def _catalog(app: FastAPI) -> dict[str, str]:
    with session_scope(app.state.session_factory) as session:
        kb = Domain(code="kb-bank", name="국민은행")
        lg = Domain(code="lg-chem", name="LG화학")
        session.add_all([kb, lg])
        session.flush()
        kb_parts = _fill(session, kb, "kb", systems=2, per_system=2)
        lg_parts = _fill(session, lg, "lg", systems=1, per_system=1)
        for _ in range(3):
            usage.bump(session, asset=kb_parts[0], kind=usage.UsageKind.view)
        usage.bump(session, asset=kb_parts[1], kind=usage.UsageKind.reuse)
        for _ in range(5):
            usage.bump(session, asset=lg_parts[0], kind=usage.UsageKind.view)
        return {"kb": kb.id, "lg": lg.id}


def _counts(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', html)}


def _charts(html: str) -> dict[str, Any]:
    match = re.search(r'id="catalog-chart-data">(.*?)</script>', html, re.DOTALL)
    assert match is not None
    return dict(json.loads(match.group(1)))


@contextmanager
def count_queries(app: FastAPI) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(app.state.engine, "before_cursor_execute", record)


class TestDashboard:
    def test_numbers_match_the_catalog(self, client: TestClient, make_user: MakeUser, app: FastAPI) -> None:
        _catalog(app)
        sign_in(client, make_user(roles=("admin",)))
        html = client.get("/catalog").text
        assert _counts(html) == {
            "domain": 2,
            "project": 2,
            "system": 3,
            "component": 5,
            "document": 3,
            "design_asset": 2,
        }
        charts = _charts(html)
        assert [s["value"] for s in charts["stages"]] == [0, 1, 2]  # development, staging, production
        assert charts["stages"][2]["name"] == "운영 환경"
        assert charts["domains"]["names"] == ["국민은행", "LG화학"]  # largest first
        components = next(s for s in charts["domains"]["series"] if s["name"] == "코드 컴포넌트")
        assert components["data"] == [4, 1]
        popular = html.split('id="popular"')[1].split("</section>")[0]
        assert popular.index("lg-comp-0-0") < popular.index("kb-comp-0-0")
        assert "조회 5회" in popular and "조회 3회" in popular
        reused = html.split('id="most-reused"')[1].split("</section>")[0]
        assert "kb-comp-0-1" in reused and "재사용 1회" in reused
        recent = html.split('id="recent-changes"')[1].split("</section>")[0]
        assert recent.count('<a class="list-group-item') == 10
        assert re.search(
            r'href="/catalog/(systems|components|documents|design-assets)/[0-9a-f-]{36}"', recent
        )

    def test_viewers_see_only_their_domains(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        ids = _catalog(app)
        sign_in(client, make_user(roles=("viewer",), domain_ids=(ids["kb"],)))
        html = client.get("/catalog").text
        assert (
            _counts(html)["domain"] == 1 and _counts(html)["system"] == 2 and _counts(html)["component"] == 4
        )
        assert "LG화학" not in html and "lg-comp" not in html and "lg 시스템" not in html
        assert _charts(html)["domains"]["names"] == ["국민은행"]
        assert "조회 5회" not in html

    def test_empty_catalog_explains_what_to_do(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str], app: FastAPI
    ) -> None:
        sign_in(client, make_user(roles=("admin",)))
        html = client.get("/catalog").text
        assert 'id="catalog-empty"' in html and "timbel demo load" in html
        assert "catalog-chart-data" not in html
        client.cookies.clear()
        other = make_domain("samsung")
        _catalog(app)
        sign_in(client, make_user(roles=("viewer",), domain_ids=(other,)))
        viewer_page = client.get("/catalog").text
        assert 'id="catalog-empty"' not in viewer_page  # the empty domain itself is visible
        assert _counts(viewer_page)["system"] == 0 and "국민은행" not in viewer_page
        client.cookies.clear()
        sign_in(client, make_user(roles=("viewer",)))
        nobody = client.get("/catalog").text
        assert 'id="catalog-empty"' in nobody and "timbel demo load" not in nobody

    def test_queries_do_not_grow_with_the_catalog(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        ids = _catalog(app)
        sign_in(client, make_user(roles=("viewer",), domain_ids=(ids["kb"], ids["lg"])))
        client.get("/catalog")
        with count_queries(app) as small:
            assert client.get("/catalog").status_code == 200
        with session_scope(app.state.session_factory) as session:
            kb = session.get(Domain, ids["kb"])
            assert kb is not None
            for component in _fill(session, kb, "more", systems=3, per_system=4):
                usage.bump(session, asset=component, kind=usage.UsageKind.view)
                usage.bump(session, asset=component, kind=usage.UsageKind.reuse)
        with count_queries(app) as large:
            assert client.get("/catalog").status_code == 200
        assert len(large) == len(small), (small, large)


class TestImportPage:
    def test_upload_shows_counts_and_warnings(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        sign_in(client, make_user(roles=("operations",)))
        token = page_token(client, "/catalog/import")
        files = {"file": ("catalog-info.yaml", CATALOG.encode(), "application/yaml")}
        response = client.post("/catalog/import", data={"csrf_token": token}, files=files)
        assert response.status_code == 200, response.text
        assert "엔터티 8개를 읽어 가져왔습니다" in response.text
        system_row = response.text.split('data-kind="System"')[1].split("</tr>")[0]
        assert re.findall(r">(\d+)</td>", system_row) == ["1", "0", "0"]
        assert "user:ghost" in response.text  # an owner without a Timbel account is reported, not created
        with session_scope(app.state.session_factory) as session:
            assert session.scalar(select(func.count()).select_from(System)) == 1
        export = client.get("/catalog/export", params={"domain": "kb-bank"})
        assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
        assert "kind: System" in export.text and "name: kb-banking" in export.text

    def test_invalid_file_lists_every_problem_and_writes_nothing(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        sign_in(client, make_user(roles=("admin",)))
        token = page_token(client, "/catalog/import")
        broken = CATALOG + "---\nkind: Component\nmetadata: {name: x}\n---\n- 1\n"
        files = {"file": ("catalog-info.yaml", broken.encode(), "application/yaml")}
        response = client.post("/catalog/import", data={"csrf_token": token}, files=files)
        assert response.status_code == 422
        assert "파일에 문제가 2건 있어 아무것도 가져오지 않았습니다" in response.text
        assert "apiVersion is missing" in response.text and "the document is not a mapping" in response.text
        with session_scope(app.state.session_factory) as session:
            assert session.scalar(select(func.count()).select_from(Domain)) == 0
        missing = client.post("/catalog/import", data={"csrf_token": token})
        assert missing.status_code == 422 and "catalog-info.yaml 파일을 선택하세요" in missing.text

    def test_viewers_may_export_their_domains_but_not_import(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        ids = _catalog(app)
        sign_in(client, make_user(roles=("viewer",), domain_ids=(ids["kb"],)))
        page = client.get("/catalog/import").text
        assert "가져오려면 카탈로그 변경 권한이 필요합니다" in page and 'id="import-form"' not in page
        assert "국민은행" in page and "LG화학" not in page
        token = page_token(client, "/catalog/import")
        files = {"file": ("catalog-info.yaml", CATALOG.encode(), "application/yaml")}
        assert client.post("/catalog/import", data={"csrf_token": token}, files=files).status_code == 403
        everything = client.get("/catalog/export").text
        assert "kb-sys-0" in everything and "lg-sys-0" not in everything
        assert client.get("/catalog/export", params={"domain": "lg-chem"}).status_code == 404
