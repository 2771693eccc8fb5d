"""httpx clients for integrations: explicit timeouts, retries for idempotent calls, a circuit breaker.

Why a transport wrapper: every request an adapter sends goes through one place that retries only what is
safe to repeat (GET/HEAD/PUT/DELETE/OPTIONS, on connection errors, timeouts and 502/503/504/429, with
exponential backoff) and that stops calling an instance which keeps failing. The breaker opens after
``failure_threshold`` consecutive failures, fails fast with ``IntegrationUnavailable`` during the cool-down,
then lets one trial request through (half-open): success closes it, failure opens it again. Breakers are
per instance and per process (``breaker_for``), so one broken Jenkins never slows calls to another.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import httpx

from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class BreakerState(StrEnum):
    """Where a circuit breaker is."""

    closed = "closed"
    open = "open"
    half_open = "half_open"


@dataclass
class CircuitBreaker:
    """Count consecutive failures of one instance; refuse calls for a cool-down once there are too many."""

    name: str
    failure_threshold: int = 5
    cooldown_seconds: float = 30.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    _trial_running: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def state(self) -> BreakerState:
        """Closed, open (failing fast) or half-open (the cool-down is over; one trial call may go)."""
        if self.opened_at is None:
            return BreakerState.closed
        if self.clock() - self.opened_at < self.cooldown_seconds:
            return BreakerState.open
        return BreakerState.half_open

    def before_call(self) -> None:
        """Raise IntegrationUnavailable while open (or while another half-open trial is running)."""
        with self._lock:
            state = self.state
            if state is BreakerState.closed:
                return
            if state is BreakerState.half_open and not self._trial_running:
                self._trial_running = True
                return
            assert self.opened_at is not None
            wait = max(0.0, self.cooldown_seconds - (self.clock() - self.opened_at))
        raise IntegrationUnavailable(
            f"{self.name}: not called after {self.failures} consecutive failures; "
            f"retrying in {wait:.0f} s (circuit open)",
            headers={"Retry-After": str(max(1, round(wait)))},
        )

    def record_success(self) -> None:
        """Close the breaker."""
        with self._lock:
            self.failures, self.opened_at, self._trial_running = 0, None, False

    def record_failure(self) -> None:
        """Count a failure; open (again) at the threshold or when a half-open trial failed."""
        with self._lock:
            self.failures += 1
            if self._trial_running or self.failures >= self.failure_threshold:
                self.opened_at = self.clock()
            self._trial_running = False


_BREAKERS: dict[str, CircuitBreaker] = {}
_BREAKERS_LOCK = threading.Lock()


def breaker_for(key: str, *, name: str | None = None, failure_threshold: int = 5,
                cooldown_seconds: float = 30.0) -> CircuitBreaker:  # fmt: skip
    """The process-wide breaker of one instance (``key`` is its id; ``name`` appears in errors)."""
    with _BREAKERS_LOCK:
        breaker = _BREAKERS.get(key)
        if breaker is None:
            breaker = CircuitBreaker(
                name or key, failure_threshold=failure_threshold, cooldown_seconds=cooldown_seconds
            )
            _BREAKERS[key] = breaker
        return breaker


def forget_breaker(key: str) -> None:
    """Drop an instance's breaker (after the instance changed or was deleted)."""
    with _BREAKERS_LOCK:
        _BREAKERS.pop(key, None)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently idempotent requests are retried."""

    attempts: int = 3  # total tries, the first one included
    backoff_seconds: float = 0.2  # doubled after every try
    max_backoff_seconds: float = 5.0

    def delay(self, attempt: int) -> float:
        """The pause after the ``attempt``-th failed try (1-based)."""
        return float(min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1)))


class ResilientTransport(httpx.BaseTransport):
    """Wrap a transport with the breaker and retries of one instance."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        breaker: CircuitBreaker | None,
        retry: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._inner, self._breaker, self._retry, self._sleep = inner, breaker, retry, sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send with retries (idempotent methods only), counting the outcome on the breaker."""
        attempts = self._retry.attempts if request.method.upper() in IDEMPOTENT_METHODS else 1
        for attempt in range(1, attempts + 1):
            if self._breaker is not None:
                self._breaker.before_call()
            try:
                response = self._inner.handle_request(request)
            except httpx.TransportError:
                self._record(ok=False)
                if attempt == attempts:
                    raise
            except BaseException:
                self._record(ok=False)  # never leave a half-open trial pending
                raise
            else:
                failed = response.status_code >= 500
                self._record(ok=not failed)
                if response.status_code not in RETRY_STATUSES or attempt == attempts:
                    return response
                response.close()
            self._sleep(self._retry.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _record(self, *, ok: bool) -> None:
        if self._breaker is not None:
            (self._breaker.record_success if ok else self._breaker.record_failure)()

    def close(self) -> None:
        """Close the wrapped transport."""
        self._inner.close()


def make_client(
    *,
    base_url: str,
    breaker: CircuitBreaker | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    retry: RetryPolicy | None = None,
    transport: httpx.BaseTransport | None = None,
    auth: httpx.Auth | tuple[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    verify: bool | str = True,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Client:
    """An httpx client for one instance; pass ``transport`` (e.g. ``httpx.MockTransport``) in tests."""
    inner = transport if transport is not None else httpx.HTTPTransport(verify=verify)
    return httpx.Client(
        base_url=base_url,
        timeout=timeout,
        auth=auth,
        headers=dict(headers or {}),
        transport=ResilientTransport(inner, breaker=breaker, retry=retry or RetryPolicy(), sleep=sleep),
        follow_redirects=False,
    )


def with_breaker(
    *, breaker: CircuitBreaker | None, transport: httpx.BaseTransport | None = None, verify: bool | str = True
) -> httpx.BaseTransport | None:
    """Put a breaker (and no retries) around a transport, for clients that already retry by themselves."""
    if breaker is None:
        return transport
    inner = transport if transport is not None else httpx.HTTPTransport(verify=verify)
    return ResilientTransport(inner, breaker=breaker, retry=RetryPolicy(attempts=1))


def as_integration_error(name: str, exc: httpx.HTTPError) -> IntegrationError:
    """Translate an httpx failure into the error hierarchy; the message names the instance, not the URL."""
    if isinstance(exc, httpx.TimeoutException):
        return IntegrationUnavailable(f"{name}: timed out ({type(exc).__name__})")
    if isinstance(exc, httpx.TransportError):
        return IntegrationUnavailable(f"{name}: cannot connect ({type(exc).__name__})")
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        if status in {401, 403}:
            return IntegrationAuthError(f"{name}: credentials refused (HTTP {status})")
        if status in {502, 503, 504}:
            return IntegrationUnavailable(f"{name}: unavailable (HTTP {status})")
        return IntegrationError(f"{name}: unexpected answer (HTTP {status})")
    return IntegrationError(f"{name}: request failed ({type(exc).__name__})")
