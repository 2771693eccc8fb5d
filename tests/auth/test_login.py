"""Sign-in: generic failures, throttling with backoff per account and per address, password policy."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.conftest import MakeUser
from timbel.audit.models import AuditEntry
from timbel.auth.models import LoginThrottle
from timbel.core.db import session_scope, utcnow

LOGIN = "/api/v1/auth/login"


def _attempt(
    client: TestClient, username: str, password: str
) -> tuple[int, dict[str, object], dict[str, str]]:
    response = client.post(LOGIN, json={"username": username, "password": password})
    return response.status_code, response.json(), dict(response.headers)


class TestFailures:
    def test_unknown_user_and_wrong_password_look_the_same(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        account = make_user()
        wrong_pw = _attempt(client, account.username, "Wrong-Password-123")
        no_user = _attempt(client, "nobody-here", "Wrong-Password-123")
        assert wrong_pw[0] == no_user[0] == 401
        assert wrong_pw[1]["detail"] == no_user[1]["detail"] == "Invalid username or password."
        assert wrong_pw[1]["code"] == no_user[1]["code"]

    def test_inactive_user_cannot_sign_in(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        admin = make_user(roles=("admin",))
        target = make_user()
        token = _attempt(client, admin.username, admin.password)[1]["access_token"]
        client.patch(
            f"/api/v1/users/{target.id}",
            json={"is_active": False},
            headers={"Authorization": f"Bearer {token}"},
        )
        status, body, _ = _attempt(client, target.username, target.password)
        assert status == 401
        assert body["detail"] == "Invalid username or password."

    def test_failures_and_successes_are_audited(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        account = make_user()
        _attempt(client, account.username, "Wrong-Password-123")
        _attempt(client, account.username, account.password)
        with session_scope(app.state.session_factory) as session:
            actions = session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.like("auth.%")).order_by(AuditEntry.id)
            ).all()
        assert actions == ["auth.login_failed", "auth.login"]


class TestThrottling:
    def test_account_locks_after_threshold_even_for_the_right_password(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        account = make_user()
        for _ in range(5):
            assert _attempt(client, account.username, "Wrong-Password-123")[0] == 401
        status, body, headers = _attempt(client, account.username, account.password)
        assert status == 429
        assert int(headers["retry-after"]) > 0
        assert "Try again later" in str(body["detail"])

    def test_backoff_doubles_and_lock_expires(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        account = make_user()
        key = f"user:{account.username}"
        for _ in range(5):
            _attempt(client, account.username, "Wrong-Password-123")
        with session_scope(app.state.session_factory) as session:
            row = session.get(LoginThrottle, key)
            assert row is not None and row.locked_until is not None
            first_lock = (row.locked_until - row.last_failure_at).total_seconds()
            row.locked_until = utcnow() - timedelta(seconds=1)
        assert _attempt(client, account.username, "Wrong-Password-123")[0] == 401  # sixth failure
        with session_scope(app.state.session_factory) as session:
            row = session.get(LoginThrottle, key)
            assert row is not None and row.locked_until is not None
            second_lock = (row.locked_until - row.last_failure_at).total_seconds()
            assert second_lock == 2 * first_lock
            row.locked_until = utcnow() - timedelta(seconds=1)
        assert _attempt(client, account.username, account.password)[0] == 200
        with session_scope(app.state.session_factory) as session:
            assert session.get(LoginThrottle, key) is None

    def test_unknown_accounts_are_throttled_the_same_way(self, client: TestClient) -> None:
        for _ in range(5):
            assert _attempt(client, "ghost", "Wrong-Password-123")[0] == 401
        assert _attempt(client, "ghost", "Wrong-Password-123")[0] == 429

    def test_one_address_spraying_many_accounts_is_locked(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        account = make_user()
        for i in range(20):
            _attempt(client, f"spray{i}", "Wrong-Password-123")
        status, _, _ = _attempt(client, account.username, account.password)
        assert status == 429
        with session_scope(app.state.session_factory) as session:
            session.execute(update(LoginThrottle).values(locked_until=utcnow() - timedelta(seconds=1)))
        assert _attempt(client, account.username, account.password)[0] == 200


class TestPasswordPolicy:
    def _admin(self, client: TestClient, make_user: MakeUser) -> dict[str, str]:
        admin = make_user(roles=("admin",))
        token = _attempt(client, admin.username, admin.password)[1]["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def test_policy_rules_are_named(self, client: TestClient, make_user: MakeUser, app: FastAPI) -> None:
        headers = self._admin(client, make_user)
        cases = {
            "short1!": "password.too_short",
            "kimchulsoo-secret-1": "password.contains_username",
            "Password1234": "password.too_common",
        }
        for password, rule in cases.items():
            response = client.post(
                "/api/v1/users",
                json={"username": "kimchulsoo", "password": password, "roles": ["viewer"]},
                headers=headers,
            )
            assert response.status_code == 422, password
            assert rule in [e["type"] for e in response.json()["errors"]], password
        ok = client.post(
            "/api/v1/users",
            json={"username": "kimchulsoo", "password": "Granite-Orbit-58", "roles": ["viewer"]},
            headers=headers,
        )
        assert ok.status_code == 201

    def test_own_password_change_checks_current_and_policy(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        account = make_user()
        pair = _attempt(client, account.username, account.password)[1]
        headers = {"Authorization": f"Bearer {pair['access_token']}"}
        wrong = client.post(
            "/api/v1/users/me/password",
            json={"current_password": "nope-nope-nope", "new_password": "Granite-Orbit-58"},
            headers=headers,
        )
        assert wrong.status_code == 422
        weak = client.post(
            "/api/v1/users/me/password",
            json={"current_password": account.password, "new_password": "short"},
            headers=headers,
        )
        assert weak.status_code == 422
        good = client.post(
            "/api/v1/users/me/password",
            json={"current_password": account.password, "new_password": "Granite-Orbit-58"},
            headers=headers,
        )
        assert good.status_code == 204
        assert _attempt(client, account.username, account.password)[0] == 401
        assert _attempt(client, account.username, "Granite-Orbit-58")[0] == 200


class TestPendingPasswordChange:
    def test_a_one_time_password_only_allows_changing_it(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        account = make_user(roles=("admin",), must_change_password=True)
        pair = _attempt(client, account.username, account.password)[1]
        headers = {"Authorization": f"Bearer {pair['access_token']}"}
        assert client.get("/api/v1/users/me", headers=headers).json()["must_change_password"] is True
        blocked = client.get("/api/v1/users", headers=headers)
        assert blocked.status_code == 403
        assert blocked.json()["code"] == "password-change-required"
        assert client.get("/api/v1/users/me/tokens", headers=headers).status_code == 403
        changed = client.post(
            "/api/v1/users/me/password",
            json={"current_password": account.password, "new_password": "Granite-Orbit-58"},
            headers=headers,
        )
        assert changed.status_code == 204
        assert client.get("/api/v1/users", headers=headers).status_code == 200
