"""Basic (htpasswd) and Bearer (Docker token service) auth against a real ``docker-registry``."""

from __future__ import annotations

import base64

import pytest

from tests.servers.docker_registry import DockerRegistryServer, TokenIssuer
from timbel.core.errors import IntegrationAuthError
from timbel.integrations.registry import DockerRegistry

from .conftest import USERS, RecordingTransport, make_adapter
from .images import push_image

PASSWORD = USERS["alice"]


def _basic_header(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _push_token(issuer: TokenIssuer, repository: str) -> dict[str, str]:
    access = [{"type": "repository", "name": repository, "actions": ["pull", "push"]}]
    return {"Authorization": "Bearer " + issuer.mint(subject="alice", access=access)}


class TestBasicAuth:
    def test_credentials_answer_the_basic_challenge(self, basic_registry: DockerRegistryServer) -> None:
        digest = push_image(basic_registry.url, "shop/api", "v1", headers=_basic_header("alice", PASSWORD))
        transport = RecordingTransport()
        adapter = make_adapter(basic_registry.url, transport, username="alice", password=PASSWORD)

        assert adapter.repositories() == ["shop/api"]
        assert adapter.digest("shop/api", "v1") == digest
        # one anonymous probe learns the scheme; later calls send Basic up front
        assert "Authorization" not in transport.sent[0].headers
        assert all(r.headers["Authorization"].startswith("Basic ") for r in transport.sent[1:])
        assert len(transport.sent) == 3

    def test_connection_report(self, basic_registry: DockerRegistryServer) -> None:
        report = make_adapter(basic_registry.url, username="alice", password=PASSWORD).test_connection()

        assert report.ok, report.checks
        assert "Basic" in report.checks[2].detail

    def test_wrong_password_is_an_auth_error_without_the_secret(
        self, basic_registry: DockerRegistryServer
    ) -> None:
        wrong = "Wrong-Secret-Planted-99"
        adapter = make_adapter(basic_registry.url, username="alice", password=wrong)

        with pytest.raises(IntegrationAuthError) as caught:
            adapter.repositories()
        report = adapter.test_connection()

        assert "test-registry" in str(caught.value)
        assert "rejected the credentials" in str(caught.value)
        assert not report.ok
        assert [c.ok for c in report.checks] == [True, True, False, False]
        for text in (str(caught.value), repr(report), repr(adapter.config)):
            assert wrong not in text

    def test_anonymous_is_told_credentials_are_needed(self, basic_registry: DockerRegistryServer) -> None:
        with pytest.raises(IntegrationAuthError, match="requires credentials"):
            make_adapter(basic_registry.url).tags("shop/api")


class TestBearerTokenFlow:
    def test_challenge_token_retry(
        self, token_registry: DockerRegistryServer, token_issuer: TokenIssuer
    ) -> None:
        digest = push_image(
            token_registry.url, "shop/api", "v1", headers=_push_token(token_issuer, "shop/api")
        )
        transport = RecordingTransport()
        adapter = make_adapter(token_registry.url, transport, username="alice", password=PASSWORD)

        assert adapter.digest("shop/api", "v1") == digest

        head, token_call, retry = transport.sent
        assert head.method == retry.method == "HEAD"
        assert "Authorization" not in head.headers
        assert str(token_call.url).startswith(token_issuer.realm)
        assert token_call.url.params.get_list("scope") == ["repository:shop/api:pull"]
        assert token_call.url.params["service"] == "timbel-test-registry"
        assert token_call.headers["Authorization"] == _basic_header("alice", PASSWORD)["Authorization"]
        assert retry.headers["Authorization"].startswith("Bearer ")

    def test_tokens_are_cached_per_scope(
        self, token_registry: DockerRegistryServer, token_issuer: TokenIssuer
    ) -> None:
        for repository in ("shop/api", "shop/web"):
            push_image(token_registry.url, repository, "v1", headers=_push_token(token_issuer, repository))
        adapter = make_adapter(token_registry.url, username="alice", password=PASSWORD)

        for _ in range(3):
            assert adapter.repositories() == ["shop/api", "shop/web"]
            assert adapter.tags("shop/api") == ["v1"]
            assert adapter.digest("shop/api", "v1")
            assert adapter.tags("shop/web") == ["v1"]

        scopes = [tuple(r["query"].get("scope", [])) for r in token_issuer.requests]
        assert sorted(scopes) == [
            ("registry:catalog:*",),
            ("repository:shop/api:pull",),
            ("repository:shop/web:pull",),
        ]

    def test_expired_token_is_fetched_again(
        self, token_registry: DockerRegistryServer, token_issuer: TokenIssuer
    ) -> None:
        now = [1000.0]
        config = make_adapter(token_registry.url, username="alice", password=PASSWORD).config
        adapter = DockerRegistry(config, clock=lambda: now[0])
        adapter.repositories()
        adapter.repositories()
        assert len(token_issuer.requests) == 1
        now[0] += token_issuer.expires_in
        adapter.repositories()
        assert len(token_issuer.requests) == 2

    def test_connection_report(self, token_registry: DockerRegistryServer) -> None:
        report = make_adapter(token_registry.url, username="alice", password=PASSWORD).test_connection()

        assert report.ok, report.checks
        assert "Bearer" in report.checks[2].detail

    def test_missing_catalog_permission_is_reported(self, token_registry: DockerRegistryServer) -> None:
        adapter = make_adapter(token_registry.url, username="reader", password=USERS["reader"])

        report = adapter.test_connection()

        assert [c.name for c in report.checks if not c.ok] == ["catalog"]
        assert "registry:catalog:*" in report.checks[3].detail
        assert adapter.tags("shop/api") == []  # pulling is allowed

    def test_bad_credentials_at_the_token_service(self, token_registry: DockerRegistryServer) -> None:
        wrong = "Wrong-Secret-Planted-99"
        adapter = make_adapter(token_registry.url, username="alice", password=wrong)

        with pytest.raises(IntegrationAuthError, match="token service rejected") as caught:
            adapter.repositories()
        assert wrong not in str(caught.value)
        assert [c.ok for c in adapter.test_connection().checks] == [True, True, False, False]
