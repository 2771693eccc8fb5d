"""Errors are RFC 9457 problems with a request id, never stack traces; platform endpoints answer."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from timbel.auth.deps import public
from timbel.core.settings import HttpSettings, Settings, prepare_settings

PROBLEM = "application/problem+json"


def _is_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith(PROBLEM)  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]  # type: ignore[attr-defined]
    assert str(body["type"]).startswith("urn:timbel:problem:")
    return body


class TestProblems:
    def test_malformed_json_is_400(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/auth/login", content=b'{"username": ', headers={"Content-Type": "application/json"}
        )
        _is_problem(response, 400)

    def test_validation_is_422_with_field_paths(self, client: TestClient) -> None:
        body = _is_problem(client.post("/api/v1/auth/login", json={"username": 3}), 422)
        locs = [e["loc"] for e in body["errors"]]  # type: ignore[attr-defined]
        assert ["body", "username"] in locs
        assert ["body", "password"] in locs

    def test_unknown_route_is_404_problem(self, client: TestClient) -> None:
        body = _is_problem(client.get("/api/v1/does-not-exist"), 404)
        assert body["instance"] == "/api/v1/does-not-exist"

    def test_wrong_method_is_405(self, client: TestClient) -> None:
        _is_problem(client.delete("/healthz"), 405)

    def test_incoming_request_id_is_kept_and_bad_ones_replaced(self, client: TestClient) -> None:
        assert (
            client.get("/healthz", headers={"X-Request-ID": "abc-12345678"}).headers["x-request-id"]
            == "abc-12345678"
        )
        replaced = client.get("/healthz", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", replaced)


@pytest.fixture
def small_body_client(settings: Settings) -> Iterator[TestClient]:
    from timbel.app import create_app

    http = HttpSettings(max_body_bytes=2048, webhook_max_body_bytes=8192)
    limited = prepare_settings(settings.model_copy(update={"http": http}))
    app = create_app(limited, run_jobs=False)

    @app.get("/api/v1/boom", dependencies=[])
    async def boom() -> None:
        raise RuntimeError("secret internal detail at /srv/timbel/thing.py line 3")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.engine.dispose()


class TestLimitsAndCrashes:
    def test_declared_body_over_limit_is_413(self, small_body_client: TestClient) -> None:
        response = small_body_client.post(
            "/api/v1/auth/login", content=b"x" * 4096, headers={"Content-Type": "application/json"}
        )
        _is_problem(response, 413)

    def test_streamed_body_over_limit_is_413(self, small_body_client: TestClient) -> None:
        def chunks() -> Iterator[bytes]:
            for _ in range(8):
                yield b'{"username": "' + b"a" * 512

        response = small_body_client.post(
            "/api/v1/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
        )
        _is_problem(response, 413)

    def test_webhook_receivers_have_their_own_larger_limit(self, small_body_client: TestClient) -> None:
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
        # Over the global limit but under the receivers' own: it reaches the receiver (unsigned → 401).
        unsigned = small_body_client.post("/hooks/github", content=b"x" * 4096, headers=headers)
        _is_problem(unsigned, 401)
        _is_problem(small_body_client.post("/hooks/github", content=b"x" * 9000, headers=headers), 413)

    def test_unexpected_errors_hide_internals(self, small_body_client: TestClient) -> None:
        body = _is_problem(small_body_client.get("/api/v1/boom"), 500)
        assert "secret internal detail" not in str(body)
        assert "Traceback" not in str(body)


class TestPlatformEndpoints:
    def test_health_and_readiness(self, client: TestClient) -> None:
        assert client.get("/healthz").json()["status"] == "ok"
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "queue": "ok"}

    def test_readiness_fails_when_the_database_is_unreachable(
        self, settings: Settings, tmp_path: object
    ) -> None:
        from timbel.app import create_app

        broken = settings.model_copy(update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
        app: FastAPI = create_app(broken, run_jobs=False)
        with TestClient(app) as client:
            response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["database"].startswith("error")

    def test_metrics_count_requests_by_route_template(self, client: TestClient) -> None:
        client.get("/api/v1/users/some-id")
        client.get("/api/v1/users/other-id")
        text = client.get("/metrics").text
        assert (
            'timbel_http_requests_total{method="GET",route="/api/v1/users/{user_id}",status="401"} 2.0'
            in text
        )
        assert "timbel_http_request_duration_seconds_bucket" in text
        assert "timbel_jobs_total" in text or "timbel_jobs" in text

    def test_openapi_has_stable_unique_operation_ids(self, client: TestClient) -> None:
        spec = client.get("/api/openapi.json").json()
        ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
        assert len(ids) == len(set(ids))
        assert "read_me" in ids and "login" in ids and "list_audit_entries" in ids
        docs = client.get("/api/docs")
        assert docs.status_code == 200
        assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text


def test_public_marker_is_a_plain_dependency() -> None:
    assert callable(public)
