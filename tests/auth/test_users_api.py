"""Administering accounts: create, update roles and activity, memberships, password reset."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import MakeUser, login
from timbel.audit.models import AuditEntry
from timbel.auth.models import User
from timbel.core.db import session_scope
from timbel.core.security import verify_password

NEW_USER = {
    "username": "lee.younghee",
    "password": "Granite-Orbit-58",
    "roles": ["operations"],
    "email": "younghee@example.com",
    "display_name": "이영희",
}


class TestCreate:
    def test_admin_creates_a_user_with_roles_and_domains(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str], app: FastAPI
    ) -> None:
        headers = login(client, make_user(roles=("admin",)))
        kb = make_domain("kb")
        response = client.post("/api/v1/users", json={**NEW_USER, "domain_ids": [kb]}, headers=headers)
        assert response.status_code == 201
        body = response.json()
        assert body["roles"] == ["operations"]
        assert [d["code"] for d in body["domains"]] == ["kb"]
        assert body["must_change_password"] is True
        assert "password" not in body and "password_hash" not in body
        with session_scope(app.state.session_factory) as session:
            user = session.scalar(select(User).where(User.username == "lee.younghee"))
            assert user is not None
            assert user.password_hash.startswith("$argon2id$")
            assert verify_password(user.password_hash, NEW_USER["password"])

    def test_duplicates_and_bad_input_are_clear_errors(self, client: TestClient, make_user: MakeUser) -> None:
        headers = login(client, make_user(roles=("admin",)))
        assert client.post("/api/v1/users", json=NEW_USER, headers=headers).status_code == 201
        dup = client.post("/api/v1/users", json=NEW_USER, headers=headers)
        assert dup.status_code == 409
        bad = client.post(
            "/api/v1/users", json={**NEW_USER, "username": "Bad Name!", "roles": ["king"]}, headers=headers
        )
        assert bad.status_code == 422
        locs = {tuple(e["loc"]) for e in bad.json()["errors"]}
        assert ("body", "username") in locs
        assert ("body", "roles", 0) in locs
        unknown_domain = client.post(
            "/api/v1/users",
            json={**NEW_USER, "username": "x.y", "email": None, "domain_ids": ["nope"]},
            headers=headers,
        )
        assert unknown_domain.status_code == 422


class TestUpdate:
    def test_role_and_membership_changes_are_audited(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str], app: FastAPI
    ) -> None:
        headers = login(client, make_user(roles=("admin",)))
        target = make_user(roles=("viewer",))
        domain = make_domain("samsung")
        r = client.patch(
            f"/api/v1/users/{target.id}", json={"roles": ["viewer", "executive"]}, headers=headers
        )
        assert r.json()["roles"] == ["executive", "viewer"]
        r = client.put(f"/api/v1/users/{target.id}/domains", json={"domain_ids": [domain]}, headers=headers)
        assert [d["code"] for d in r.json()["domains"]] == ["samsung"]
        with session_scope(app.state.session_factory) as session:
            actions = session.scalars(
                select(AuditEntry.action).where(AuditEntry.target_id == target.id).order_by(AuditEntry.id)
            ).all()
        assert actions[-2:] == ["user.roles_change", "user.membership_change"]

    def test_role_change_takes_effect_at_once(self, client: TestClient, make_user: MakeUser) -> None:
        admin_headers = login(client, make_user(roles=("admin",)))
        target = make_user(roles=("admin",))
        target_headers = login(client, target)
        assert client.get("/api/v1/users", headers=target_headers).status_code == 200
        client.patch(f"/api/v1/users/{target.id}", json={"roles": ["viewer"]}, headers=admin_headers)
        assert client.get("/api/v1/users", headers=target_headers).status_code == 403

    def test_last_admin_cannot_be_demoted_or_deactivated(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        admin = make_user(roles=("admin",))
        headers = login(client, admin)
        assert (
            client.patch(f"/api/v1/users/{admin.id}", json={"roles": ["viewer"]}, headers=headers).status_code
            == 409
        )
        assert (
            client.patch(f"/api/v1/users/{admin.id}", json={"is_active": False}, headers=headers).status_code
            == 409
        )

    def test_password_reset_forces_a_change_and_ends_sessions(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        headers = login(client, make_user(roles=("admin",)))
        target = make_user()
        target_headers = login(client, target)
        r = client.post(
            f"/api/v1/users/{target.id}/password", json={"new_password": "Fresh-Meadow-77"}, headers=headers
        )
        assert r.status_code == 204
        assert client.get("/api/v1/users/me", headers=target_headers).status_code == 401
        pair = client.post(
            "/api/v1/auth/login", json={"username": target.username, "password": "Fresh-Meadow-77"}
        ).json()
        me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
        assert me.json()["must_change_password"] is True

    def test_list_filters_and_pages(self, client: TestClient, make_user: MakeUser) -> None:
        headers = login(client, make_user("zadmin", roles=("admin",)))
        for name in ("alpha", "alpine", "beta"):
            make_user(name, roles=("viewer",))
        page = client.get("/api/v1/users", params={"q": "alp", "per_page": 1}, headers=headers).json()
        assert page["total"] == 2
        assert [u["username"] for u in page["items"]] == ["alpha"]
        page2 = client.get(
            "/api/v1/users", params={"q": "alp", "per_page": 1, "page": 2}, headers=headers
        ).json()
        assert [u["username"] for u in page2["items"]] == ["alpine"]
        assert client.get("/api/v1/users/nope", headers=headers).status_code == 404
