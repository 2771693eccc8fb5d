"""Systems (시스템): CRUD, validation, filters, domain scoping, cascade delete and audit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from tests.conftest import MakeUser, login
from timbel.audit.models import AuditEntry
from timbel.catalog.models import Component, Document, Project
from timbel.core.db import session_scope

API = "/api/v1/systems"


def _system(
    client: TestClient, headers: dict[str, str], domain_id: str, slug: str, **fields: Any
) -> dict[str, Any]:
    response = client.post(
        API, json={"domain_id": domain_id, "name": slug, "slug": slug, **fields}, headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _project(app: FastAPI, domain_id: str, name: str) -> str:
    with session_scope(app.state.session_factory) as session:
        project = Project(domain_id=domain_id, name=name)
        session.add(project)
        session.flush()
        return project.id


def _actions(app: FastAPI, prefix: str) -> list[AuditEntry]:
    with session_scope(app.state.session_factory) as session:
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action.like(prefix + "%"))))
        session.expunge_all()
        return entries


@contextmanager
def count_queries(app: FastAPI) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


class TestCreateReadUpdate:
    def test_full_system_round_trip(
        self, client: TestClient, app: FastAPI, make_user: MakeUser, make_domain: Callable[[str], str]
    ) -> None:
        domain_id = make_domain("kb-bank")
        owner = make_user(roles=("operations",), domain_ids=(domain_id,))
        headers = login(client, owner)
        project_id = _project(app, domain_id, "차세대 인터넷뱅킹")
        created = _system(
            client,
            headers,
            domain_id,
            "Internet-Banking",
            name="인터넷뱅킹 코어",
            description="계좌 이체와 조회를 담당하는 핵심 시스템",
            repo_url="git@git.kb.example:core/banking.git",
            default_branch="release/2026",
            last_commit={
                "sha": "ABCDEF1234",
                "author": "김개발",
                "at": "2026-03-01T09:00:00+09:00",
                "message": "fix",
            },
            stage="staging",
            tech_stack={
                "languages": ["Java", "java", " Kotlin "],
                "frameworks": ["Spring Boot"],
                "datastores": [],
            },
            owners=[owner.id],
            project_ids=[project_id],
            links=[{"title": "위키", "url": "https://wiki.example.com/banking"}],
            readiness={"dockerfile": True},
        )
        assert created["slug"] == "internet-banking"
        assert created["domain"] == {"id": domain_id, "code": "kb-bank", "name": "Domain kb-bank"}
        assert created["tech_stack"]["languages"] == ["Java", "Kotlin"]
        assert created["last_commit"]["sha"] == "abcdef1234"
        assert created["last_commit"]["at"] == "2026-03-01T00:00:00Z"
        assert [o["username"] for o in created["owners"]] == [owner.username]
        assert created["projects"] == [{"id": project_id, "name": "차세대 인터넷뱅킹"}]
        assert created["readiness"] is None and created["source"] == "manual"
        assert created["counts"] == {"components": 0, "documents": 0, "design_assets": 0}

        url = f"{API}/{created['id']}"
        changed = client.patch(
            url,
            json={"stage": "production", "last_commit": None, "owner_ids": [], "readiness": {"x": 1}},
            headers=headers,
        ).json()
        assert (changed["stage"], changed["last_commit"], changed["owners"]) == ("production", None, [])
        assert changed["readiness"] is None
        assert changed["projects"] == created["projects"]
        moved = client.patch(url, json={"domain_id": make_domain("samsung")}, headers=headers)
        assert moved.status_code == 422
        assert moved.json()["errors"][0]["type"] == "system.domain_immutable"
        assert client.get(url, headers=headers).json()["stage"] == "production"
        actions = [e.action for e in _actions(app, "system.")]
        assert sorted(actions) == ["system.create", "system.update"]

    def test_slug_is_unique(
        self,
        client: TestClient,
        auth_headers: Callable[..., dict[str, str]],
        make_domain: Callable[[str], str],
    ) -> None:
        headers = auth_headers("admin")
        domain_id = make_domain("kb-bank")
        _system(client, headers, domain_id, "core")
        other = _system(client, headers, domain_id, "other")
        again = client.post(API, json={"domain_id": domain_id, "name": "x", "slug": "CORE"}, headers=headers)
        assert again.status_code == 409
        assert again.json()["errors"][0]["type"] == "system.slug_taken"
        renamed = client.patch(f"{API}/{other['id']}", json={"slug": "core"}, headers=headers)
        assert renamed.status_code == 409


class TestValidation:
    @pytest.mark.parametrize(
        ("repo_url", "error"),
        [
            ("ftp://git.example.com/repo.git", "system.repo_url_invalid"),
            ("file:///etc/passwd", "system.repo_url_invalid"),
            ("relative/path/repo", "system.repo_url_invalid"),
            ("/srv/git/../../etc", "system.repo_url_invalid"),
            ("-oProxyCommand=touch /tmp/x", "system.repo_url_invalid"),
            ("git@-oProxyCommand=x:repo", "system.repo_url_invalid"),
            ("https://", "system.repo_url_invalid"),
            ("https://user:secret-token@git.example.com/repo.git", "system.repo_url_credentials"),
        ],
    )
    def test_bad_repository_addresses(
        self,
        client: TestClient,
        auth_headers: Callable[..., dict[str, str]],
        make_domain: Callable[[str], str],
        repo_url: str,
        error: str,
    ) -> None:
        body = {"domain_id": make_domain("kb-bank"), "name": "x", "slug": "core", "repo_url": repo_url}
        response = client.post(API, json=body, headers=auth_headers("admin"))
        assert response.status_code == 422
        assert response.json()["errors"][0]["type"] == error

    def test_accepted_repository_addresses(
        self,
        client: TestClient,
        auth_headers: Callable[..., dict[str, str]],
        make_domain: Callable[[str], str],
    ) -> None:
        headers, domain_id = auth_headers("admin"), make_domain("kb-bank")
        for number, url in enumerate(
            [
                "https://github.com/org/repo.git",
                "http://git.local:8080/repo",
                "ssh://git@git.example.com:2222/team/repo.git",
                "git@github.com:org/repo.git",
                "/srv/git/timbel",
            ]
        ):
            assert _system(client, headers, domain_id, f"repo-{number}", repo_url=url)["repo_url"] == url

    @pytest.mark.parametrize(
        ("fields", "error"),
        [
            ({"slug": "a"}, "system.slug_invalid"),
            ({"slug": "-bad"}, "system.slug_invalid"),
            ({"links": [{"title": "x", "url": "javascript:alert(1)"}]}, "system.link_invalid"),
            ({"links": [{"title": "x", "url": "ftp://example.com/x"}]}, "system.link_invalid"),
            ({"last_commit": {"sha": "xyz1234"}}, "system.commit_sha_invalid"),
            ({"last_commit": {"sha": "abc12"}}, "system.commit_sha_invalid"),
            ({"default_branch": "--upload-pack=x"}, "system.branch_invalid"),
            ({"tech_stack": {"languages": ["x" * 51]}}, "system.tech_invalid"),
            ({"stage": "live"}, "enum"),
        ],
    )
    def test_bad_fields(
        self,
        client: TestClient,
        auth_headers: Callable[..., dict[str, str]],
        make_domain: Callable[[str], str],
        fields: dict[str, Any],
        error: str,
    ) -> None:
        body = {"domain_id": make_domain("kb-bank"), "name": "x", "slug": "core", **fields}
        response = client.post(API, json=body, headers=auth_headers("admin"))
        assert response.status_code == 422
        assert response.json()["errors"][0]["type"] == error

    def test_owners_and_projects_are_checked(
        self, client: TestClient, app: FastAPI, make_user: MakeUser, make_domain: Callable[[str], str]
    ) -> None:
        kb, samsung, lg = make_domain("kb-bank"), make_domain("samsung"), make_domain("lg-chem")
        headers = login(client, make_user(roles=("operations",), domain_ids=(kb, samsung)))
        body = {"domain_id": kb, "name": "x", "slug": "core"}
        unknown = client.post(API, json={**body, "owner_ids": ["ghost"]}, headers=headers)
        assert (unknown.status_code, unknown.json()["errors"][0]["type"]) == (422, "user.unknown")
        other_domain = client.post(
            API, json={**body, "project_ids": [_project(app, samsung, "팩토리")]}, headers=headers
        )
        assert other_domain.status_code == 422
        assert other_domain.json()["errors"][0]["type"] == "system.project_other_domain"
        invisible = client.post(
            API, json={**body, "project_ids": [_project(app, lg, "배터리")]}, headers=headers
        )
        assert (invisible.status_code, invisible.json()["errors"][0]["type"]) == (404, "project.not_found")
        hidden_domain = client.post(API, json={**body, "domain_id": lg}, headers=headers)
        assert hidden_domain.status_code == 404
        assert client.get(API, headers=headers).json()["total"] == 0


class TestList:
    def test_filters_sorting_and_paging(
        self, client: TestClient, app: FastAPI, make_user: MakeUser, make_domain: Callable[[str], str]
    ) -> None:
        kb, samsung = make_domain("kb-bank"), make_domain("samsung")
        owner = make_user(roles=("admin",))
        headers = login(client, owner)
        project_id = _project(app, kb, "차세대")
        _system(
            client,
            headers,
            kb,
            "banking",
            name="뱅킹 코어",
            stage="production",
            tech_stack={"languages": ["Python", "Go"]},
            owner_ids=[owner.id],
            project_ids=[project_id],
        )
        _system(
            client,
            headers,
            kb,
            "callbot",
            name="콜봇",
            description="고객 상담 자동화",
            tech_stack={"languages": ["C#", "Golang"]},
            source="auto",
        )
        _system(
            client,
            headers,
            samsung,
            "factory",
            name="스마트 팩토리",
            stage="staging",
            tech_stack={"languages": ["python", "Django"]},
        )

        def slugs(**params: Any) -> list[str]:
            response = client.get(API, params={"sort": "slug", **params}, headers=headers)
            assert response.status_code == 200, response.text
            return [s["slug"] for s in response.json()["items"]]

        assert slugs(language="PYTHON") == ["banking", "factory"]
        assert slugs(language="go") == ["banking"]  # an element, not a substring of "Golang"/"Django"
        assert slugs(language="C_") == [] and slugs(language="%") == []  # no LIKE wildcards
        assert slugs(language="c#") == ["callbot"]
        assert slugs(stage="production") == ["banking"]
        assert slugs(domain_id=samsung) == ["factory"]
        assert slugs(source="auto") == ["callbot"]
        assert slugs(project_id=project_id) == slugs(owner_id=owner.id) == ["banking"]
        assert slugs(q="상담") == ["callbot"]
        assert slugs(sort="-slug") == ["factory", "callbot", "banking"]
        assert slugs(sort="stage") == ["callbot", "banking", "factory"]
        second = client.get(API, params={"sort": "slug", "per_page": 2, "page": 2}, headers=headers).json()
        assert (second["total"], [s["slug"] for s in second["items"]]) == (3, ["factory"])
        assert client.get(API, params={"sort": "owner"}, headers=headers).status_code == 422

    def test_a_page_costs_the_same_number_of_queries(
        self, client: TestClient, app: FastAPI, make_user: MakeUser, make_domain: Callable[[str], str]
    ) -> None:
        domain_id = make_domain("kb-bank")
        owner = make_user(roles=("admin",))
        headers = login(client, owner)
        project_id = _project(app, domain_id, "차세대")
        _system(client, headers, domain_id, "one", owner_ids=[owner.id], project_ids=[project_id])
        client.get(API, headers=headers)  # warm caches (principal, statements)
        with count_queries(app) as few:
            assert client.get(API, headers=headers).json()["total"] == 1
        for number in range(6):
            _system(
                client, headers, domain_id, f"more-{number}", owner_ids=[owner.id], project_ids=[project_id]
            )
        with count_queries(app) as many:
            assert client.get(API, headers=headers).json()["total"] == 7
        assert len(many) == len(few) > 3


class TestScoping:
    def test_viewer_of_another_domain_sees_nothing(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str]
    ) -> None:
        kb, samsung = make_domain("kb-bank"), make_domain("samsung")
        admin = login(client, make_user(roles=("admin",)))
        system = _system(client, admin, kb, "banking")
        viewer = login(client, make_user(roles=("viewer",), domain_ids=(samsung,)))
        assert client.get(API, headers=viewer).json() == {"items": [], "total": 0, "page": 1, "per_page": 50}
        assert client.get(API, params={"domain_id": kb}, headers=viewer).json()["total"] == 0
        for path in (f"{API}/{system['id']}", f"{API}/{system['id']}/graph"):
            assert client.get(path, headers=viewer).status_code == 404
        ops = login(client, make_user(roles=("operations",), domain_ids=(samsung,)))
        assert client.patch(f"{API}/{system['id']}", json={"name": "x"}, headers=ops).status_code == 404
        assert client.delete(f"{API}/{system['id']}", headers=ops).status_code == 404
        member = login(client, make_user(roles=("viewer",), domain_ids=(kb,)))
        assert [s["slug"] for s in client.get(API, headers=member).json()["items"]] == ["banking"]
        assert client.patch(f"{API}/{system['id']}", json={"name": "x"}, headers=member).status_code == 403


class TestDelete:
    def test_children_need_an_administrators_cascade(
        self, client: TestClient, app: FastAPI, make_user: MakeUser, make_domain: Callable[[str], str]
    ) -> None:
        domain_id = make_domain("kb-bank")
        ops = login(client, make_user(roles=("operations",), domain_ids=(domain_id,)))
        empty = _system(client, ops, domain_id, "empty")
        full = _system(client, ops, domain_id, "full")
        with session_scope(app.state.session_factory) as session:
            session.add(Component(domain_id=domain_id, system_id=full["id"], name="ui-kit", kind="ui"))
            session.add(Document(domain_id=domain_id, system_id=full["id"], title="API 가이드"))
        url = f"{API}/{full['id']}"
        assert client.get(url, headers=ops).json()["counts"] == {
            "components": 1,
            "documents": 1,
            "design_assets": 0,
        }
        blocked = client.delete(url, headers=ops)
        assert blocked.status_code == 409
        assert blocked.json()["errors"][0]["type"] == "system.has_children"
        assert client.delete(url, params={"cascade": "true"}, headers=ops).status_code == 403
        admin = login(client, make_user(roles=("admin",)))
        assert client.delete(url, params={"cascade": "true"}, headers=admin).status_code == 204
        assert client.get(url, headers=admin).status_code == 404
        assert client.delete(f"{API}/{empty['id']}", headers=ops).status_code == 204
        with session_scope(app.state.session_factory) as session:
            assert session.scalar(select(Component.id)) is None
        deletions = {e.target_id: e.changes for e in _actions(app, "system.delete")}
        assert deletions[full["id"]]["cascaded"] == {"components": 1, "documents": 1, "design_assets": 0}
        assert deletions[empty["id"]]["cascaded"] == {"components": 0, "documents": 0, "design_assets": 0}
