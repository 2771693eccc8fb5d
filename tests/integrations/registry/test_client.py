"""Client behaviour a real registry cannot be made to show on demand: retries, timeouts, odd challenges."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import httpx
import pytest

from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations.registry import DockerRegistry, RegistryConfig
from timbel.integrations.registry.auth import TokenCache, parse_challenge

DIGEST = "sha256:" + "a" * 64


def _adapter(handler: Callable[[httpx.Request], httpx.Response], **options: object) -> DockerRegistry:
    config = RegistryConfig.model_validate(
        {"name": "mock-registry", "base_url": "http://127.0.0.1:9", "backoff_seconds": 0.01, **options}
    )
    return DockerRegistry(config, transport=httpx.MockTransport(handler), sleep=_sleeps.append)


_sleeps: list[float] = []


class TestRetries:
    def test_get_is_retried_with_backoff(self) -> None:
        _sleeps.clear()
        answers = iter([503, 502, 200])

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(next(answers), json={"tags": ["v1"]})

        assert _adapter(handler, retries=2).tags("shop/api") == ["v1"]
        assert _sleeps == [0.01, 0.02]

    def test_persistent_5xx_is_unavailable(self) -> None:
        calls: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(request.method)
            return httpx.Response(503, json={"errors": [{"code": "UNAVAILABLE", "message": "down"}]})

        with pytest.raises(IntegrationUnavailable, match=r"mock-registry.*UNAVAILABLE: down"):
            _adapter(handler, retries=2).repositories()
        assert calls == ["GET", "GET", "GET"]

    def test_delete_is_never_retried(self) -> None:
        calls: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(request.method)
            return httpx.Response(503)

        with pytest.raises(IntegrationUnavailable):
            _adapter(handler, retries=3).delete("shop/api", DIGEST)
        assert calls == ["DELETE"]

    def test_timeouts_become_unavailable(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("slow", request=request)

        with pytest.raises(IntegrationUnavailable, match="mock-registry' timed out"):
            _adapter(handler, retries=1).digest("shop/api", "v1")


class TestDigestFallback:
    def test_digest_from_manifest_bytes_when_head_has_no_header(self) -> None:
        raw = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, content=b"" if request.method == "HEAD" else raw)

        assert _adapter(handler).digest("shop/api", "v1") == "sha256:" + hashlib.sha256(raw).hexdigest()


class TestChallenges:
    def test_parse_bearer_challenge(self) -> None:
        challenge = parse_challenge(
            'Bearer realm="https://auth.example/token",service="registry.example",'
            'scope="repository:shop/api:pull,push",error="insufficient_scope"'
        )
        assert challenge is not None and challenge.is_bearer
        assert challenge.params == {
            "realm": "https://auth.example/token",
            "service": "registry.example",
            "scope": "repository:shop/api:pull,push",
            "error": "insufficient_scope",
        }
        basic = parse_challenge("Basic realm=registry")
        assert basic is not None and basic.scheme == "basic" and basic.params == {"realm": "registry"}
        assert parse_challenge("") is None

    def test_token_cache_expires(self) -> None:
        now = [0.0]
        cache = TokenCache(clock=lambda: now[0])
        cache.put("repository:a:pull", "t1", expires_in=120)
        assert cache.get("repository:a:pull") == "t1"
        assert cache.get("repository:b:pull") is None
        now[0] = 116.0
        assert cache.get("repository:a:pull") is None
        cache.put("s", "t2", expires_in=None)
        now[0] += 54
        assert cache.get("s") == "t2"

    def test_token_without_realm_is_an_auth_error(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer service="x"'})

        with pytest.raises(IntegrationAuthError, match="without a usable realm"):
            _adapter(handler).repositories()

    def test_unknown_scheme(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(401, headers={"WWW-Authenticate": "Negotiate"})

        with pytest.raises(IntegrationAuthError, match="unsupported auth scheme 'negotiate'"):
            _adapter(handler).repositories()

    def test_forbidden_is_an_auth_error(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(403, json={"errors": [{"code": "DENIED", "message": "no"}]})

        with pytest.raises(IntegrationAuthError, match="DENIED"):
            _adapter(handler).tags("shop/api")

    def test_other_refusals(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(400, json={"errors": [{"code": "DIGEST_INVALID", "message": "bad"}]})

        with pytest.raises(IntegrationError, match="refused the request") as caught:
            _adapter(handler).delete("shop/api", DIGEST)
        assert caught.value.status == 502


class TestConfig:
    @pytest.mark.parametrize("url", ["http://bob:pw@127.0.0.1:5000", "http://127.0.0.1:5000/?x=1"])
    def test_refuses_credentials_or_query_in_url(self, url: str) -> None:
        with pytest.raises(ValueError, match=r"credentials|query"):
            RegistryConfig.model_validate({"name": "r", "base_url": url})

    def test_password_is_not_shown(self) -> None:
        config = RegistryConfig.model_validate(
            {
                "name": "r",
                "base_url": "http://127.0.0.1:5000",
                "username": "u",
                "password": "Planted-Secret-1",
            }
        )
        assert "Planted-Secret-1" not in repr(config)
        assert "Planted-Secret-1" not in config.model_dump_json()
