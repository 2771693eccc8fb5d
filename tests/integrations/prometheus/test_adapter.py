"""The Prometheus adapter against a real server, and its failure handling with injected transports."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.servers import free_port
from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations import base
from timbel.integrations.prometheus.adapter import PrometheusAdapter
from timbel.integrations.prometheus.client import PrometheusClient
from timbel.integrations.prometheus.config import PrometheusConfig

from .conftest import ExpositionServer

SECRET = "planted-prometheus-secret-7f3a"


class TestQueries:
    def test_instant_query_returns_samples(self, adapter: PrometheusAdapter) -> None:
        source: base.MetricsSource = adapter
        at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        assert source.query("vector(1)", at=at) == [base.Sample({}, [(at.timestamp(), 1.0)])]
        naive = source.query("vector(2)", at=at.replace(tzinfo=None))
        assert naive[0].points == [(at.timestamp(), 2.0)]

    def test_scalar_and_special_values(self, adapter: PrometheusAdapter) -> None:
        assert adapter.query("scalar(vector(3))")[0].points[0][1] == 3.0
        assert math.isinf(adapter.query("vector(+Inf)")[0].points[0][1])
        assert math.isnan(adapter.query("vector(NaN)")[0].points[0][1])

    def test_range_query_returns_every_step(self, adapter: PrometheusAdapter) -> None:
        end = datetime.now(tz=UTC).replace(microsecond=0)
        samples = adapter.query_range(
            'label_replace(vector(1), "k", "v", "", "")', start=end - timedelta(minutes=1), end=end,
            step_seconds=15,
        )  # fmt: skip
        assert len(samples) == 1
        assert samples[0].labels == {"k": "v"}
        assert [t for t, _ in samples[0].points] == [
            (end - timedelta(seconds=s)).timestamp() for s in (60, 45, 30, 15, 0)
        ]
        with pytest.raises(ValueError, match="step"):
            adapter.query_range("vector(1)", start=end, end=end, step_seconds=0)

    def test_scraped_series_and_targets(
        self, adapter: PrometheusAdapter, exposition: ExpositionServer
    ) -> None:
        exposition.body = '# TYPE timbel_build_info gauge\ntimbel_build_info{version="1.0"} 1\n'
        deadline = time.monotonic() + 20
        while not adapter.query('timbel_build_info{job="roundtrip"}'):
            assert time.monotonic() < deadline, adapter.targets()
            time.sleep(0.2)
        target = next(t for t in adapter.targets() if t.scrape_pool == "roundtrip")
        assert target.health == "up"
        assert target.labels == {"instance": exposition.address, "job": "roundtrip"}
        assert target.last_error == ""
        samples = adapter.query_range(
            'up{job="roundtrip"}', start=datetime.now(tz=UTC) - timedelta(seconds=30),
            end=datetime.now(tz=UTC), step_seconds=1,
        )  # fmt: skip
        assert samples and all(value == 1.0 for _, value in samples[0].points)

    def test_a_bad_query_names_the_instance_and_the_reason(self, adapter: PrometheusAdapter) -> None:
        with pytest.raises(IntegrationError, match=r"Prometheus 'prom-test' refused /api/v1/query: bad_data"):
            adapter.query("sum(")


class TestConnection:
    def test_reports_ready_version_and_query(self, adapter: PrometheusAdapter) -> None:
        assert isinstance(adapter, base.Testable)
        report = adapter.test_connection()
        assert report.ok, report
        assert [c.name for c in report.checks] == ["reachable", "version", "query"]
        assert report.version == "2.42.0+ds"

    def test_unreachable_server_is_a_precise_failure(self) -> None:
        url = f"http://127.0.0.1:{free_port()}"
        adapter = PrometheusAdapter(PrometheusConfig(name="prom-down", base_url=url, retries=0))
        report = adapter.test_connection()
        assert not report.ok
        assert [(c.name, c.ok) for c in report.checks] == [("reachable", False)]
        assert "Prometheus 'prom-down' is unreachable at http://127.0.0.1:" in report.checks[0].detail
        with pytest.raises(IntegrationUnavailable, match="prom-down"):
            adapter.query("vector(1)")

    def test_rejected_credentials_fail_authentication_without_leaking(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(401, text=f"bad token {SECRET}")

        config = PrometheusConfig(name="prom-proxy", base_url="http://prom.test", bearer_token=SECRET)
        adapter = PrometheusAdapter(config, transport=httpx.MockTransport(handler))
        report = adapter.test_connection()
        assert [(c.name, c.ok) for c in report.checks] == [("authentication", False)]
        assert SECRET not in repr(report) and SECRET not in repr(config)
        assert seen[0].headers["Authorization"] == f"Bearer {SECRET}"
        with pytest.raises(IntegrationAuthError) as caught:
            adapter.query("vector(1)")
        assert "prom-proxy" in str(caught.value) and SECRET not in str(caught.value)

    def test_basic_auth_is_sent_and_reported(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            assert request.headers["Authorization"].startswith("Basic ")
            if request.url.path == "/-/ready":
                return httpx.Response(200, text="Prometheus Server is Ready.\n")
            if request.url.path.endswith("buildinfo"):
                return httpx.Response(200, json={"status": "success", "data": {"version": "2.53.0"}})
            data = {"resultType": "vector", "result": [{"metric": {}, "value": [1, "1"]}]}
            return httpx.Response(200, json={"status": "success", "data": data})

        config = PrometheusConfig(
            name="p", base_url="http://prom.test/prefix/", username="u", password=SECRET
        )
        assert config.base_url == "http://prom.test/prefix"
        report = PrometheusAdapter(config, transport=httpx.MockTransport(handler)).test_connection()
        assert report.ok and report.version == "2.53.0"
        assert report.checks[-1].name == "authentication"


class TestRetries:
    def test_reads_retry_transient_failures_with_backoff(self) -> None:
        answers: list[httpx.Response | Exception] = [httpx.Response(503), httpx.ConnectError("x"), _success()]
        calls: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(request.url.path)
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        delays: list[float] = []
        config = PrometheusConfig(name="p", base_url="http://prom.test", retries=2, backoff_seconds=0.5)
        client = PrometheusClient(config, transport=httpx.MockTransport(handler), sleep=delays.append)
        assert client.query(promql="vector(1)")["resultType"] == "vector"
        assert calls == ["/api/v1/query"] * 3
        assert delays == [0.5, 1.0]

    def test_gives_up_after_the_retries(self) -> None:
        config = PrometheusConfig(name="p-flaky", base_url="http://prom.test", retries=1, backoff_seconds=0)
        transport = httpx.MockTransport(lambda request: httpx.Response(503))
        client = PrometheusClient(config, transport=transport, sleep=lambda _: None)
        with pytest.raises(IntegrationUnavailable, match=r"'p-flaky' is unavailable \(HTTP 503"):
            client.query(promql="vector(1)")

    def test_timeouts_become_unavailable(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("slow", request=request)

        config = PrometheusConfig(name="p-slow", base_url="http://prom.test", retries=0, timeout_seconds=2)
        with pytest.raises(IntegrationUnavailable, match=r"'p-slow' did not answer /api/v1/query within 2 s"):
            PrometheusClient(config, transport=httpx.MockTransport(handler)).query(promql="vector(1)")


class TestConfig:
    @pytest.mark.parametrize("url", ["ftp://x", "http://u:p@x", "http://x?q=1", "x:9090"])
    def test_refuses_bad_urls(self, url: str) -> None:
        with pytest.raises(ValueError, match="base_url"):
            PrometheusConfig(name="p", base_url=url)


def _success() -> httpx.Response:
    """A minimal successful query answer."""
    return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": []}})


def test_from_settings_builds_an_adapter_with_secret_fields() -> None:
    from timbel.integrations.prometheus.adapter import from_settings
    from timbel.integrations.prometheus.config import SECRET_FIELDS

    adapter = from_settings(
        {"name": "p", "base_url": "http://prom.test", "bearer_token": SECRET, "retries": 1}
    )
    assert adapter.config.bearer_token is not None and SECRET not in repr(adapter.config)
    assert {"password", "bearer_token"} == SECRET_FIELDS
    with pytest.raises(ValueError, match="extra"):
        from_settings({"name": "p", "base_url": "http://prom.test", "token": "x"})
