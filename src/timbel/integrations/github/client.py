"""An httpx client for the GitHub REST API: headers, rate-limit waits, ``Link`` paging, error mapping.

Why rate limits are handled below the shared retrying transport: GitHub answers an exhausted limit with
403/429 plus ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset`` (or ``Retry-After`` for secondary
limits). Such a request was not executed, so it is safe to send again — even a POST — once the limit
resets. Waiting happens here with an injected clock and sleep, at most ``max_wait_seconds``, then the
request is retried once; a longer wait (or a second refusal) is an ``IntegrationUnavailable`` naming the
reset time. Plain 429s without those headers are left to ``timbel.integrations.http``'s backoff.
Next-page links are followed only on the API's own origin, so the token never travels elsewhere.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations.http import CircuitBreaker, as_integration_error, make_client

from .config import GitHubConfig

API_VERSION = "2022-11-28"
MEDIA_TYPE = "application/vnd.github+json"
USER_AGENT = "timbel-github"
MAX_PAGES = 100
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class GitHubNotFound(IntegrationError):
    """GitHub answered 404: the repository or hook does not exist, or the token cannot see it."""

    status = 404
    code = "github-not-found"
    title = "Not found on GitHub"


class GitHubRateLimited(IntegrationUnavailable):
    """GitHub's rate limit is exhausted and resets later than Timbel is willing to wait."""

    code = "github-rate-limited"
    title = "GitHub rate limit exhausted"


@dataclass(frozen=True)
class RateLimit:
    """The ``X-RateLimit-*`` headers of one answer (None when absent)."""

    limit: int | None
    remaining: int | None
    reset: int | None  # Unix seconds
    resource: str | None = None

    @classmethod
    def of(cls, headers: httpx.Headers) -> RateLimit:
        """Read the rate-limit headers of an answer."""
        return cls(
            limit=_int(headers.get("X-RateLimit-Limit")),
            remaining=_int(headers.get("X-RateLimit-Remaining")),
            reset=_int(headers.get("X-RateLimit-Reset")),
            resource=headers.get("X-RateLimit-Resource"),
        )


def reset_time(reset: int | None) -> str:
    """A reset timestamp as ISO 8601 UTC (``unknown`` when missing)."""
    if reset is None:
        return "unknown"
    return datetime.fromtimestamp(reset, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class RateLimitTransport(httpx.BaseTransport):
    """Wait out GitHub's primary and secondary rate limits (bounded), then retry the request once."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        name: str,
        max_wait_seconds: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._inner, self._name, self._max_wait = inner, name, max_wait_seconds
        self._clock, self._sleep = clock, sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send; on a rate-limit refusal wait for the reset (at most ``max_wait_seconds``), retry once."""
        response = self._inner.handle_request(request)
        wait = self._wait(response)
        if wait is None:
            return response
        response.close()
        if wait > self._max_wait:
            raise self._exhausted(
                response, f"not waiting {wait:.0f} s (max_wait_seconds is {self._max_wait:g})"
            )
        self._sleep(wait)
        response = self._inner.handle_request(request)
        if self._wait(response) is not None:
            response.close()
            raise self._exhausted(response, "still refused after waiting once")
        return response

    def close(self) -> None:
        """Close the wrapped transport."""
        self._inner.close()

    def _wait(self, response: httpx.Response) -> float | None:
        """Seconds to wait when ``response`` is a rate-limit refusal, else None."""
        if response.status_code not in (403, 429):
            return None
        retry_after = _int(response.headers.get("Retry-After"))
        if retry_after is not None:
            return float(max(1, retry_after))
        limit = RateLimit.of(response.headers)
        if limit.remaining == 0 and limit.reset is not None:
            return max(1.0, limit.reset - self._clock())
        return None

    def _exhausted(self, response: httpx.Response, why: str) -> GitHubRateLimited:
        """The error for a limit Timbel will not wait for, naming when it resets."""
        limit = RateLimit.of(response.headers)
        retry_after = _int(response.headers.get("Retry-After"))
        if retry_after is not None:
            what = f"secondary rate limit (Retry-After {retry_after} s)"
            seconds = retry_after
        else:
            what = f"rate limit exhausted until {reset_time(limit.reset)}"
            seconds = max(1, int((limit.reset or 0) - self._clock()))
        return GitHubRateLimited(
            f"GitHub '{self._name}': {what}; {why}", headers={"Retry-After": str(seconds)}
        )


class GitHubClient:
    """Call one GitHub instance's REST API; ``transport`` lets tests swap the network out."""

    def __init__(
        self,
        config: GitHubConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        inner = transport if transport is not None else httpx.HTTPTransport(verify=config.verify_tls)
        limited = RateLimitTransport(
            inner, name=config.name, max_wait_seconds=config.max_wait_seconds, clock=clock, sleep=sleep
        )
        headers = {
            "Accept": MEDIA_TYPE,
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
            "Authorization": f"Bearer {config.token.get_secret_value()}",
        }
        self._origin = _origin(config.base_url)
        self._http = make_client(
            base_url=config.base_url,
            breaker=breaker,
            transport=limited,
            headers=headers,
            timeout=httpx.Timeout(config.timeout_seconds, connect=min(5.0, config.timeout_seconds)),
            sleep=sleep,
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> httpx.Response:
        """GET a path of the API; return a 2xx answer or raise."""
        return self._send("GET", path, params=params)

    def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """GET a path and decode its JSON body."""
        return self.decode(self.get(path, params), f"GET {path}")

    def paged(self, path: str, params: Mapping[str, str | int], *, limit: int) -> list[Any]:
        """GET a list, following ``Link: rel="next"`` on the API's own origin until ``limit`` items."""
        items: list[Any] = []
        url: str | None = path
        query: Mapping[str, str | int] | None = params
        for _ in range(MAX_PAGES):
            if url is None or len(items) >= limit:
                break
            response = self._send("GET", url, params=query, what=f"GET {path}")
            page = self.decode(response, f"GET {path}")
            if not isinstance(page, list):
                raise IntegrationError(f"GitHub '{self.config.name}' answered GET {path} without a list")
            items.extend(page)
            url, query = self._next(response, path), None
        return items[:limit]

    def post_json(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST a JSON body and decode the JSON answer."""
        return self.decode(self._send("POST", path, json=dict(body)), f"POST {path}")

    def delete(self, path: str) -> None:
        """DELETE a path (GitHub answers 204)."""
        self._send("DELETE", path)

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        what: str | None = None,
    ) -> httpx.Response:
        """Send one request; map transport failures and non-2xx answers to the error hierarchy."""
        what = what or f"{method} {url}"
        try:
            response = self._http.request(method, url, params=params, json=json)
        except httpx.HTTPError as exc:
            raise as_integration_error(f"GitHub '{self.config.name}'", exc) from exc
        return self._checked(response, what)

    def _checked(self, response: httpx.Response, what: str) -> httpx.Response:
        """Return a 2xx response; raise the matching error otherwise."""
        name, status = self.config.name, response.status_code
        if status < 300:
            return response
        message = _message(response)
        if status == 401:
            raise IntegrationAuthError(f"GitHub '{name}' refused the token (HTTP 401 on {what}: {message})")
        if status == 403:
            raise IntegrationAuthError(f"GitHub '{name}' denied {what} to this token (HTTP 403: {message})")
        if status == 404:
            raise GitHubNotFound(
                f"GitHub '{name}': {what} found nothing (HTTP 404; or the token cannot see it)"
            )
        if status in (502, 503, 504):
            raise IntegrationUnavailable(f"GitHub '{name}' is unavailable (HTTP {status} on {what})")
        raise IntegrationError(f"GitHub '{name}' refused {what} (HTTP {status}: {message})")

    def decode(self, response: httpx.Response, what: str) -> Any:
        """Decode a JSON body (an empty body is None)."""
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise IntegrationError(f"GitHub '{self.config.name}' answered {what} with non-JSON") from exc

    def _next(self, response: httpx.Response, path: str) -> str | None:
        """The next page's URL from ``Link``; refuse one that leaves the API's origin."""
        match = _LINK_NEXT.search(response.headers.get("Link", ""))
        if match is None:
            return None
        url = match.group(1)
        if _origin(url) != self._origin:
            raise IntegrationError(
                f"GitHub '{self.config.name}' sent a next-page link for GET {path} to another host"
            )
        return url


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of a URL, for same-origin checks."""
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _message(response: httpx.Response) -> str:
    """GitHub's ``message`` of an error answer, shortened (its bodies never echo the token)."""
    try:
        body = response.json()
    except ValueError:
        return "no details"
    text = str(body.get("message", "no details")) if isinstance(body, dict) else "no details"
    return text[:200]


def _int(value: str | None) -> int | None:
    """An integer header value, or None."""
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None
