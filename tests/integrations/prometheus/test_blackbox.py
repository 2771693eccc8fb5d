"""Blackbox probing end to end: a real blackbox exporter, a real Prometheus whose probe job reads targets
from a file-SD file written by ``file_sd.write_file_sd`` while it runs (no restart), and the small
``BlackboxClient`` probing directly."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import LOOPBACK, free_port
from tests.servers.blackbox import BlackboxServer, start_blackbox
from tests.servers.prometheus import PrometheusServer, start_prometheus
from timbel.core.errors import IntegrationError, IntegrationUnavailable
from timbel.integrations.blackbox import BlackboxClient, parse_text
from timbel.integrations.prometheus.adapter import PrometheusAdapter
from timbel.integrations.prometheus.config import PrometheusConfig
from timbel.integrations.prometheus.file_sd import write_file_sd
from timbel.integrations.prometheus.promql import selector

PICKUP_TIMEOUT = 45.0  # file-SD batches updates about every 5 s; scrapes run every second


class _Handler(BaseHTTPRequestHandler):
    """``/broken`` answers 500, everything else 200."""

    def do_GET(self) -> None:
        status = 500 if self.path.startswith("/broken") else 200
        body = b"ok" if status == 200 else b"broken"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    """A loopback HTTP service to probe; its ``host:port``."""
    server = ThreadingHTTPServer((LOOPBACK, 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def blackbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlackboxServer]:
    """A real blackbox exporter with ``http_2xx`` and ``tcp_connect``."""
    server = start_blackbox(tmp_path_factory.mktemp("blackbox"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the probe job's file-SD files live (empty when Prometheus starts)."""
    return tmp_path_factory.mktemp("probe-sd")


@pytest.fixture(scope="module")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, blackbox: BlackboxServer, probe_dir: Path
) -> Iterator[PrometheusServer]:
    """Prometheus with the standard blackbox ``relabel_configs`` probe job over ``probe_dir/*.json``."""
    probe_job = {
        "job_name": "blackbox-http",
        "metrics_path": "/probe",
        "params": {"module": ["http_2xx"]},
        "file_sd_configs": [{"files": [str(probe_dir / "*.json")]}],
        "relabel_configs": [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"source_labels": ["__param_target"], "target_label": "instance"},
            {"target_label": "__address__", "replacement": blackbox.address},
        ],
    }
    server = start_prometheus(tmp_path_factory.mktemp("prometheus-bb"), scrape_configs=[probe_job])
    try:
        yield server
    finally:
        server.stop()


def _wait_for(adapter: PrometheusAdapter, promql: str) -> float:
    """Poll an instant query until it has a sample; return its value."""
    deadline = time.monotonic() + PICKUP_TIMEOUT
    while time.monotonic() < deadline:
        samples = adapter.query(promql)
        if samples:
            return samples[0].points[-1][1]
        time.sleep(0.25)
    raise AssertionError(f"no sample for {promql} within {PICKUP_TIMEOUT} s")


def test_probe_targets_from_file_sd_without_restarting_prometheus(
    prometheus: PrometheusServer, probe_dir: Path, web: str
) -> None:
    pid = prometheus.pid
    dead = f"{LOOPBACK}:{free_port()}"
    write_file_sd(probe_dir / "shop.json", [{"targets": [web, dead], "labels": {"service": "shop-api"}}])
    adapter = PrometheusAdapter(PrometheusConfig(name="prom-bb", base_url=prometheus.url, retries=0))
    try:
        assert _wait_for(adapter, selector("probe_success", instance=web, service="shop-api")) == 1.0
        assert _wait_for(adapter, selector("probe_success", instance=dead)) == 0.0
        assert _wait_for(adapter, selector("probe_http_status_code", instance=web)) == 200.0
    finally:
        adapter.close()
    assert prometheus.pid == pid and prometheus.process.poll() is None


class TestBlackboxClient:
    def test_success_status_and_duration(self, blackbox: BlackboxServer, web: str) -> None:
        client = BlackboxClient(base_url=blackbox.url, timeout_seconds=5)
        try:
            result = client.probe(f"http://{web}/health")
        finally:
            client.close()
        assert result.success and result.http_status == 200 and result.module == "http_2xx"
        assert result.duration_seconds is not None and 0 < result.duration_seconds < 5
        assert result.cert_expiry is None  # plain HTTP

    def test_failures_are_results_not_errors(self, blackbox: BlackboxServer, web: str) -> None:
        client = BlackboxClient(base_url=blackbox.url, timeout_seconds=5)
        try:
            broken = client.probe(f"http://{web}/broken")
            closed = client.probe(f"{LOOPBACK}:{free_port()}", module="tcp_connect")
        finally:
            client.close()
        assert not broken.success and broken.http_status == 500
        assert not closed.success and closed.http_status is None

    def test_an_unknown_module_and_an_unreachable_exporter_raise(self, blackbox: BlackboxServer) -> None:
        client = BlackboxClient(base_url=blackbox.url, name="bb-test")
        with pytest.raises(
            IntegrationError, match=r"blackbox exporter 'bb-test' refused the probe \(HTTP 400"
        ):
            client.probe("127.0.0.1:1", module="no_such_module")
        client.close()
        gone = BlackboxClient(base_url=f"http://{LOOPBACK}:{free_port()}", name="bb-gone")
        with pytest.raises(IntegrationUnavailable, match="bb-gone"):
            gone.probe("127.0.0.1:1")
        gone.close()

    def test_sends_the_scrape_timeout_and_reads_cert_expiry(self) -> None:
        seen: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            text = (
                "probe_success 1\nprobe_ssl_earliest_cert_expiry 1.7982144e+09\nprobe_http_status_code 204\n"
            )
            return httpx.Response(200, text=text)

        client = BlackboxClient(
            base_url="http://bb.invalid", timeout_seconds=4, transport=httpx.MockTransport(answer)
        )
        result = client.probe("https://shop.example", module="http_2xx")
        assert (
            result.cert_expiry is not None and result.cert_expiry.year == 2026 and result.http_status == 204
        )
        assert seen[0].headers["X-Prometheus-Scrape-Timeout-Seconds"] == "4"
        assert seen[0].url.params["target"] == "https://shop.example"


def test_parse_text_keeps_unlabelled_samples() -> None:
    text = (
        '# HELP x\nprobe_success 1\nprobe_http_duration_seconds{phase="tls"} 0.5\nup 1 1700000000000\nbad x\n'
    )
    assert parse_text(text) == {"probe_success": 1.0, "up": 1.0}
