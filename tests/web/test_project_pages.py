"""Project pages: create with urgent handling in local time, rule errors on the form, edit, visibility."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import MakeUser
from tests.web.conftest import post_form, sign_in
from timbel.catalog.models import Project
from timbel.core.db import session_scope


def _form(domain_id: str, **overrides: str) -> dict[str, object]:
    return {
        "domain_id": domain_id,
        "name": "차세대 인터넷뱅킹",
        "status": "active",
        "start_date": "2026-01-05",
        "due_date": "2026-06-30",
        "description": "",
        "requirement_summary": "이체 한도 변경",
        "urgent": "on",
        "urgent_reason": "결제 장애 재발 방지",
        "urgent_deadline": "2026-12-01T09:00",
        **overrides,
    }


class TestProjectPages:
    def test_create_urgent_project_in_local_time_and_edit(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str], app: FastAPI
    ) -> None:
        domain_id = make_domain("kb-bank")
        sign_in(client, make_user(roles=("admin",)))
        new = "/catalog/projects/new"
        assert "영업처를 선택하세요" in client.get(new).text
        incomplete = post_form(client, new, _form(domain_id, urgent_reason=""), token_from=new)
        assert incomplete.status_code == 422
        assert "긴급처리에는 사유와 기한이 필요합니다" in incomplete.text
        backwards = post_form(client, new, _form(domain_id, due_date="2025-01-01"), token_from=new)
        assert "마감일이 시작일보다 앞섭니다" in backwards.text
        created = post_form(client, new, _form(domain_id), token_from=new)
        assert created.status_code == 303
        url = created.headers["location"]
        with session_scope(app.state.session_factory) as session:
            project = session.get(Project, url.rsplit("/", 1)[1])
            assert project is not None and project.urgent_deadline is not None
            assert project.urgent_deadline.isoformat() == "2026-12-01T00:00:00+00:00"  # 09:00 KST
        page = client.get(url).text
        assert 'value="2026-12-01T09:00"' in page
        assert "아직 작업그룹이 없습니다" in page
        calm = post_form(
            client, url, {k: v for k, v in _form(domain_id).items() if k != "urgent"}, token_from=url
        )
        assert calm.status_code == 303
        listing = client.get("/catalog/projects", params={"urgent": "yes"}).text
        assert "차세대 인터넷뱅킹" not in listing
        assert "차세대 인터넷뱅킹" in client.get("/catalog/projects").text

    def test_viewers_of_other_domains_see_nothing(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str]
    ) -> None:
        domain_id = make_domain("kb-bank")
        sign_in(client, make_user(roles=("admin",)))
        created = post_form(
            client, "/catalog/projects/new", _form(domain_id), token_from="/catalog/projects/new"
        )
        url = created.headers["location"]
        client.cookies.clear()
        sign_in(client, make_user(roles=("viewer",)))
        assert "표시할 프로젝트가 없습니다" in client.get("/catalog/projects").text
        assert client.get(url).status_code == 404
