"""Customer domains (영업처): CRUD, validation, visibility by membership, members, audit."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import MakeUser, login
from timbel.audit.models import AuditEntry
from timbel.core.db import session_scope

KB = {
    "code": "kb-bank",
    "name": "국민은행",
    "industry": "금융",
    "region": "서울",
    "priority": "high",
    "description": "차세대 인터넷뱅킹 거래 처리 시스템 운영",
    "contacts": [
        {"name": "김민수", "role": "IT 부장", "email": "minsu@example.com", "phone": "+82 2-1234-5678"}
    ],
}


def _create(client: TestClient, headers: dict[str, str], **overrides: object) -> dict[str, object]:
    response = client.post("/api/v1/domains", json={**KB, **overrides}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


class TestCrud:
    def test_create_read_update_delete(self, client: TestClient, make_user: MakeUser, app: FastAPI) -> None:
        admin = make_user("chief", roles=("admin",))
        headers = login(client, admin)
        created = _create(client, headers, owner_id=admin.id)
        assert created["code"] == "kb-bank"
        assert created["owner"] == {"id": admin.id, "username": "chief", "display_name": "chief"}
        assert created["contacts"][0]["name"] == "김민수"  # type: ignore[index]
        domain_id = created["id"]
        read = client.get(f"/api/v1/domains/{domain_id}", headers=headers).json()
        assert read["description"] == KB["description"]
        patched = client.patch(
            f"/api/v1/domains/{domain_id}", json={"priority": "critical", "region": "부산"}, headers=headers
        )
        assert (patched.json()["priority"], patched.json()["region"]) == ("critical", "부산")
        assert client.delete(f"/api/v1/domains/{domain_id}", headers=headers).status_code == 204
        assert client.get(f"/api/v1/domains/{domain_id}", headers=headers).status_code == 404
        with session_scope(app.state.session_factory) as session:
            actions = session.scalars(
                select(AuditEntry.action).where(AuditEntry.target_id == domain_id).order_by(AuditEntry.id)
            ).all()
        assert actions == ["domain.create", "domain.update", "domain.delete"]

    def test_bad_input_gets_clear_errors(self, client: TestClient, make_user: MakeUser) -> None:
        headers = login(client, make_user(roles=("admin",)))
        _create(client, headers)
        duplicate = client.post("/api/v1/domains", json=KB, headers=headers)
        assert duplicate.status_code == 409
        assert duplicate.json()["errors"][0]["type"] == "domain.code_taken"
        bad = client.post(
            "/api/v1/domains",
            json={
                **KB,
                "code": "Bad Code!",
                "priority": "urgent",
                "contacts": [{"name": "", "email": "nope"}],
            },
            headers=headers,
        )
        assert bad.status_code == 422
        locs = {tuple(e["loc"]) for e in bad.json()["errors"]}
        assert ("body", "code") in locs and ("body", "priority") in locs
        assert ("body", "contacts", 0, "email") in locs
        unknown_owner = client.post(
            "/api/v1/domains", json={**KB, "code": "x1", "owner_id": "nobody"}, headers=headers
        )
        assert unknown_owner.status_code == 422

    def test_list_filters_sorts_and_pages(self, client: TestClient, make_user: MakeUser) -> None:
        headers = login(client, make_user(roles=("admin",)))
        _create(client, headers)
        _create(
            client,
            headers,
            code="samsung",
            name="삼성전자",
            industry="제조/IT",
            priority="critical",
            description="스마트 팩토리 MES",
        )
        _create(
            client,
            headers,
            code="lg-chem",
            name="LG화학",
            industry="화학/제조",
            priority="medium",
            description="ERP 연동",
        )
        page = client.get("/api/v1/domains", params={"sort": "code", "per_page": 2}, headers=headers).json()
        assert [d["code"] for d in page["items"]] == ["kb-bank", "lg-chem"]
        assert (page["total"], page["page"], page["per_page"]) == (3, 1, 2)
        korean_two_chars = client.get("/api/v1/domains", params={"q": "뱅킹"}, headers=headers).json()
        assert [d["code"] for d in korean_two_chars["items"]] == ["kb-bank"]
        by_industry = client.get("/api/v1/domains", params={"industry": "화학/제조"}, headers=headers).json()
        assert [d["code"] for d in by_industry["items"]] == ["lg-chem"]
        newest = client.get(
            "/api/v1/domains", params={"sort": "-created_at", "priority": "critical"}, headers=headers
        ).json()
        assert [d["code"] for d in newest["items"]] == ["samsung"]
        assert client.get("/api/v1/domains", params={"sort": "secret"}, headers=headers).status_code == 422


class TestVisibility:
    def test_members_see_their_domains_and_nothing_else(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        admin_headers = login(client, make_user(roles=("admin",)))
        kb = _create(client, admin_headers)
        samsung = _create(client, admin_headers, code="samsung", name="삼성전자")
        viewer = make_user(roles=("viewer",))
        viewer_headers = login(client, viewer)
        assert client.get("/api/v1/domains", headers=viewer_headers).json()["total"] == 0
        assert client.get(f"/api/v1/domains/{kb['id']}", headers=viewer_headers).status_code == 404
        client.put(
            f"/api/v1/domains/{kb['id']}/members", json={"user_ids": [viewer.id]}, headers=admin_headers
        )
        listed = client.get("/api/v1/domains", headers=viewer_headers).json()
        assert [d["code"] for d in listed["items"]] == ["kb-bank"]
        assert client.get(f"/api/v1/domains/{samsung['id']}", headers=viewer_headers).status_code == 404
        me = client.get("/api/v1/users/me", headers=viewer_headers).json()
        assert [d["code"] for d in me["domains"]] == ["kb-bank"]

    def test_executives_see_every_domain(self, client: TestClient, make_user: MakeUser) -> None:
        admin_headers = login(client, make_user(roles=("admin",)))
        _create(client, admin_headers)
        executive_headers = login(client, make_user(roles=("executive",)))
        assert client.get("/api/v1/domains", headers=executive_headers).json()["total"] == 1

    def test_operations_creator_becomes_a_member_and_cannot_touch_others(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        admin_headers = login(client, make_user(roles=("admin",)))
        other = _create(client, admin_headers, code="other")
        ops_headers = login(client, make_user(roles=("operations",)))
        mine = _create(client, ops_headers, code="mine")
        assert [d["code"] for d in client.get("/api/v1/domains", headers=ops_headers).json()["items"]] == [
            "mine"
        ]
        assert (
            client.patch(
                f"/api/v1/domains/{other['id']}", json={"name": "x"}, headers=ops_headers
            ).status_code
            == 404
        )
        assert client.delete(f"/api/v1/domains/{other['id']}", headers=ops_headers).status_code == 404
        # Membership is an access decision: operations may not change it, even for its own domain.
        assert (
            client.put(
                f"/api/v1/domains/{mine['id']}/members", json={"user_ids": []}, headers=ops_headers
            ).status_code
            == 403
        )

    def test_unknown_members_are_refused_and_changes_audited(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        admin_headers = login(client, make_user(roles=("admin",)))
        kb = _create(client, admin_headers)
        bad = client.put(
            f"/api/v1/domains/{kb['id']}/members", json={"user_ids": ["ghost"]}, headers=admin_headers
        )
        assert bad.status_code == 422
        member = make_user(roles=("viewer",))
        ok = client.put(
            f"/api/v1/domains/{kb['id']}/members", json={"user_ids": [member.id]}, headers=admin_headers
        )
        assert ok.json() == {"user_ids": [member.id]}
        assert client.get(f"/api/v1/domains/{kb['id']}", headers=admin_headers).json()["member_count"] == 1
        with session_scope(app.state.session_factory) as session:
            entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "domain.members_change"))
            assert entry is not None and entry.changes["added"] == [member.id]


class TestSearchText:
    def test_wildcards_are_searched_literally(self, client: TestClient, make_user: MakeUser) -> None:
        headers = login(client, make_user("wild.admin", roles=("admin",)))
        _create(client, headers, code="plain", name="국민은행", description="no special characters")
        _create(client, headers, code="growth", name="성장 100%", description="percent_sign")
        percent = client.get("/api/v1/domains", params={"q": "%"}, headers=headers).json()
        assert [d["code"] for d in percent["items"]] == ["growth"]
        underscore = client.get("/api/v1/domains", params={"q": "_"}, headers=headers).json()
        assert [d["code"] for d in underscore["items"]] == ["growth"]
        users = client.get("/api/v1/users", params={"q": "%"}, headers=headers).json()
        assert users["total"] == 0
