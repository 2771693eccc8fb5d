"""A real Prometheus scraping an in-process exposition server, plus a file-SD directory it watches."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.servers import LOOPBACK
from tests.servers.prometheus import PrometheusServer, start_prometheus
from timbel.integrations.prometheus.adapter import PrometheusAdapter
from timbel.integrations.prometheus.config import PrometheusConfig


@dataclass
class ExpositionServer:
    """Serves ``body`` at ``/metrics`` in the Prometheus text format; ``address`` is ``host:port``."""

    server: ThreadingHTTPServer
    body: str = ""
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT`` as a scrape target."""
        return f"{LOOPBACK}:{self.server.server_address[1]}"


def _start_exposition() -> ExpositionServer:
    """Start a loopback exposition server on a kernel-chosen port in a daemon thread."""
    holder: dict[str, ExpositionServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            payload = holder["server"].body.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet."""

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    server.daemon_threads = True
    exposition = ExpositionServer(server)
    holder["server"] = exposition
    exposition.thread = threading.Thread(target=server.serve_forever, daemon=True)
    exposition.thread.start()
    return exposition


@pytest.fixture(scope="package")
def exposition() -> Iterator[ExpositionServer]:
    """A metrics endpoint Prometheus scrapes as job ``roundtrip`` (and file SD may point at)."""
    server = _start_exposition()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


@pytest.fixture(scope="package")
def sd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory whose ``*.json`` files Prometheus reads as ``file_sd_configs``."""
    return tmp_path_factory.mktemp("file-sd")


@pytest.fixture(scope="package")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, exposition: ExpositionServer, sd_dir: Path
) -> Iterator[PrometheusServer]:
    """A real Prometheus (1 s scrapes) with a static ``roundtrip`` job and a ``file-sd`` job."""
    scrape_configs = [
        {"job_name": "roundtrip", "static_configs": [{"targets": [exposition.address]}]},
        # The default refresh_interval (5 m) is left alone: pick-up must come from the file watch.
        {"job_name": "file-sd", "file_sd_configs": [{"files": [str(sd_dir / "*.json")]}]},
    ]
    server = start_prometheus(tmp_path_factory.mktemp("prometheus"), scrape_configs=scrape_configs)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def adapter(prometheus: PrometheusServer) -> Iterator[PrometheusAdapter]:
    """An adapter on the real server, with no retries so failures show at once."""
    config = PrometheusConfig(name="prom-test", base_url=prometheus.url, retries=0)
    client = PrometheusAdapter(config)
    try:
        yield client
    finally:
        client.close()
