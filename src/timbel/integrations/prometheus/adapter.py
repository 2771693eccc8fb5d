"""The Prometheus adapter: ``base.MetricsSource`` plus scrape targets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations.base import Check, ConnectionReport, IntegrationKind, Sample

from .client import PrometheusClient
from .config import PrometheusConfig

PROBE_QUERY = "vector(1)"


@dataclass(frozen=True)
class Target:
    """One active scrape target as Prometheus sees it."""

    scrape_pool: str
    scrape_url: str
    health: str
    labels: dict[str, str] = field(default_factory=dict)
    discovered_labels: dict[str, str] = field(default_factory=dict)
    last_error: str = ""
    last_scrape: str | None = None


class PrometheusAdapter:
    """Query metrics and list targets of one Prometheus instance."""

    kind = IntegrationKind.prometheus

    def __init__(self, config: PrometheusConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.client = PrometheusClient(config, transport=transport)

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()

    def query(self, promql: str, *, at: datetime | None = None) -> list[Sample]:
        """An instant query; build ``promql`` with ``promql.selector`` for any user value."""
        data = self.client.query(promql=promql, at=None if at is None else _seconds(at))
        return self._samples(data)

    def query_range(
        self, promql: str, *, start: datetime, end: datetime, step_seconds: float
    ) -> list[Sample]:
        """A range query from ``start`` to ``end`` every ``step_seconds``."""
        if step_seconds <= 0:
            raise ValueError("step_seconds must be positive")
        data = self.client.query_range(
            promql=promql, start=_seconds(start), end=_seconds(end), step=step_seconds
        )
        return self._samples(data)

    def targets(self) -> list[Target]:
        """The active scrape targets with health, labels and last error."""
        data = self.client.targets(state="active")
        return [_target(item) for item in data.get("activeTargets") or []]

    def test_connection(self) -> ConnectionReport:
        """Check reachability/readiness, the version, and that instant queries are allowed."""
        checks: list[Check] = []
        version: str | None = None
        steps = (("reachable", self.client.ready), ("version", self.client.buildinfo))
        for name, call in (*steps, ("query", lambda: self.client.query(promql=PROBE_QUERY))):
            try:
                answer = call()
            except IntegrationAuthError as exc:
                checks.append(Check("authentication", False, str(exc)))
                break
            except IntegrationUnavailable as exc:
                checks.append(Check(name, False, str(exc)))
                break
            except IntegrationError as exc:
                checks.append(Check(name, False, str(exc)))
                continue
            if name == "reachable":
                checks.append(Check(name, True, f"{self.config.base_url}/-/ready: {answer}"))
            elif name == "version":
                version = str(answer.get("version") or "") or None if isinstance(answer, dict) else None
                checks.append(Check(name, version is not None, f"Prometheus {version or 'unknown version'}"))
            else:
                checks.append(Check(name, True, f"instant query {PROBE_QUERY} answered"))
        if checks and all(check.ok for check in checks) and _has_credentials(self.config):
            checks.append(Check("authentication", True, "credentials accepted"))
        return ConnectionReport(checks=checks, version=version)

    def _samples(self, data: dict[str, Any]) -> list[Sample]:
        """Turn a vector, matrix or scalar answer into samples."""
        kind, result = data.get("resultType"), data.get("result")
        try:
            if kind == "vector":
                return [Sample(dict(r["metric"]), [_point(r["value"])]) for r in result or []]
            if kind == "matrix":
                return [Sample(dict(r["metric"]), [_point(v) for v in r["values"]]) for r in result or []]
            if kind == "scalar":
                return [Sample({}, [_point(result)])]
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise IntegrationError(f"Prometheus '{self.config.name}' answered a malformed {kind}") from exc
        name = self.config.name
        raise IntegrationError(f"Prometheus '{name}' answered an unsupported result type {kind!r}")


def from_settings(
    data: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None
) -> PrometheusAdapter:
    """Build an adapter from stored instance settings (``name``, ``base_url``, options and secrets)."""
    return PrometheusAdapter(PrometheusConfig.model_validate(dict(data)), transport=transport)


def _point(pair: Any) -> tuple[float, float]:
    """``[timestamp, "value"]`` → ``(timestamp, value)``; ``NaN`` and ``±Inf`` parse as floats."""
    timestamp, value = pair
    return float(timestamp), float(value)


def _target(item: dict[str, Any]) -> Target:
    """One ``activeTargets`` entry of ``/api/v1/targets``."""
    return Target(
        scrape_pool=str(item.get("scrapePool", "")),
        scrape_url=str(item.get("scrapeUrl", "")),
        health=str(item.get("health", "unknown")),
        labels=dict(item.get("labels") or {}),
        discovered_labels=dict(item.get("discoveredLabels") or {}),
        last_error=str(item.get("lastError") or ""),
        last_scrape=item.get("lastScrape"),
    )


def _seconds(moment: datetime) -> float:
    """Unix seconds of ``moment``; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _has_credentials(config: PrometheusConfig) -> bool:
    """True when the instance is configured with Basic or Bearer credentials."""
    return config.username is not None or config.bearer_token is not None
