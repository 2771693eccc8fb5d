"""System pages: list and filters, the form with inline errors, detail with relations and graph,
read-only viewers, invisible systems, and the similar-system panel of project pages."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import MakeUser
from tests.web.conftest import page_token, post_form, sign_in
from timbel.catalog.models import Component, Project, Relation, SimilarSystemRef, System
from timbel.core.db import session_scope

NEW = "/catalog/systems/new"
GRAPH_DATA = re.compile(r'<script type="application/json" id="system-graph-data">(.*?)</script>', re.DOTALL)


def _form(domain_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "domain_id": domain_id,
        "name": "인터넷뱅킹 코어",
        "slug": "banking-core",
        "description": "계좌 이체 핵심 시스템",
        "repo_url": "https://git.example.com/kb/banking.git",
        "default_branch": "main",
        "stage": "staging",
        "languages": "Java, Kotlin, java",
        "frameworks": "Spring Boot",
        "datastores": "PostgreSQL",
        "links": "위키 | https://wiki.example.com/banking\n\n대시보드 | https://grafana.example.com/d/1",
        "commit_sha": "ABCDEF1",
        "commit_author": "김개발",
        "commit_at": "2026-03-01T09:00",
        "commit_message": "이체 한도 수정",
        **overrides,
    }


def _project(app: FastAPI, domain_id: str, name: str) -> str:
    with session_scope(app.state.session_factory) as session:
        project = Project(domain_id=domain_id, name=name)
        session.add(project)
        session.flush()
        return project.id


def _graph(html: str) -> dict[str, Any]:
    match = GRAPH_DATA.search(html)
    assert match is not None, "the page embeds no graph data"
    return dict(json.loads(match.group(1)))


class TestSystemForm:
    def test_create_with_errors_then_edit(
        self, client: TestClient, app: FastAPI, make_user: MakeUser, make_domain: Callable[[str], str]
    ) -> None:
        domain_id = make_domain("kb-bank")
        admin = make_user(roles=("admin",))
        project_id = _project(app, domain_id, "차세대 뱅킹")
        sign_in(client, admin)
        assert "시스템 등록" in client.get(NEW).text
        bad = post_form(
            client,
            NEW,
            _form(
                domain_id, slug="X", repo_url="ftp://x/y", links="위키 | javascript:alert(1)", commit_sha="zz"
            ),
            token_from=NEW,
        )
        assert bad.status_code == 422
        for message in (
            "영문 소문자·숫자·'-'를 쓰고",
            "https://, http://, ssh:// 주소나",
            "'제목 | https://주소' 형식",
            "커밋 ID는 7~64자의 16진수입니다",
        ):
            assert message in bad.text
        assert 'value="인터넷뱅킹 코어"' in bad.text  # what was typed is kept
        created = post_form(
            client,
            NEW,
            {**_form(domain_id), "owner_ids": [admin.id], "project_ids": [project_id]},
            token_from=NEW,
        )
        assert created.status_code == 303, created.text
        url = created.headers["location"]
        with session_scope(app.state.session_factory) as session:
            system = session.scalar(select(System).where(System.slug == "banking-core"))
            assert system is not None and url.endswith(system.id)
            assert system.languages == ["Java", "Kotlin"]
            assert system.links[1] == {"title": "대시보드", "url": "https://grafana.example.com/d/1"}
            assert system.last_commit_at is not None
            assert system.last_commit_at.isoformat() == "2026-03-01T00:00:00+00:00"  # 09:00 KST
        page = client.get(url).text
        assert "시스템을 등록했습니다" in page
        assert "abcdef1" in page and "아직 분석하지 않았습니다" in page
        assert f'href="/catalog/components?system_id={system.id}"' in page
        assert f'<option value="{project_id}" selected>' in page
        taken = post_form(client, NEW, _form(domain_id, name="다른 시스템"), token_from=NEW)
        assert "다른 시스템이 이미 이 슬러그를 사용하고 있습니다" in taken.text

        saved = post_form(client, url, _form(domain_id, stage="production", languages="Go"), token_from=url)
        assert saved.status_code == 303
        with session_scope(app.state.session_factory) as session:
            system = session.get(System, system.id)
            assert system is not None and (system.stage, system.languages) == ("production", ["Go"])
        wrong = post_form(client, url, _form(domain_id, default_branch="--force"), token_from=url)
        assert wrong.status_code == 422 and "올바른 브랜치 이름이 아닙니다" in wrong.text


class TestSystemList:
    def test_filters_and_visibility(
        self,
        client: TestClient,
        make_user: MakeUser,
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
    ) -> None:
        kb, samsung = make_domain("kb-bank"), make_domain("samsung")
        make_system(kb, "banking", name="뱅킹 코어", stage="production", languages=["Java"])
        make_system(kb, "callbot", name="콜봇", description="상담 자동화", languages=["Python"])
        make_system(samsung, "factory", name="스마트 팩토리", languages=["Python"])
        sign_in(client, make_user(roles=("admin",)))

        def names(**params: str) -> set[str]:
            html = client.get("/catalog/systems", params=params).text
            return {n for n in ("뱅킹 코어", "콜봇", "스마트 팩토리") if n in html}

        assert names() == {"뱅킹 코어", "콜봇", "스마트 팩토리"}
        assert names(language="python") == {"콜봇", "스마트 팩토리"}
        assert names(stage="production") == {"뱅킹 코어"}
        assert names(domain_id=samsung) == {"스마트 팩토리"}
        assert names(q="상담") == {"콜봇"}
        assert "시스템 3개" in client.get("/catalog/systems").text
        client.cookies.clear()
        sign_in(client, make_user(roles=("viewer",), domain_ids=(samsung,)))
        listing = client.get("/catalog/systems").text
        assert "스마트 팩토리" in listing and "뱅킹 코어" not in listing
        assert 'id="new-system"' not in listing


class TestSystemDetail:
    def test_relations_and_graph(
        self,
        client: TestClient,
        app: FastAPI,
        make_user: MakeUser,
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
    ) -> None:
        kb, samsung = make_domain("kb-bank"), make_domain("samsung")
        banking, callbot = (
            make_system(kb, "banking", name="뱅킹 코어"),
            make_system(kb, "callbot", name="콜봇"),
        )
        factory = make_system(samsung, "factory", name="스마트 팩토리")
        with session_scope(app.state.session_factory) as session:
            api = Component(domain_id=kb, system_id=banking, name="account-api", kind="api")
            session.add(api)
            session.flush()
            api_id = api.id
        sign_in(client, make_user(roles=("admin",)))
        url = f"/catalog/systems/{callbot}"
        added = post_form(
            client,
            f"{url}/relations",
            {
                "source": f"system:{callbot}",
                "kind": "consumes_api",
                "target": f"component:{api_id}",
                "note": "잔액",
            },
            token_from=url,
        )
        assert added.status_code == 303, added.text
        post_form(
            client,
            f"{url}/relations",
            {"source": f"system:{callbot}", "kind": "similar_to", "target": f"system:{factory}"},
            token_from=url,
        )
        not_api = post_form(
            client,
            f"{url}/relations",
            {"source": f"system:{callbot}", "kind": "provides_api", "target": f"system:{banking}"},
            token_from=url,
        )
        assert not_api.status_code == 422
        assert "API 관계의 대상은 유형이 API인 코드 컴포넌트여야 합니다" in not_api.text

        page = client.get(url).text
        assert "account-api" in page and "API 사용" in page and "잔액" in page
        graph = _graph(page)
        assert graph["focus"] == callbot
        assert {n["name"] for n in graph["nodes"]} == {"콜봇", "account-api", "뱅킹 코어", "스마트 팩토리"}
        assert graph["labels"]["consumes_api"] == "API 사용"
        assert "/static/js/system-graph.js" in page

        # A member of kb-bank only: the relation to samsung's system is neither listed nor drawn.
        client.cookies.clear()
        sign_in(client, make_user(roles=("viewer",), domain_ids=(kb,)))
        page = client.get(url).text
        assert "스마트 팩토리" not in page
        assert {n["name"] for n in _graph(page)["nodes"]} == {"콜봇", "account-api", "뱅킹 코어"}
        assert 'id="save-system"' not in page and "<fieldset disabled>" in page
        assert 'id="relation-form"' not in page
        assert client.get(f"/catalog/systems/{factory}").status_code == 404
        token = page_token(client, url)
        refused = client.post(f"{url}/relations", data={"csrf_token": token}, follow_redirects=False)
        assert refused.status_code == 403

        client.cookies.clear()
        sign_in(client, make_user(roles=("admin",)))
        with session_scope(app.state.session_factory) as session:
            relation_id = session.scalar(select(Relation.id).where(Relation.kind == "consumes_api"))
        removed = post_form(client, f"{url}/relations/{relation_id}/delete", {}, token_from=url)
        assert removed.status_code == 303
        assert "API 사용" not in client.get(url).text.split('id="relations"')[1].split("</table>")[0]


class TestSimilarPanel:
    def test_add_and_remove_through_the_panel(
        self,
        client: TestClient,
        app: FastAPI,
        make_user: MakeUser,
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
    ) -> None:
        kb = make_domain("kb-bank")
        project_id = _project(app, kb, "차세대 콜센터")
        callbot = make_system(kb, "callbot", name="콜봇")
        sign_in(client, make_user(roles=("operations",), domain_ids=(kb,)))
        panel_url = f"/catalog/projects/{project_id}/similar-panel"
        assert f'hx-get="{panel_url}"' in client.get(f"/catalog/projects/{project_id}").text
        panel = client.get(panel_url, headers={"HX-Request": "true"}).text
        assert "아직 참조한 유사시스템이 없습니다" in panel and "<html" not in panel
        token = page_token(client, f"/catalog/projects/{project_id}")
        hx = {"HX-Request": "true", "X-CSRF-Token": token}
        added = client.post(panel_url, data={"system_id": callbot, "note": "시나리오 재사용"}, headers=hx)
        assert added.status_code == 200
        assert f'href="/catalog/systems/{callbot}"' in added.text and "시나리오 재사용" in added.text
        again = client.post(panel_url, data={"system_id": callbot}, headers=hx)
        assert "이 프로젝트에 이미 등록된 유사시스템입니다" in again.text
        missing = client.post(panel_url, data={"system_id": ""}, headers=hx)
        assert "필수 항목입니다" in missing.text
        with session_scope(app.state.session_factory) as session:
            ref_id = session.scalar(select(SimilarSystemRef.id))
        removed = client.post(f"{panel_url}/{ref_id}/delete", headers=hx)
        assert "아직 참조한 유사시스템이 없습니다" in removed.text

        client.cookies.clear()
        sign_in(client, make_user(roles=("viewer",), domain_ids=(kb,)))
        read_only = client.get(panel_url).text
        assert 'id="similar-form"' not in read_only
        client.cookies.clear()
        sign_in(client, make_user(roles=("viewer",)))
        assert client.get(panel_url).status_code == 404
