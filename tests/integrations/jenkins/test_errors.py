"""Failures: 401/403/404/500 and timeouts map to errors naming the instance; POSTs are sent once."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from tests.fakes.jenkins import JenkinsState
from tests.fakes.server import RunningFake
from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations.http import CircuitBreaker
from timbel.integrations.jenkins import JenkinsAdapter, JenkinsConfig, JenkinsNotFound

from .conftest import MakeAdapter, calls


@pytest.fixture
def job(state: JenkinsState) -> str:
    """A job at the root."""
    state.add_job("shop")
    return "shop"


class TestStatuses:
    def test_bad_token_is_an_auth_error_without_the_token(
        self, make_adapter: MakeAdapter, state: JenkinsState, job: str
    ) -> None:
        adapter = make_adapter(api_token="wrong-token-value")
        with pytest.raises(IntegrationAuthError) as caught:
            adapter.jobs()
        assert str(caught.value) == "Jenkins 'ci-test': credentials refused for GET /api/json (HTTP 401)"
        assert "wrong-token-value" not in str(caught.value) and state.api_token not in str(caught.value)

    def test_missing_permission_is_named(
        self, adapter: JenkinsAdapter, state: JenkinsState, job: str
    ) -> None:
        state.can_create = False
        with pytest.raises(
            IntegrationAuthError, match=r"missing the Job/Create permission for POST /createItem"
        ):
            adapter.upsert_job("new-job", config_xml="<flow-definition/>")

    def test_not_found_names_the_job(self, adapter: JenkinsAdapter) -> None:
        with pytest.raises(
            JenkinsNotFound, match=r"^Jenkins 'ci-test': job 'team/ghost' not found \(HTTP 404\)$"
        ):
            adapter.trigger("team/ghost")
        assert JenkinsNotFound.status == 404 and issubclass(JenkinsNotFound, IntegrationError)

    def test_server_error_is_an_integration_error(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState, job: str
    ) -> None:
        state.fail(500)
        with pytest.raises(IntegrationError) as caught:
            adapter.build(job, 1)
        assert type(caught.value) is IntegrationError
        assert (
            str(caught.value)
            == "Jenkins 'ci-test': unexpected answer (HTTP 500) for GET /job/shop/1/api/json"
        )
        assert len(fake.recorder.requests) == 1  # 500 is not a retry status

    def test_unavailable_reads_are_retried_with_backoff(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState, sleeps: list[float], job: str
    ) -> None:
        state.fail(503, times=2)
        assert adapter.jobs() == ["shop"]
        assert calls(fake.recorder) == ["GET /api/json?tree=jobs%5Bname%5D"] * 3
        assert sleeps == [0.01, 0.02]

    def test_posts_are_never_retried(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState, sleeps: list[float], job: str
    ) -> None:
        state.fail(503, prefix="/job/shop/build")
        with pytest.raises(
            IntegrationUnavailable, match=r"'ci-test': unavailable \(HTTP 503\) for POST /job/shop/build"
        ):
            adapter.trigger(job)
        assert calls(fake.recorder) == ["POST /job/shop/build"]
        assert sleeps == [] and state.queue == {}

    def test_timeout_is_unavailable(
        self, make_adapter: MakeAdapter, fake: RunningFake, state: JenkinsState
    ) -> None:
        state.stall_seconds = 0.6
        adapter = make_adapter(timeout_seconds=0.2, retries=0)
        with pytest.raises(IntegrationUnavailable, match=r"^Jenkins 'ci-test': timed out \(ReadTimeout\)$"):
            adapter.queued(7)

    def test_timeout_of_a_post_is_not_repeated(
        self, make_adapter: MakeAdapter, fake: RunningFake, state: JenkinsState, job: str
    ) -> None:
        state.stall_seconds = 0.6
        adapter = make_adapter(timeout_seconds=0.2, retries=3)
        with pytest.raises(IntegrationUnavailable, match="timed out"):
            adapter.stop(job, 1)
        assert calls(fake.recorder) == ["POST /job/shop/1/stop"]

    def test_breaker_opens_after_repeated_failures_and_recovers(
        self, fake: RunningFake, state: JenkinsState
    ) -> None:
        now = [0.0]
        breaker = CircuitBreaker("ci-test", failure_threshold=2, cooldown_seconds=30, clock=lambda: now[0])
        config = JenkinsConfig(
            name="ci-test",
            base_url=fake.base_url,
            username=state.username,
            api_token=SecretStr(state.api_token),
            retries=0,
        )
        adapter = JenkinsAdapter(config, breaker=breaker)
        state.fail(500, times=2)
        for _ in range(2):
            with pytest.raises(IntegrationError):
                adapter.jobs()
        with pytest.raises(IntegrationUnavailable, match="circuit open"):
            adapter.jobs()
        assert len(fake.recorder.requests) == 2
        now[0] = 31.0
        assert adapter.jobs() == []
        adapter.close()


class TestCrumb:
    def test_token_auth_sends_no_crumb(self, adapter: JenkinsAdapter, fake: RunningFake, job: str) -> None:
        adapter.trigger(job)
        assert calls(fake.recorder) == ["POST /job/shop/build"]
        assert "jenkins-crumb" not in fake.recorder.requests[0].headers

    def test_demanded_crumb_is_fetched_with_the_session_and_post_repeated_once(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState, job: str
    ) -> None:
        state.crumb_mode = "always"
        assert adapter.trigger(job).queue_id == 7
        assert adapter.trigger(job).queue_id == 8  # the crumb is kept for the session
        assert calls(fake.recorder) == [
            "POST /job/shop/build",
            "GET /crumbIssuer/api/json",
            "POST /job/shop/build",
            "POST /job/shop/build",
        ]
        ((session, crumb),) = state.sessions.items()
        for request in fake.recorder.requests[2:]:
            assert request.headers["jenkins-crumb"] == crumb
            assert f"JSESSIONID.fa4e0001={session}" in request.headers["cookie"]
        assert sorted(state.queue) == [7, 8]

    def test_configured_crumb_is_fetched_before_the_first_post(
        self, make_adapter: MakeAdapter, fake: RunningFake, state: JenkinsState, job: str
    ) -> None:
        state.crumb_mode = "always"
        make_adapter(always_crumb=True).trigger(job, parameters={"A": "1"})
        assert calls(fake.recorder) == ["GET /crumbIssuer/api/json", "POST /job/shop/buildWithParameters?A=1"]

    def test_expired_session_gets_a_new_crumb(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState, job: str
    ) -> None:
        state.crumb_mode = "always"
        adapter.trigger(job)
        state.sessions.clear()  # Jenkins restarted: old session and crumb are gone
        adapter.trigger(job)
        assert calls(fake.recorder)[3:] == [
            "POST /job/shop/build",
            "GET /crumbIssuer/api/json",
            "POST /job/shop/build",
        ]

    def test_crumb_refused_twice_is_an_auth_error(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState, job: str
    ) -> None:
        state.crumb_mode = "always"
        original = state.sessions

        class Forgetful(dict[str, str]):
            def setdefault(self, key: str, default: str) -> str:
                return default  # hands out crumbs it never stores

        state.sessions = Forgetful(original)
        with pytest.raises(
            IntegrationAuthError, match=r"CSRF crumb refused for POST /job/shop/build \(HTTP 403\)"
        ):
            adapter.trigger(job)
        assert calls(fake.recorder) == [
            "POST /job/shop/build",
            "GET /crumbIssuer/api/json",
            "POST /job/shop/build",
        ]


def test_transport_is_injectable_and_a_path_prefix_is_kept() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        return httpx.Response(201, headers={"Location": "http://jenkins.invalid/ci/queue/item/42/"})

    config = JenkinsConfig(
        name="mock", base_url="http://jenkins.invalid/ci", username="u", api_token=SecretStr("t")
    )
    assert JenkinsAdapter(config, transport=httpx.MockTransport(handler)).trigger("a/b").queue_id == 42
    assert seen == ["POST http://jenkins.invalid/ci/job/a/job/b/build"]
