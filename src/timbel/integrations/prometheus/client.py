"""A thin httpx client for the Prometheus HTTP API (``/api/v1``, ``/-/ready``).

Reads are idempotent, so transport errors and 429/502/503/504 are retried with exponential backoff.
Every failure becomes an ``IntegrationError`` subclass naming the instance; messages carry the base URL
and path, never a credential (the config refuses credentials inside the URL).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations.http_service import service_client

from .config import PrometheusConfig

RETRY_STATUSES = frozenset({429, 502, 503, 504})
USER_AGENT = "timbel-prometheus"


class PrometheusClient:
    """Call one Prometheus instance; ``transport`` lets tests swap the network out."""

    def __init__(
        self,
        config: PrometheusConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._sleep = sleep
        self._http = service_client(config, user_agent=USER_AGENT, transport=transport)

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def ready(self) -> str:
        """``GET /-/ready``; return its text or raise when Prometheus is not ready."""
        return self._get("/-/ready").text.strip()

    def buildinfo(self) -> dict[str, Any]:
        """``GET /api/v1/status/buildinfo`` → ``{version, revision, branch, goVersion, …}``."""
        data = self._api("/api/v1/status/buildinfo")
        return data if isinstance(data, dict) else {}

    def query(self, *, promql: str, at: float | None = None) -> dict[str, Any]:
        """An instant query → ``{resultType, result}``."""
        params: dict[str, str] = {"query": promql}
        if at is not None:
            params["time"] = _number(at)
        return self._result(self._api("/api/v1/query", params))

    def query_range(self, *, promql: str, start: float, end: float, step: float) -> dict[str, Any]:
        """A range query → ``{resultType: matrix, result}``."""
        params = {"query": promql, "start": _number(start), "end": _number(end), "step": _number(step)}
        return self._result(self._api("/api/v1/query_range", params))

    def targets(self, *, state: str = "any") -> dict[str, Any]:
        """``GET /api/v1/targets`` → ``{activeTargets, droppedTargets}``."""
        data = self._api("/api/v1/targets", {"state": state})
        return data if isinstance(data, dict) else {}

    def _result(self, data: Any) -> dict[str, Any]:
        """Check that a query answer has the documented shape."""
        if not isinstance(data, dict) or "resultType" not in data:
            raise IntegrationError(f"Prometheus '{self.config.name}' answered a query without a resultType")
        return data

    def _api(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET an ``/api/v1`` path and return ``data`` of a ``{"status": "success"}`` answer."""
        response = self._get(path, params)
        body = _json(response, name=self.config.name)
        if not isinstance(body, dict) or body.get("status") != "success":
            raise IntegrationError(f"Prometheus '{self.config.name}' answered {path} without success status")
        return body.get("data")

    def _get(self, path: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        """GET with retries and backoff; map failures to the error hierarchy."""
        name = self.config.name
        attempts = self.config.retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._http.get(path, params=params)
            except httpx.TimeoutException as exc:
                if last:
                    raise IntegrationUnavailable(
                        f"Prometheus '{name}' did not answer {path} within {self.config.timeout_seconds:g} s"
                    ) from exc
            except httpx.TransportError as exc:
                if last:
                    raise IntegrationUnavailable(
                        f"Prometheus '{name}' is unreachable at {self.config.base_url} ({type(exc).__name__})"
                    ) from exc
            else:
                if response.status_code not in RETRY_STATUSES or last:
                    return self._checked(response, path)
            self._sleep(self.config.backoff_seconds * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _checked(self, response: httpx.Response, path: str) -> httpx.Response:
        """Return a 2xx response; raise the matching error otherwise."""
        name, status = self.config.name, response.status_code
        if status < 300:
            return response
        if status in (401, 403):
            raise IntegrationAuthError(
                f"Prometheus '{name}' refused the credentials (HTTP {status} on {path})"
            )
        if status in RETRY_STATUSES:
            raise IntegrationUnavailable(f"Prometheus '{name}' is unavailable (HTTP {status} on {path})")
        body = _json(response, name=name, strict=False)
        if isinstance(body, dict) and body.get("status") == "error":
            reason = f"{body.get('errorType', 'error')}: {body.get('error', '')}"
            raise IntegrationError(f"Prometheus '{name}' refused {path}: {reason}")
        raise IntegrationError(f"Prometheus '{name}' answered HTTP {status} on {path}")


def _json(response: httpx.Response, *, name: str, strict: bool = True) -> Any:
    """Decode a JSON body; a non-JSON body is an integration error when ``strict``."""
    try:
        return response.json()
    except ValueError as exc:
        if not strict:
            return None
        path = response.request.url.path
        raise IntegrationError(f"Prometheus '{name}' answered {path} with non-JSON") from exc


def _number(value: float) -> str:
    """Format a timestamp or step the way the API accepts (plain decimal seconds)."""
    return repr(float(value))
