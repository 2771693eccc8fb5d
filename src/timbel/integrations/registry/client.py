"""HTTP access to one registry: timeouts, retries for idempotent calls, and the auth challenge flow.

Why here and not in the adapter: every call (catalog, tags, manifests, blobs, delete) needs the same
anonymous → Basic / Bearer negotiation and the same error mapping, so the adapter only speaks paths and
scopes. Retries with backoff cover GET/HEAD only; a DELETE or upload is sent once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

import httpx

from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations.registry.auth import Challenge, TokenCache, parse_challenge
from timbel.integrations.registry.config import RegistryConfig

IDEMPOTENT = frozenset({"GET", "HEAD"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
USER_AGENT = "timbel-registry/1"


class RegistryClient:
    """An httpx client bound to one registry instance; ``transport`` is injectable for tests."""

    def __init__(
        self,
        config: RegistryConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.name = config.name
        self._sleep = sleep
        self._tokens = TokenCache(clock=clock)
        self._scheme: str | None = None  # learned from the first challenge: "basic" or "bearer"
        timeout = httpx.Timeout(config.read_timeout_seconds, connect=config.connect_timeout_seconds)
        self._http = httpx.Client(
            timeout=timeout,
            transport=transport,
            verify=config.verify_tls,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def url(self, path: str) -> str:
        """Absolute URL of a registry path (``/v2/…``) or the URL itself when already absolute."""
        return path if path.startswith(("http://", "https://")) else f"{self.config.root}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        scope: str | None,
        what: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        content: bytes | None = None,
        allow: Collection[int] = (),
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """Send with auth negotiation; return 2xx or ``allow``-ed answers, raise ``IntegrationError`` else."""
        extra: dict[str, Any] = {"params": params, "content": content, "follow_redirects": follow_redirects}
        url = self.url(path)
        response = self._send(method, url, headers, self._credentials(scope), what, extra)
        for _round in range(2):
            if response.status_code != 401:
                break
            challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
            authorization = self._answer(challenge, scope=scope, what=what, sent=response.request)
            response = self._send(method, url, headers, authorization, what, extra)
        if response.status_code == 401:
            raise self._unauthorized(response, what)
        if response.is_success or response.status_code in allow:
            return response
        raise self.failure(response, what)

    def probe(self, path: str, *, what: str) -> httpx.Response:
        """One unauthenticated GET answered as is (any status); raise only when unreachable."""
        return self._send("GET", self.url(path), None, None, what, {})

    def failure(self, response: httpx.Response, what: str) -> IntegrationError:
        """The error for an unexpected answer, naming the instance and the registry's error codes."""
        status = response.status_code
        reason = f"{what}: HTTP {status}{_error_codes(response)}"
        if status in (401, 403):
            return IntegrationAuthError(f"registry '{self.name}' denied access ({reason})")
        if status in RETRY_STATUSES or status >= 500:
            return IntegrationUnavailable(f"registry '{self.name}' is unavailable ({reason})")
        return IntegrationError(f"registry '{self.name}' refused the request ({reason})")

    def _credentials(self, scope: str | None) -> str | None:
        """The Authorization header to send up front, once the auth scheme is known."""
        if self._scheme == "basic":
            return self._basic()
        if self._scheme == "bearer":
            token = self._tokens.get(scope or "")
            return f"Bearer {token}" if token else None
        return None

    def _basic(self) -> str | None:
        """A Basic Authorization header from the configured credentials, or None when anonymous."""
        if not self.config.username:
            return None
        password = self.config.password.get_secret_value() if self.config.password else ""
        auth = httpx.BasicAuth(self.config.username, password)
        request = next(auth.auth_flow(httpx.Request("GET", self.config.root)))
        return request.headers["Authorization"]

    def _answer(
        self, challenge: Challenge | None, *, scope: str | None, what: str, sent: httpx.Request
    ) -> str:
        """Answer a 401 challenge with Basic credentials or a fresh Bearer token; raise when we cannot."""
        if challenge is None:
            raise IntegrationAuthError(f"registry '{self.name}' answered 401 without a challenge ({what})")
        if challenge.is_bearer:
            self._scheme = "bearer"
            token_scope = scope or challenge.params.get("scope", "")
            sent_token = sent.headers.get("Authorization", "").startswith("Bearer ")
            if sent_token and challenge.params.get("error") == "insufficient_scope":
                raise IntegrationAuthError(
                    f"registry '{self.name}': the credentials do not grant scope '{token_scope}' ({what})"
                )
            token, expires_in = self._fetch_token(challenge, scope=token_scope, what=what)
            self._tokens.put(scope or "", token, expires_in=expires_in)
            return f"Bearer {token}"
        if challenge.scheme == "basic":
            self._scheme = "basic"
            basic = self._basic()
            if basic is None:
                raise IntegrationAuthError(f"registry '{self.name}' requires credentials ({what})")
            if sent.headers.get("Authorization") == basic:
                raise IntegrationAuthError(f"registry '{self.name}' rejected the credentials ({what})")
            return basic
        raise IntegrationAuthError(
            f"registry '{self.name}' asks for unsupported auth scheme '{challenge.scheme}' ({what})"
        )

    def _fetch_token(self, challenge: Challenge, *, scope: str, what: str) -> tuple[str, float | None]:
        """GET the challenge's realm (Basic credentials when configured) and return (token, expires_in)."""
        realm = challenge.params.get("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise IntegrationAuthError(
                f"registry '{self.name}' sent a token challenge without a usable realm"
            )
        params: list[tuple[str, str]] = []
        if challenge.params.get("service"):
            params.append(("service", challenge.params["service"]))
        params.extend(("scope", part) for part in scope.split() if part)
        if self.config.username:
            params.append(("account", self.config.username))
        headers = {}
        basic = self._basic()
        if basic:
            headers["Authorization"] = basic
        token_what = f"token for {what}"
        response = self._send("GET", realm, headers, None, token_what, {"params": params})
        if response.status_code in (401, 403):
            raise IntegrationAuthError(f"registry '{self.name}': the token service rejected the credentials")
        if not response.is_success:
            raise self.failure(response, token_what)
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
            expires_in = body.get("expires_in")
        except (ValueError, AttributeError):
            token, expires_in = None, None
        if not isinstance(token, str) or not token:
            raise IntegrationAuthError(f"registry '{self.name}': the token service answered without a token")
        return token, float(expires_in) if isinstance(expires_in, int | float) else None

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        authorization: str | None,
        what: str,
        extra: Mapping[str, Any],
    ) -> httpx.Response:
        """One logical call: retried with exponential backoff when idempotent, sent once otherwise."""
        merged = dict(headers or {})
        if authorization:
            merged["Authorization"] = authorization
        attempts = 1 + (self.config.retries if method in IDEMPOTENT else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._http.request(method, url, headers=merged, **extra)
            except httpx.TimeoutException as exc:
                if last:
                    raise IntegrationUnavailable(f"registry '{self.name}' timed out ({what})") from exc
            except httpx.TransportError as exc:
                if last:
                    raise IntegrationUnavailable(
                        f"registry '{self.name}' cannot be reached ({what}: {type(exc).__name__})"
                    ) from exc
            else:
                if last or response.status_code not in RETRY_STATUSES:
                    return response
                response.close()
            self._sleep(self.config.backoff_seconds * (2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _unauthorized(self, response: httpx.Response, what: str) -> IntegrationAuthError:
        """The error when a 401 persists after answering the challenge."""
        return IntegrationAuthError(
            f"registry '{self.name}' rejected the credentials ({what}){_error_codes(response)}"
        )


def _error_codes(response: httpx.Response) -> str:
    """`` [CODE: message, …]`` from the registry's ``{"errors": [...]}`` body, or empty."""
    try:
        errors = response.json().get("errors") or []
        parts = [
            f"{e.get('code', '?')}: {e.get('message', '')}".strip() for e in errors if isinstance(e, dict)
        ]
    except (ValueError, AttributeError, httpx.ResponseNotRead):
        return ""
    return f" [{'; '.join(parts)[:300]}]" if parts else ""
