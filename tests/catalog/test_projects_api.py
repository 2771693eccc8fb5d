"""Projects (프로젝트) with urgent handling (긴급처리) and work groups (작업그룹), scoped by domain."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import MakeUser, login
from timbel.audit.models import AuditEntry
from timbel.core.db import session_scope

URGENT = {
    "urgent": True,
    "urgent_reason": "결제 장애 재발 방지",
    "urgent_deadline": "2026-12-01T09:00:00+09:00",
}


def _domain(client: TestClient, headers: dict[str, str], code: str = "kb-bank") -> str:
    response = client.post("/api/v1/domains", json={"code": code, "name": code}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _project(
    client: TestClient, headers: dict[str, str], domain_id: str, **fields: object
) -> dict[str, object]:
    body = {"domain_id": domain_id, "name": "차세대 인터넷뱅킹", "status": "active", **fields}
    response = client.post("/api/v1/projects", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


class TestProjects:
    def test_create_read_update_and_urgent_rules(self, client: TestClient, make_user: MakeUser) -> None:
        headers = login(client, make_user(roles=("operations",)))
        domain_id = _domain(client, headers)
        project = _project(
            client,
            headers,
            domain_id,
            start_date="2026-01-05",
            due_date="2026-06-30",
            requirement_summary="계좌 이체 한도 변경",
            **URGENT,
        )
        assert project["domain"]["code"] == "kb-bank"  # type: ignore[index]
        assert project["urgent"] is True
        assert project["urgent_deadline"] == "2026-12-01T00:00:00Z"
        incomplete = client.post(
            "/api/v1/projects", json={"domain_id": domain_id, "name": "x", "urgent": True}, headers=headers
        )
        assert incomplete.status_code == 422
        assert incomplete.json()["errors"][0]["type"] == "project.urgent_incomplete"
        backwards = client.patch(
            f"/api/v1/projects/{project['id']}", json={"due_date": "2025-12-31"}, headers=headers
        )
        assert backwards.status_code == 422
        assert backwards.json()["errors"][0]["type"] == "project.due_before_start"
        calm = client.patch(
            f"/api/v1/projects/{project['id']}", json={"urgent": False, "status": "on_hold"}, headers=headers
        )
        assert (calm.json()["urgent"], calm.json()["status"]) == (False, "on_hold")
        duplicate = client.post(
            "/api/v1/projects", json={"domain_id": domain_id, "name": "차세대 인터넷뱅킹"}, headers=headers
        )
        assert duplicate.status_code == 409

    def test_list_filters_and_visibility(self, client: TestClient, make_user: MakeUser) -> None:
        admin_headers = login(client, make_user(roles=("admin",)))
        kb = _domain(client, admin_headers, "kb-bank")
        samsung = _domain(client, admin_headers, "samsung")
        _project(client, admin_headers, kb, name="인터넷뱅킹 고도화", **URGENT)
        _project(client, admin_headers, kb, name="콜센터 AI", status="draft")
        _project(client, admin_headers, samsung, name="스마트 팩토리")
        urgent = client.get("/api/v1/projects", params={"urgent": "true"}, headers=admin_headers).json()
        assert [p["name"] for p in urgent["items"]] == ["인터넷뱅킹 고도화"]
        korean = client.get("/api/v1/projects", params={"q": "뱅킹"}, headers=admin_headers).json()
        assert korean["total"] == 1
        viewer = make_user(roles=("viewer",))
        client.put(f"/api/v1/domains/{kb}/members", json={"user_ids": [viewer.id]}, headers=admin_headers)
        viewer_headers = login(client, viewer)
        seen = client.get("/api/v1/projects", params={"sort": "name"}, headers=viewer_headers).json()
        assert [p["name"] for p in seen["items"]] == ["인터넷뱅킹 고도화", "콜센터 AI"]
        hidden = client.get("/api/v1/projects", params={"domain_id": samsung}, headers=viewer_headers).json()
        assert hidden["total"] == 0
        # Creating in an invisible domain is "not found", not a hint that it exists.
        ops_headers = login(client, make_user(roles=("operations",)))
        assert (
            client.post(
                "/api/v1/projects", json={"domain_id": samsung, "name": "x"}, headers=ops_headers
            ).status_code
            == 404
        )


class TestWorkGroups:
    def test_ordered_owned_and_audited(self, client: TestClient, make_user: MakeUser, app: FastAPI) -> None:
        owner = make_user(roles=("operations",))
        headers = login(client, owner)
        project = _project(client, headers, _domain(client, headers))
        base = f"/api/v1/projects/{project['id']}/work-groups"
        first = client.post(base, json={"name": "계정계", "owner_id": owner.id}, headers=headers).json()
        second = client.post(base, json={"name": "정보계"}, headers=headers).json()
        assert (first["position"], second["position"]) == (0, 1)
        assert first["owner"]["username"] == owner.username
        client.patch(f"{base}/{second['id']}", json={"position": 0, "status": "active"}, headers=headers)
        client.patch(f"{base}/{first['id']}", json={"position": 1}, headers=headers)
        ordered = client.get(base, headers=headers).json()
        assert [g["name"] for g in ordered] == ["정보계", "계정계"]
        assert client.post(base, json={"name": "계정계"}, headers=headers).status_code == 409
        assert client.post(base, json={"name": "x", "owner_id": "ghost"}, headers=headers).status_code == 422
        assert (
            client.get(f"/api/v1/projects/{project['id']}", headers=headers).json()["work_group_count"] == 2
        )
        assert client.delete(f"{base}/{first['id']}", headers=headers).status_code == 204
        with session_scope(app.state.session_factory) as session:
            actions = set(
                session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("work_group.%")))
            )
        assert actions == {"work_group.create", "work_group.update", "work_group.delete"}


class TestDomainWithChildren:
    def test_delete_needs_an_administrators_cascade(self, client: TestClient, make_user: MakeUser) -> None:
        ops_headers = login(client, make_user(roles=("operations",)))
        domain_id = _domain(client, ops_headers)
        project = _project(client, ops_headers, domain_id)
        blocked = client.delete(f"/api/v1/domains/{domain_id}", headers=ops_headers)
        assert blocked.status_code == 409
        assert blocked.json()["errors"][0]["type"] == "domain.has_children"
        assert (
            client.delete(
                f"/api/v1/domains/{domain_id}", params={"cascade": "true"}, headers=ops_headers
            ).status_code
            == 403
        )
        admin_headers = login(client, make_user(roles=("admin",)))
        assert (
            client.delete(
                f"/api/v1/domains/{domain_id}", params={"cascade": "true"}, headers=admin_headers
            ).status_code
            == 204
        )
        assert client.get(f"/api/v1/projects/{project['id']}", headers=admin_headers).status_code == 404
