"""A thin httpx client for the Nexus 3 REST API (``/service/rest/v1``) with Basic auth.

Retries (idempotent calls only: GET and DELETE by id) and the per-instance circuit breaker come from
``timbel.integrations.http.make_client``; every failure becomes an ``IntegrationError`` subclass naming
the instance and the call, never a credential.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

import httpx

from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations.http import CircuitBreaker, RetryPolicy, as_integration_error, make_client

from .config import NexusConfig

API_PREFIX = "/service/rest/v1"
USER_AGENT = "timbel-nexus"
MAX_PAGES = 10_000  # a server that never stops handing out continuation tokens must not loop us forever


class NexusClient:
    """Call one Nexus instance; ``transport`` lets tests swap the network out."""

    def __init__(
        self,
        config: NexusConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        auth = None
        if config.username:
            password = config.password.get_secret_value() if config.password else ""
            auth = httpx.BasicAuth(config.username, password)
        common: dict[str, Any] = {
            "base_url": config.base_url + API_PREFIX,
            "timeout": httpx.Timeout(config.timeout_seconds, connect=min(5.0, config.timeout_seconds)),
            "retry": RetryPolicy(attempts=1 + config.retries, backoff_seconds=config.backoff_seconds),
            "transport": transport,
            "headers": {"Accept": "application/json", "User-Agent": USER_AGENT},
            "verify": config.verify_tls,
            "sleep": sleep,
        }
        self._http = make_client(breaker=breaker, auth=auth, **common)
        self._anonymous = make_client(breaker=breaker, **common)

    @property
    def name(self) -> str:
        """The instance name used in messages."""
        return self.config.name

    def close(self) -> None:
        """Release the connection pools."""
        self._http.close()
        self._anonymous.close()

    def probe(self, path: str, *, what: str) -> httpx.Response:
        """One GET without credentials answered as is (any status); raise only when unreachable."""
        return self._send(self._anonymous, "GET", path, what=what, params=None)

    def get(
        self, path: str, *, what: str, params: Mapping[str, str] | None = None, allow: Collection[int] = ()
    ) -> httpx.Response:
        """GET with credentials; return a 2xx or ``allow``-ed answer, raise the matching error else."""
        return self._checked(self._send(self._http, "GET", path, what=what, params=params), what, allow)

    def delete(self, path: str, *, what: str, allow: Collection[int] = ()) -> httpx.Response:
        """DELETE with credentials (idempotent: retried like a GET)."""
        return self._checked(self._send(self._http, "DELETE", path, what=what, params=None), what, allow)

    def json(self, response: httpx.Response, *, what: str) -> Any:
        """The decoded JSON body; a non-JSON answer is an ``IntegrationError``."""
        try:
            return response.json()
        except ValueError as exc:
            raise IntegrationError(f"Nexus '{self.name}' answered {what} with non-JSON") from exc

    def paged(self, path: str, *, what: str, params: Mapping[str, str]) -> Iterator[dict[str, Any]]:
        """Every ``items`` entry of a paged listing, following ``continuationToken`` page by page."""
        query = dict(params)
        seen: set[str] = set()
        for _page in range(MAX_PAGES):
            body = self.json(self.get(path, what=what, params=query), what=what)
            if not isinstance(body, dict):
                raise IntegrationError(f"Nexus '{self.name}' answered {what} without an items page")
            yield from (item for item in body.get("items") or [] if isinstance(item, dict))
            token = body.get("continuationToken")
            if not isinstance(token, str) or not token or token in seen:
                return
            seen.add(token)
            query["continuationToken"] = token

    def _send(
        self, http: httpx.Client, method: str, path: str, *, what: str, params: Mapping[str, str] | None
    ) -> httpx.Response:
        """Send one logical call; map transport failures to the error hierarchy."""
        try:
            return http.request(method, path, params=params)
        except IntegrationError:
            raise  # the circuit breaker refused the call
        except httpx.HTTPError as exc:
            error = as_integration_error(f"Nexus '{self.name}'", exc)
            raise type(error)(f"{error.detail} ({what})") from exc

    def _checked(self, response: httpx.Response, what: str, allow: Collection[int]) -> httpx.Response:
        """Return a 2xx or allowed answer; raise the matching error otherwise."""
        status = response.status_code
        if response.is_success or status in allow:
            return response
        if status == 401:
            raise IntegrationAuthError(f"Nexus '{self.name}' rejected the credentials ({what}: HTTP 401)")
        if status == 403:
            raise IntegrationAuthError(
                f"Nexus '{self.name}': the user lacks the permission for {what} (HTTP 403)"
            )
        if status in (429, 502, 503, 504) or status >= 500:
            raise IntegrationUnavailable(f"Nexus '{self.name}' is unavailable ({what}: HTTP {status})")
        raise IntegrationError(f"Nexus '{self.name}' refused {what} (HTTP {status}{_message(response)})")


def _message(response: httpx.Response) -> str:
    """``: <text>`` from a short plain or JSON error body, or empty."""
    text = response.text.strip().replace("\n", " ")
    return f": {text[:200]}" if text else ""
