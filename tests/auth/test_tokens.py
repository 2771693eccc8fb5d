"""Access-token expiry and verification, refresh rotation and reuse detection, logout, API tokens."""

from __future__ import annotations

from datetime import timedelta

import jwt
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import TEST_SECRET, MakeUser
from timbel.auth.models import ApiToken
from timbel.core.db import session_scope, utcnow
from timbel.core.security import issue_access_token

ME = "/api/v1/users/me"


def _login(client: TestClient, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TestAccessTokens:
    def test_login_returns_a_short_lived_pair_and_me_answers(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        account = make_user(roles=("viewer",))
        pair = _login(client, account.username, account.password)
        assert pair["token_type"] == "bearer"
        assert pair["expires_in"] == 15 * 60
        claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 15 * 60
        assert (claims["iss"], claims["aud"]) == ("timbel", "timbel-api")
        me = client.get(ME, headers=_bearer(pair["access_token"]))
        assert me.status_code == 200
        assert me.json()["username"] == account.username
        assert me.json()["roles"] == ["viewer"]

    def test_expired_token_is_refused(self, client: TestClient, make_user: MakeUser) -> None:
        account = make_user()
        pair = _login(client, account.username, account.password)
        sid = jwt.decode(pair["access_token"], options={"verify_signature": False})["sid"]
        old, _ = issue_access_token(
            key=TEST_SECRET,
            issuer="timbel",
            audience="timbel-api",
            user_id=account.id,
            session_id=sid,
            ttl_seconds=60,
            now=utcnow() - timedelta(minutes=20),
        )
        response = client.get(ME, headers=_bearer(old))
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    def test_wrong_issuer_audience_or_key_is_refused(self, client: TestClient, make_user: MakeUser) -> None:
        account = make_user()
        pair = _login(client, account.username, account.password)
        sid = jwt.decode(pair["access_token"], options={"verify_signature": False})["sid"]
        variants = [
            {"key": TEST_SECRET, "issuer": "other", "audience": "timbel-api"},
            {"key": TEST_SECRET, "issuer": "timbel", "audience": "other-api"},
            {
                "key": "another-secret-key-of-sufficient-length-123",
                "issuer": "timbel",
                "audience": "timbel-api",
            },
        ]
        for variant in variants:
            token, _ = issue_access_token(user_id=account.id, session_id=sid, ttl_seconds=600, **variant)
            assert client.get(ME, headers=_bearer(token)).status_code == 401, variant

    def test_garbage_and_unsigned_tokens_are_refused(self, client: TestClient) -> None:
        unsigned = jwt.encode({"sub": "x"}, key="", algorithm="none")
        for token in ("garbage", unsigned, "tbl_unknown"):
            assert client.get(ME, headers=_bearer(token)).status_code == 401

    def test_deactivating_a_user_ends_their_access(
        self, client: TestClient, make_user: MakeUser, auth_headers: object
    ) -> None:
        admin = make_user(roles=("admin",))
        target = make_user(roles=("operations",))
        admin_pair = _login(client, admin.username, admin.password)
        target_pair = _login(client, target.username, target.password)
        assert client.get(ME, headers=_bearer(target_pair["access_token"])).status_code == 200
        r = client.patch(
            f"/api/v1/users/{target.id}",
            json={"is_active": False},
            headers=_bearer(admin_pair["access_token"]),
        )
        assert r.status_code == 200
        assert client.get(ME, headers=_bearer(target_pair["access_token"])).status_code == 401
        refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": target_pair["refresh_token"]})
        assert refreshed.status_code == 401


class TestRefreshRotation:
    def test_refresh_rotates_and_the_old_token_stops_working(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        account = make_user()
        first = _login(client, account.username, account.password)
        second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert second.status_code == 200
        rotated = second.json()
        assert rotated["refresh_token"] != first["refresh_token"]
        assert client.get(ME, headers=_bearer(rotated["access_token"])).status_code == 200
        third = client.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
        assert third.status_code == 200

    def test_reuse_of_a_rotated_token_revokes_the_whole_session(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        account = make_user()
        first = _login(client, account.username, account.password)
        rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).json()
        reuse = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert reuse.status_code == 401
        assert "revoked" in reuse.json()["detail"]
        # The legitimate holder's newer tokens die with the session.
        assert (
            client.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]}).status_code
            == 401
        )
        assert client.get(ME, headers=_bearer(rotated["access_token"])).status_code == 401
        # Other sessions of the same user are untouched.
        other = _login(client, account.username, account.password)
        assert client.get(ME, headers=_bearer(other["access_token"])).status_code == 200

    def test_unknown_refresh_token_is_refused(self, client: TestClient) -> None:
        response = client.post("/api/v1/auth/refresh", json={"refresh_token": "rt_not-a-token"})
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")


class TestLogout:
    def test_logout_revokes_access_and_refresh_tokens(self, client: TestClient, make_user: MakeUser) -> None:
        account = make_user()
        pair = _login(client, account.username, account.password)
        headers = _bearer(pair["access_token"])
        assert client.get(ME, headers=headers).status_code == 200
        assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
        assert client.get(ME, headers=headers).status_code == 401
        assert (
            client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code
            == 401
        )

    def test_cannot_end_someone_elses_session(self, client: TestClient, make_user: MakeUser) -> None:
        alice, bob = make_user(), make_user()
        alice_pair = _login(client, alice.username, alice.password)
        bob_pair = _login(client, bob.username, bob.password)
        response = client.post(
            "/api/v1/auth/logout",
            json={"refresh_token": bob_pair["refresh_token"]},
            headers=_bearer(alice_pair["access_token"]),
        )
        assert response.status_code == 403
        assert client.get(ME, headers=_bearer(bob_pair["access_token"])).status_code == 200


class TestApiTokens:
    def test_token_is_shown_once_and_limited_to_its_role_ceiling(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        admin = make_user(roles=("admin",))
        headers = _bearer(_login(client, admin.username, admin.password)["access_token"])
        created = client.post(
            "/api/v1/users/me/tokens", json={"name": "ci", "role_ceiling": "operations"}, headers=headers
        )
        assert created.status_code == 201
        raw = created.json()["token"]
        assert raw.startswith("tbl_")
        listed = client.get("/api/v1/users/me/tokens", headers=headers).json()
        assert [t["name"] for t in listed] == ["ci"]
        assert "token" not in listed[0]
        assert raw not in client.get("/api/v1/users/me/tokens", headers=headers).text
        # The admin can list users, the operations-ceiling token cannot.
        assert client.get("/api/v1/users", headers=headers).status_code == 200
        assert client.get("/api/v1/users", headers=_bearer(raw)).status_code == 403
        me = client.get(ME, headers=_bearer(raw)).json()
        assert "admin:users" not in me["permissions"]
        assert me["credential"] == "api_token"

    def test_ceiling_cannot_exceed_own_roles(self, client: TestClient, make_user: MakeUser) -> None:
        viewer = make_user(roles=("viewer",))
        headers = _bearer(_login(client, viewer.username, viewer.password)["access_token"])
        response = client.post(
            "/api/v1/users/me/tokens", json={"name": "x", "role_ceiling": "admin"}, headers=headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "role_ceiling"]

    def test_revoked_and_expired_tokens_are_refused(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        account = make_user(roles=("operations",))
        headers = _bearer(_login(client, account.username, account.password)["access_token"])
        first = client.post(
            "/api/v1/users/me/tokens", json={"name": "a", "role_ceiling": "viewer"}, headers=headers
        ).json()
        second = client.post(
            "/api/v1/users/me/tokens", json={"name": "b", "role_ceiling": "viewer"}, headers=headers
        ).json()
        assert client.get(ME, headers=_bearer(first["token"])).status_code == 200
        assert client.delete(f"/api/v1/users/me/tokens/{first['id']}", headers=headers).status_code == 204
        assert client.get(ME, headers=_bearer(first["token"])).status_code == 401
        with session_scope(app.state.session_factory) as session:
            token = session.get(ApiToken, second["id"])
            assert token is not None
            token.expires_at = utcnow() - timedelta(seconds=1)
        app.state.principal_cache.clear()
        assert client.get(ME, headers=_bearer(second["token"])).status_code == 401

    def test_expiry_is_bounded(self, client: TestClient, make_user: MakeUser) -> None:
        account = make_user()
        headers = _bearer(_login(client, account.username, account.password)["access_token"])
        too_long = client.post(
            "/api/v1/users/me/tokens",
            json={"name": "x", "role_ceiling": "viewer", "expires_in_days": 5000},
            headers=headers,
        )
        assert too_long.status_code == 422

    def test_api_token_cannot_mint_tokens(self, client: TestClient, make_user: MakeUser) -> None:
        account = make_user()
        headers = _bearer(_login(client, account.username, account.password)["access_token"])
        raw = client.post(
            "/api/v1/users/me/tokens", json={"name": "x", "role_ceiling": "viewer"}, headers=headers
        ).json()["token"]
        response = client.post(
            "/api/v1/users/me/tokens", json={"name": "y", "role_ceiling": "viewer"}, headers=_bearer(raw)
        )
        assert response.status_code == 403
