"""A thin httpx client for the Jenkins REST API (JSON ``api/json``, ``config.xml``, queue, progressive logs).

Why thin: Timbel needs the progressive log API (``X-Text-Size``/``X-More-Data``), the queue id from the
``Location`` header and exact control of retries, so every call goes through ``http.make_client`` (idempotent
retries, the instance's circuit breaker). POSTs are sent once, with one exception: a 403 "No valid crumb"
means Jenkins refused before acting, so the POST is repeated once with a fresh crumb (kept with the session
cookie, which the client's cookie jar keeps). See docs/decisions/0011-jenkins-client.md.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from timbel.core.errors import IntegrationAuthError, IntegrationError
from timbel.integrations.http import CircuitBreaker, RetryPolicy, as_integration_error, make_client

from .config import JenkinsConfig
from .errors import JenkinsNotFound

USER_AGENT = "timbel-jenkins"
NO_CRUMB = "No valid crumb"
_MISSING_PERMISSION = re.compile(r"is missing the ([\w/ ]{1,60}) permission")

Params = Mapping[str, str] | Sequence[tuple[str, str]]


class JenkinsClient:
    """Send requests to one Jenkins instance; ``transport`` lets tests swap the network out."""

    def __init__(
        self,
        config: JenkinsConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.label = f"Jenkins '{config.name}'"
        self._crumb: tuple[str, str] | None = None
        self._http = make_client(
            base_url=config.base_url,
            breaker=breaker,
            timeout=httpx.Timeout(config.timeout_seconds, connect=min(5.0, config.timeout_seconds)),
            retry=RetryPolicy(attempts=config.retries + 1, backoff_seconds=config.backoff_seconds),
            transport=transport,
            auth=httpx.BasicAuth(config.username, config.api_token.get_secret_value()),
            headers={"User-Agent": USER_AGENT},
            verify=config.verify_tls,
            sleep=sleep,
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def raw(self, method: str, path: str, *, params: Params | None = None) -> httpx.Response:
        """Send without judging the status (for probes that read headers of any answer)."""
        try:
            return self._http.request(method, path, params=_query(params))
        except httpx.HTTPError as exc:
            raise as_integration_error(self.label, exc) from exc

    def get(self, path: str, *, params: Params | None = None, what: str | None = None) -> httpx.Response:
        """GET (retried by the transport); a 404 names ``what``."""
        return self.check(self.raw("GET", path, params=params), what=what)

    def get_json(self, path: str, *, params: Params | None = None, what: str | None = None) -> dict[str, Any]:
        """GET a JSON object."""
        response = self.get(path, params=params, what=what)
        try:
            body = response.json()
        except ValueError as exc:
            raise IntegrationError(f"{self.label} answered {path} with non-JSON") from exc
        if not isinstance(body, dict):
            raise IntegrationError(f"{self.label} answered {path} with a non-object")
        return body

    def post(
        self,
        path: str,
        *,
        params: Params | None = None,
        xml: str | None = None,
        what: str | None = None,
        ok_statuses: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """POST once (with a crumb when needed); statuses in ``ok_statuses`` are returned, not raised."""
        if self.config.always_crumb and self._crumb is None:
            self._crumb = self._fetch_crumb()
        response = self._post_once(path, params=params, xml=xml)
        if response.status_code == 403 and NO_CRUMB in response.text:
            self._crumb = self._fetch_crumb()  # Jenkins acted on nothing: sending again is safe
            response = self._post_once(path, params=params, xml=xml)
        if response.status_code in ok_statuses:
            return response
        return self.check(response, what=what)

    def _post_once(self, path: str, *, params: Params | None, xml: str | None) -> httpx.Response:
        headers: dict[str, str] = {}
        if self._crumb is not None:
            headers[self._crumb[0]] = self._crumb[1]
        content: bytes | None = None
        if xml is not None:
            headers["Content-Type"] = "application/xml; charset=UTF-8"
            content = xml.encode("utf-8")
        try:
            return self._http.post(path, params=_query(params), content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise as_integration_error(self.label, exc) from exc

    def _fetch_crumb(self) -> tuple[str, str]:
        """``GET /crumbIssuer/api/json`` → (header name, crumb); the session cookie stays in the jar."""
        body = self.get_json("/crumbIssuer/api/json", what="the crumb issuer")
        field, crumb = body.get("crumbRequestField"), body.get("crumb")
        if not isinstance(field, str) or not isinstance(crumb, str) or not field or not crumb:
            raise IntegrationError(f"{self.label}: the crumb issuer answered without a crumb")
        return field, crumb

    def check(self, response: httpx.Response, *, what: str | None) -> httpx.Response:
        """Return a 2xx/3xx answer; raise the matching IntegrationError otherwise."""
        status = response.status_code
        if status < 400:
            return response
        where = f"{response.request.method} {response.request.url.path}"
        if status == 404:
            raise JenkinsNotFound(f"{self.label}: {what or where} not found (HTTP 404)")
        if status in (401, 403):
            missing = _MISSING_PERMISSION.search(response.text)
            reason = f"missing the {missing.group(1)} permission" if missing else "credentials refused"
            if NO_CRUMB in response.text:
                reason = "CSRF crumb refused"
            raise IntegrationAuthError(f"{self.label}: {reason} for {where} (HTTP {status})")
        try:
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            error = as_integration_error(self.label, exc)
            raise type(error)(f"{error.detail} for {where}") from exc
        raise AssertionError("unreachable")  # pragma: no cover


def _query(params: Params | None) -> httpx.QueryParams | None:
    """Query parameters in the order given (``None`` when there are none)."""
    if params is None:
        return None
    return httpx.QueryParams(tuple(params.items()) if isinstance(params, Mapping) else tuple(params))
