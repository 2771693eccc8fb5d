"""A thin httpx client for the Alertmanager API v2.

Only idempotent calls (GET, DELETE of a silence) are retried with exponential backoff; posting alerts and
creating silences are sent once. Every failure becomes an ``IntegrationError`` subclass naming the
instance; messages carry the base URL and path, never a credential.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations.http_service import service_client

from .config import AlertmanagerConfig

RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
USER_AGENT = "timbel-alertmanager"
_SILENCE_ID = re.compile(r"[0-9A-Za-z-]{1,64}")

Params = Mapping[str, str | Sequence[str]]


class AlertmanagerClient:
    """Call one Alertmanager instance; ``transport`` lets tests swap the network out."""

    def __init__(
        self,
        config: AlertmanagerConfig,
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
        """``GET /-/ready``; return its text or raise when Alertmanager is not ready."""
        return self._send("GET", "/-/ready").text.strip()

    def status(self) -> dict[str, Any]:
        """``GET /api/v2/status`` → ``{cluster, versionInfo, config, uptime}``."""
        body = self._json("GET", "/api/v2/status")
        return body if isinstance(body, dict) else {}

    def post_alerts(self, *, alerts: Sequence[Mapping[str, Any]]) -> None:
        """``POST /api/v2/alerts`` (sent once: not retried)."""
        self._send("POST", "/api/v2/alerts", json=list(alerts))

    def alerts(self, *, filters: Sequence[str] = (), **flags: bool) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts`` with matcher ``filters`` and active/silenced/inhibited flags."""
        params: dict[str, str | Sequence[str]] = {k: str(v).lower() for k, v in flags.items()}
        if filters:
            params["filter"] = list(filters)
        body = self._json("GET", "/api/v2/alerts", params=params)
        return list(body) if isinstance(body, list) else []

    def silences(self, *, filters: Sequence[str] = ()) -> list[dict[str, Any]]:
        """``GET /api/v2/silences`` (every state: active, pending, expired)."""
        body = self._json("GET", "/api/v2/silences", params={"filter": list(filters)} if filters else None)
        return list(body) if isinstance(body, list) else []

    def silence(self, *, silence_id: str) -> dict[str, Any]:
        """``GET /api/v2/silence/{id}``."""
        body = self._json("GET", f"/api/v2/silence/{_checked_id(silence_id)}")
        return body if isinstance(body, dict) else {}

    def create_silence(self, *, silence: Mapping[str, Any]) -> str:
        """``POST /api/v2/silences`` (sent once) → the new silence id."""
        body = self._json("POST", "/api/v2/silences", json=dict(silence))
        if not isinstance(body, dict) or not body.get("silenceID"):
            raise IntegrationError(f"Alertmanager '{self.config.name}' created a silence without an id")
        return str(body["silenceID"])

    def expire_silence(self, *, silence_id: str) -> None:
        """``DELETE /api/v2/silence/{id}``."""
        self._send("DELETE", f"/api/v2/silence/{_checked_id(silence_id)}")

    def _json(self, method: str, path: str, *, params: Params | None = None, json: Any = None) -> Any:
        """Send and decode a JSON answer."""
        response = self._send(method, path, params=params, json=json)
        try:
            return response.json()
        except ValueError as exc:
            raise IntegrationError(
                f"Alertmanager '{self.config.name}' answered {path} with non-JSON"
            ) from exc

    def _send(
        self, method: str, path: str, *, params: Params | None = None, json: Any = None
    ) -> httpx.Response:
        """Send one request; retry idempotent ones with backoff; map failures to the error hierarchy."""
        name = self.config.name
        attempts = self.config.retries + 1 if method in IDEMPOTENT else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._http.request(method, path, params=params, json=json)
            except httpx.TimeoutException as exc:
                if last:
                    raise IntegrationUnavailable(
                        f"Alertmanager '{name}' did not answer {method} {path} "
                        f"within {self.config.timeout_seconds:g} s"
                    ) from exc
            except httpx.TransportError as exc:
                if last:
                    raise IntegrationUnavailable(
                        f"Alertmanager '{name}' is unreachable at {self.config.base_url} "
                        f"({type(exc).__name__})"
                    ) from exc
            else:
                if response.status_code not in RETRY_STATUSES or last:
                    return self._checked(response, method, path)
            self._sleep(self.config.backoff_seconds * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _checked(self, response: httpx.Response, method: str, path: str) -> httpx.Response:
        """Return a 2xx response; raise the matching error otherwise."""
        name, status = self.config.name, response.status_code
        if status < 300:
            return response
        if status in (401, 403):
            raise IntegrationAuthError(
                f"Alertmanager '{name}' refused the credentials (HTTP {status} on {method} {path})"
            )
        if status in RETRY_STATUSES:
            raise IntegrationUnavailable(f"Alertmanager '{name}' is unavailable (HTTP {status} on {path})")
        reason = _reason(response)
        raise IntegrationError(
            f"Alertmanager '{name}' answered HTTP {status} on {method} {path}"
            + (f": {reason}" if reason else "")
        )


def _reason(response: httpx.Response) -> str:
    """The error text of a 4xx/5xx answer (a JSON string, ``{message}`` or plain text), shortened."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        body = body.get("message") or body.get("error") or ""
    return str(body).strip()[:300]


def _checked_id(silence_id: str) -> str:
    """Refuse anything but a plain silence id, so it cannot change the request path."""
    if not _SILENCE_ID.fullmatch(silence_id):
        raise ValueError(f"not a silence id: {silence_id!r}")
    return silence_id
