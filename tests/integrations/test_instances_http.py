"""The integration HTTP client: retries only idempotent calls with exponential backoff; the per-instance
circuit breaker opens after N consecutive failures, fails fast, lets one trial through, and recovers."""

from __future__ import annotations

import httpx
import pytest

from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations.http import (
    BreakerState,
    CircuitBreaker,
    RetryPolicy,
    as_integration_error,
    breaker_for,
    forget_breaker,
    make_client,
)


class Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Server:
    """A MockTransport handler that answers from a script and records every request."""

    def __init__(self, *answers: int | type[Exception]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, int):
            return httpx.Response(answer, json={"status": answer})
        raise answer("boom", request=request)  # type: ignore[call-arg]


def _client(server: Server, *, breaker: CircuitBreaker | None = None, sleeps: list[float] | None = None,
            attempts: int = 3) -> httpx.Client:  # fmt: skip
    recorded = sleeps if sleeps is not None else []
    return make_client(
        base_url="http://127.0.0.1:9",
        transport=httpx.MockTransport(server),
        breaker=breaker,
        retry=RetryPolicy(attempts=attempts, backoff_seconds=0.1, max_backoff_seconds=0.25),
        sleep=recorded.append,
    )


class TestRetries:
    def test_idempotent_calls_are_retried_with_exponential_backoff(self) -> None:
        server, sleeps = Server(503, 502, 200), list[float]()
        with _client(server, sleeps=sleeps) as client:
            assert client.get("/v2/").status_code == 200
        assert server.calls == ["GET /v2/"] * 3
        assert sleeps == [0.1, 0.2]

    @pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE"])
    def test_connection_errors_are_retried_for_idempotent_methods(self, method: str) -> None:
        server = Server(httpx.ConnectError, httpx.ReadTimeout, 204)
        with _client(server) as client:
            assert client.request(method, "/x").status_code == 204
        assert len(server.calls) == 3

    def test_post_is_never_retried(self) -> None:
        server, sleeps = Server(503, 200), list[float]()
        with _client(server, sleeps=sleeps) as client:
            assert client.post("/job/build").status_code == 503
        failing = Server(httpx.ConnectError, 200)
        with _client(failing, sleeps=sleeps) as client, pytest.raises(httpx.ConnectError):
            client.post("/job/build")
        assert server.calls == ["POST /job/build"] and failing.calls == ["POST /job/build"]
        assert sleeps == []

    def test_backoff_is_capped_and_the_last_answer_is_returned(self) -> None:
        server, sleeps = Server(503), list[float]()
        with _client(server, sleeps=sleeps, attempts=5) as client:
            assert client.get("/").status_code == 503
        assert sleeps == [0.1, 0.2, 0.25, 0.25]

    def test_client_errors_are_not_retried(self) -> None:
        server = Server(404)
        with _client(server) as client:
            assert client.get("/missing").status_code == 404
        assert len(server.calls) == 1

    def test_timeouts_are_explicit(self) -> None:
        with make_client(base_url="http://127.0.0.1:9") as client:
            assert client.timeout.connect == 5.0 and client.timeout.read == 10.0


class TestCircuitBreaker:
    def test_opens_after_consecutive_failures_then_fails_fast_without_calling(self) -> None:
        clock = Clock()
        breaker = CircuitBreaker("jenkins-prod", failure_threshold=3, cooldown_seconds=30, clock=clock)
        server = Server(500)
        with _client(server, breaker=breaker, attempts=1) as client:
            for _ in range(3):
                assert client.get("/api/json").status_code == 500
            assert breaker.state is BreakerState.open
            with pytest.raises(IntegrationUnavailable) as caught:
                client.get("/api/json")
        assert len(server.calls) == 3  # the fast failure never reached the server
        assert "jenkins-prod" in caught.value.detail and "circuit open" in caught.value.detail
        assert caught.value.headers["Retry-After"] == "30"

    def test_half_open_trial_success_closes_it(self) -> None:
        clock = Clock()
        breaker = CircuitBreaker("registry", failure_threshold=2, cooldown_seconds=10, clock=clock)
        server = Server(503, 503, 200)
        with _client(server, breaker=breaker, attempts=1) as client:
            client.get("/v2/")
            client.get("/v2/")
            clock.now += 10
            assert breaker.state is BreakerState.half_open
            assert client.get("/v2/").status_code == 200
            assert breaker.opened_at is None and breaker.failures == 0  # closed
            assert client.get("/v2/").status_code == 200

    def test_half_open_trial_failure_opens_it_again_at_once(self) -> None:
        clock = Clock()
        breaker = CircuitBreaker("prometheus", failure_threshold=2, cooldown_seconds=10, clock=clock)
        server = Server(httpx.ConnectError)
        with _client(server, breaker=breaker, attempts=1) as client:
            for _ in range(2):
                with pytest.raises(httpx.ConnectError):
                    client.get("/-/healthy")
            clock.now += 10
            with pytest.raises(httpx.ConnectError):
                client.get("/-/healthy")  # the trial
            assert breaker.state is BreakerState.open
            with pytest.raises(IntegrationUnavailable):
                client.get("/-/healthy")
        assert len(server.calls) == 3

    def test_only_one_trial_goes_through_while_half_open(self) -> None:
        clock = Clock()
        breaker = CircuitBreaker("argocd", failure_threshold=1, cooldown_seconds=5, clock=clock)
        breaker.record_failure()
        clock.now += 5
        breaker.before_call()  # the trial is running
        with pytest.raises(IntegrationUnavailable):
            breaker.before_call()
        breaker.record_success()
        breaker.before_call()

    def test_retries_stop_when_the_breaker_opens(self) -> None:
        breaker = CircuitBreaker("nexus", failure_threshold=2, cooldown_seconds=60, clock=Clock())
        server = Server(503)
        with _client(server, breaker=breaker, attempts=5) as client, pytest.raises(IntegrationUnavailable):
            client.get("/service/rest/v1/status")
        assert len(server.calls) == 2

    def test_success_resets_the_count(self) -> None:
        breaker = CircuitBreaker("x", failure_threshold=2, clock=Clock())
        server = Server(500, 200, 500, 200)
        with _client(server, breaker=breaker, attempts=1) as client:
            for _ in range(4):
                client.get("/")
        assert breaker.state is BreakerState.closed

    def test_breakers_are_per_instance(self) -> None:
        first, second = breaker_for("id-1", name="a"), breaker_for("id-2", name="b")
        try:
            assert first is breaker_for("id-1") and first is not second
            forget_breaker("id-1")
            assert breaker_for("id-1") is not first
        finally:
            forget_breaker("id-1")
            forget_breaker("id-2")


class TestErrorTranslation:
    def _status_error(self, status: int) -> httpx.HTTPStatusError:
        request = httpx.Request("GET", "http://127.0.0.1:9/private?token=abc")
        return httpx.HTTPStatusError("x", request=request, response=httpx.Response(status, request=request))

    def test_every_failure_names_the_instance_and_not_the_url(self) -> None:
        request = httpx.Request("GET", "http://127.0.0.1:9/private?token=abc")
        cases: list[tuple[httpx.HTTPError, type[IntegrationError]]] = [
            (httpx.ConnectTimeout("t", request=request), IntegrationUnavailable),
            (httpx.ConnectError("c", request=request), IntegrationUnavailable),
            (self._status_error(401), IntegrationAuthError),
            (self._status_error(503), IntegrationUnavailable),
            (self._status_error(500), IntegrationError),
        ]
        for exc, expected in cases:
            error = as_integration_error("jenkins-prod", exc)
            assert type(error) is expected
            assert error.detail.startswith("jenkins-prod:") and "token" not in error.detail
