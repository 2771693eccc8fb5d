"""The per-instance circuit breaker in front of shipped adapters: a Prometheus that keeps failing is no longer
called once the breaker opens, "test connection" says why, and the instance recovers after the cool-down."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import MakeUser, login
from tests.servers import LOOPBACK, free_port
from timbel.integrations.http import breaker_for

API = "/api/v1/integrations"


class Flaky:
    """What the loopback server answers, and how many requests reached it."""

    healthy = False
    hits = 0


class FlakyPrometheus(BaseHTTPRequestHandler):
    """503 while unhealthy; a Prometheus-shaped ready/buildinfo/query answer once healthy."""

    def do_GET(self) -> None:
        Flaky.hits += 1
        if not Flaky.healthy:
            body, status = b'{"status":"error","errorType":"unavailable","error":"down"}', 503
        elif self.path.startswith("/-/ready"):
            body, status = b"Prometheus Server is Ready.\n", 200
        elif self.path.startswith("/api/v1/status/buildinfo"):
            body, status = b'{"status":"success","data":{"version":"2.42.0"}}', 200
        else:
            body, status = b'{"status":"success","data":{"resultType":"vector","result":[]}}', 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


@pytest.fixture
def flaky_url() -> Iterator[str]:
    """A real loopback HTTP server that fails until told otherwise."""
    Flaky.healthy, Flaky.hits = False, 0
    server = ThreadingHTTPServer((LOOPBACK, free_port()), FlakyPrometheus)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{LOOPBACK}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_failing_instance_trips_its_breaker_and_recovers(
    client: TestClient, make_user: MakeUser, flaky_url: str
) -> None:
    admin = login(client, make_user(roles=("admin",)))
    created = client.post(
        API,
        json={"kind": "prometheus", "name": "prom-flaky", "base_url": flaky_url, "options": {"retries": 0}},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    instance_id = created.json()["id"]
    test_url = f"{API}/{instance_id}/test"

    for _ in range(5):
        report = client.post(test_url, headers=admin).json()
        assert report["ok"] is False
    hits_when_open = Flaky.hits
    assert breaker_for(instance_id).state == "open"

    refused = client.post(test_url, headers=admin).json()
    assert refused["ok"] is False
    assert "circuit open" in " ".join(check["detail"] for check in refused["checks"])
    assert Flaky.hits == hits_when_open  # failing fast: the server was not called

    Flaky.healthy = True
    breaker = breaker_for(instance_id)
    assert breaker.opened_at is not None
    breaker.opened_at -= breaker.cooldown_seconds + 1  # the cool-down is over
    recovered = client.post(test_url, headers=admin).json()
    assert recovered["ok"] is True, recovered
    assert breaker_for(instance_id).state == "closed"
    listed = {row["name"]: row for row in client.get(API, headers=admin).json()}
    assert listed["prom-flaky"]["health"] == "ok"
