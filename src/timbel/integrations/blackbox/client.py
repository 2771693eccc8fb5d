"""A small client for the Prometheus blackbox exporter: run one probe and read its result.

``GET /probe?target=&module=`` answers in the Prometheus text format; ``probe_success``,
``probe_duration_seconds``, ``probe_http_status_code`` and ``probe_ssl_earliest_cert_expiry`` are read
from it. The scrape-timeout header tells the exporter to finish before our own read timeout.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from timbel.core.errors import IntegrationError, ValidationFailed
from timbel.integrations.http import CircuitBreaker, RetryPolicy, as_integration_error, make_client

MODULE_RE = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+-?\d+)?$")
TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"


@dataclass(frozen=True)
class ProbeResult:
    """What one probe found; ``metrics`` holds every unlabelled sample of the answer."""

    target: str
    module: str
    success: bool
    duration_seconds: float | None = None
    http_status: int | None = None
    cert_expiry: datetime | None = None
    metrics: dict[str, float] = field(default_factory=dict)


class BlackboxClient:
    """Probe targets through one blackbox exporter."""

    def __init__(
        self,
        *,
        base_url: str,
        name: str = "blackbox",
        timeout_seconds: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name, self.timeout_seconds = name, timeout_seconds
        self._http = make_client(
            base_url=base_url.rstrip("/"), breaker=breaker, transport=transport, sleep=sleep,
            timeout=httpx.Timeout(timeout_seconds + 2.0, connect=min(5.0, timeout_seconds)),
            retry=RetryPolicy(attempts=1), headers={TIMEOUT_HEADER: f"{timeout_seconds:g}"},
        )  # fmt: skip

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def probe(self, target: str, *, module: str = "http_2xx") -> ProbeResult:
        """Run ``module`` against ``target`` now and return the parsed result."""
        if not MODULE_RE.fullmatch(module):
            raise ValidationFailed(f"'{module[:100]}' is not a blackbox module name")
        if not target or len(target) > 2000:
            raise ValidationFailed("a probe target must be 1–2000 characters")
        try:
            response = self._http.get("/probe", params={"target": target, "module": module})
        except httpx.HTTPError as exc:
            raise as_integration_error(f"blackbox exporter '{self.name}'", exc) from exc
        if response.status_code != 200:
            reason = response.text.strip()[:200]
            raise IntegrationError(
                f"blackbox exporter '{self.name}' refused the probe (HTTP {response.status_code}: {reason})"
            )
        metrics = parse_text(response.text)
        return ProbeResult(
            target=target, module=module, success=metrics.get("probe_success") == 1.0,
            duration_seconds=metrics.get("probe_duration_seconds"),
            http_status=_status(metrics.get("probe_http_status_code")),
            cert_expiry=_expiry(metrics.get("probe_ssl_earliest_cert_expiry")), metrics=metrics,
        )  # fmt: skip


def parse_text(text: str) -> dict[str, float]:
    """Unlabelled samples of a Prometheus text exposition (``name value [timestamp]``) by metric name."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None or match.group(2):
            continue
        try:
            samples[match.group(1)] = float(match.group(3))
        except ValueError:
            continue
    return samples


def _status(value: float | None) -> int | None:
    """An HTTP status code; 0 (no answer) is None."""
    return int(value) if value and math.isfinite(value) else None


def _expiry(value: float | None) -> datetime | None:
    """A certificate expiry from unix seconds; absent or 0 is None."""
    return datetime.fromtimestamp(value, tz=UTC) if value and math.isfinite(value) else None
