"""Prometheus metrics of the platform itself (requests, latency, jobs)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class PlatformMetrics:
    """Metric families, one registry per app instance (tests create many apps)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "timbel_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "timbel_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.jobs = Counter(
            "timbel_jobs",
            "Background jobs by name and outcome (enqueued, succeeded, failed).",
            ["job", "outcome"],
            registry=self.registry,
        )
