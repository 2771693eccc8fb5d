"""The audit trail: what is recorded, filters, paging, CSV export, secrets never stored."""

from __future__ import annotations

import csv
import io

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import MakeUser, login
from timbel.audit.models import AuditEntry
from timbel.core.db import session_scope

PLANTED = "Planted-Secret-Zebra-9031"


def _entries(app: FastAPI) -> list[AuditEntry]:
    with session_scope(app.state.session_factory) as session:
        rows = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all())
        session.expunge_all()
        return rows


class TestRecording:
    def test_entries_carry_actor_target_ip_agent_and_request_id(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        admin = make_user("boss", roles=("admin",))
        headers = {**login(client, admin), "User-Agent": "audit-test/1.0", "X-Request-ID": "req-12345678"}
        created = client.post(
            "/api/v1/users",
            json={"username": "newbie", "password": PLANTED, "roles": ["viewer"]},
            headers=headers,
        )
        assert created.status_code == 201
        entry = next(
            e for e in _entries(app) if e.action == "user.create" and e.target_id == created.json()["id"]
        )
        assert entry.actor_name == "boss"
        assert entry.target_type == "user"
        assert entry.ip == "testclient"
        assert entry.user_agent == "audit-test/1.0"
        assert entry.request_id == "req-12345678"
        assert entry.changes["password"] == "***"

    def test_mutations_without_an_explicit_entry_still_leave_one(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        account = make_user()
        headers = login(client, account)
        assert client.patch("/api/v1/users/me", json={}, headers=headers).status_code == 200
        fallback = [e for e in _entries(app) if e.action == "http.patch"]
        assert len(fallback) == 1
        assert fallback[0].actor_name == account.username
        assert fallback[0].path == "/api/v1/users/me"

    def test_anonymous_garbage_does_not_fill_the_trail(self, client: TestClient, app: FastAPI) -> None:
        for _ in range(5):
            client.post("/api/v1/users", json={})
            client.delete("/api/v1/nothing")
        assert _entries(app) == []

    def test_planted_secret_never_reaches_audit_or_export(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        headers = login(client, make_user(roles=("admin",)))
        created = client.post(
            "/api/v1/users",
            json={"username": "target", "password": PLANTED, "roles": ["viewer"]},
            headers=headers,
        ).json()
        client.post(
            f"/api/v1/users/{created['id']}/password", json={"new_password": PLANTED + "x"}, headers=headers
        )
        client.post("/api/v1/auth/login", json={"username": "target", "password": PLANTED + "-wrong"})
        for entry in _entries(app):
            assert PLANTED not in repr(entry.__dict__)
        exported = client.get("/api/v1/audit/export.csv", headers=headers)
        assert PLANTED not in exported.text
        assert PLANTED not in client.get("/api/v1/audit", headers=headers).text


class TestQuerying:
    def test_filters_and_paging(self, client: TestClient, make_user: MakeUser, app: FastAPI) -> None:
        admin = make_user("auditor", roles=("admin",))
        headers = login(client, admin)
        for name in ("u1", "u2", "u3"):
            client.post(
                "/api/v1/users",
                json={"username": name, "password": "Granite-Orbit-58", "roles": ["viewer"]},
                headers=headers,
            )
        page = client.get(
            "/api/v1/audit",
            params={"action": "user.create", "actor": "auditor", "per_page": 2},
            headers=headers,
        ).json()
        assert page["total"] == 3
        assert len(page["items"]) == 2
        assert page["items"][0]["summary"] == "created user u3"  # newest first
        prefixed = client.get("/api/v1/audit", params={"action": "auth.*"}, headers=headers).json()
        assert {i["action"] for i in prefixed["items"]} == {"auth.login"}
        future = client.get("/api/v1/audit", params={"since": "2999-01-01T00:00:00"}, headers=headers).json()
        assert future["total"] == 0
        by_target = client.get(
            "/api/v1/audit",
            params={"target_type": "user", "target_id": page["items"][0]["target_id"]},
            headers=headers,
        ).json()
        assert by_target["total"] == 1

    def test_csv_export_has_header_rows_and_defuses_formulas(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        headers = login(client, make_user(roles=("admin",)))
        client.post(
            "/api/v1/users",
            json={
                "username": "csvuser",
                "password": "Granite-Orbit-58",
                "roles": ["viewer"],
                "display_name": "=HYPERLINK(1)",
            },
            headers=headers,
        )
        client.post("/api/v1/auth/login", json={"username": "=cmd|x", "password": "whatever-wrong"})
        response = client.get("/api/v1/audit/export.csv", headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert {"user.create", "auth.login", "auth.login_failed"} <= {r["action"] for r in rows}
        assert all(not r["summary"].startswith("=") for r in rows)

    def test_non_admins_cannot_read_the_trail(self, client: TestClient, make_user: MakeUser) -> None:
        headers = login(client, make_user(roles=("executive",)))
        assert client.get("/api/v1/audit", headers=headers).status_code == 403
        assert client.get("/api/v1/audit/export.csv", headers=headers).status_code == 403
