"""A thin httpx client for the Kubernetes API: TLS from PEM text, bearer/basic/client-certificate auth.

Requests go through ``timbel.integrations.http.make_client``: explicit timeouts, retries with backoff for
idempotent methods only (GET; never PATCH/POST) and the instance's circuit breaker. Failures become
``IntegrationError`` subclasses naming the instance; a ``Status`` message from the server is quoted
unless the request carried secret data (``sensitive=True``).
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import tempfile
import time
from collections.abc import Callable, Mapping
from typing import Any

import certifi
import httpx

from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations.http import CircuitBreaker, make_client

from .config import KubernetesConfig
from .kubeconfig import KubeCredentials

APPLY_PATCH = "application/apply-patch+yaml"
USER_AGENT = "timbel-kubernetes"
_MESSAGE_LIMIT = 300


class KubernetesNotFound(IntegrationError):
    """The object or resource type does not exist (HTTP 404)."""


class KubernetesForbidden(IntegrationAuthError):
    """Authenticated, but RBAC refused the request (HTTP 403)."""


class KubernetesRejected(IntegrationError):
    """The API server refused a request body (HTTP 400/409/422)."""


def ssl_context(creds: KubeCredentials) -> ssl.SSLContext:
    """A TLS context with the CA (or system roots) and the client certificate, built from PEM text."""
    if creds.insecure_skip_tls_verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif creds.ca_pem:
        context = ssl.create_default_context(cadata=creds.ca_pem)
    else:
        context = ssl.create_default_context(cafile=certifi.where())
    if creds.client_cert_pem and creds.client_key_pem:
        _load_client_certificate(context, cert_pem=creds.client_cert_pem, key_pem=creds.client_key_pem)
    return context


def _load_client_certificate(context: ssl.SSLContext, *, cert_pem: str, key_pem: str) -> None:
    """``load_cert_chain`` only reads files: write 0600 files in a 0700 directory, load, delete at once."""
    with tempfile.TemporaryDirectory(prefix="timbel-kube-") as directory:
        paths = []
        for filename, content in (("client.crt", cert_pem), ("client.key", key_pem)):
            path = os.path.join(directory, filename)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(content)
            paths.append(path)
        try:
            context.load_cert_chain(certfile=paths[0], keyfile=paths[1])
        except ssl.SSLError:
            raise ValueError("the client certificate and key do not load (mismatched or malformed)") from None
        finally:
            for path in paths:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)


class KubeClient:
    """Call one API server; ``transport`` lets tests swap the network out."""

    def __init__(
        self,
        config: KubernetesConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.name = config.name
        creds = config.credentials()
        self.credentials = creds
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if creds.token:
            headers["Authorization"] = f"Bearer {creds.token}"
        auth = httpx.BasicAuth(creds.username, creds.password or "") if creds.username else None
        if transport is None and creds.server.startswith("https://"):
            transport = httpx.HTTPTransport(verify=ssl_context(creds))
        self._extensions = {"sni_hostname": creds.tls_server_name} if creds.tls_server_name else {}
        self._http = make_client(
            base_url=creds.server,
            breaker=breaker,
            timeout=httpx.Timeout(config.timeout_seconds, connect=min(5.0, config.timeout_seconds)),
            transport=transport,
            auth=auth,
            headers=headers,
            sleep=sleep,
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def get(self, path: str, *, params: Mapping[str, str] | None = None) -> Any:
        """GET a JSON document."""
        return self._json(self.send("GET", path, params=params), path)

    def get_optional(self, path: str) -> dict[str, Any] | None:
        """GET an object; None when it does not exist."""
        try:
            data = self.get(path)
        except KubernetesNotFound:
            return None
        return data if isinstance(data, dict) else None

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST a JSON body (not retried)."""
        response = self.send("POST", path, content=json.dumps(body), content_type="application/json")
        return self._json(response, path)

    def apply(self, path: str, body: Mapping[str, Any], *, field_manager: str, sensitive: bool) -> Any:
        """Server-side apply: PATCH ``apply-patch+yaml`` (JSON is YAML) with ``force=true``."""
        params = {"fieldManager": field_manager, "force": "true"}
        response = self.send(
            "PATCH", path, params=params, content=json.dumps(body), content_type=APPLY_PATCH,
            sensitive=sensitive,
        )  # fmt: skip
        return self._json(response, path)

    def status_of(self, path: str) -> tuple[int, str]:
        """GET ``path`` and return (status, text) without raising on 4xx/5xx (health endpoints)."""
        response = self._request("GET", path)
        if response.status_code in (401, 403):
            self._raise(response, path, sensitive=False)
        return response.status_code, response.text[:_MESSAGE_LIMIT]

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        content: str | None = None,
        content_type: str | None = None,
        sensitive: bool = False,
    ) -> httpx.Response:
        """Send one request; return a 2xx response or raise the matching error."""
        response = self._request(method, path, params=params, content=content, content_type=content_type)
        if response.status_code >= 300:
            self._raise(response, path, sensitive=sensitive)
        return response

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        content: str | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        headers = {"Content-Type": content_type} if content_type else None
        try:
            return self._http.request(
                method, path, params=params, content=content, headers=headers, extensions=self._extensions
            )
        except httpx.TimeoutException as exc:
            raise IntegrationUnavailable(
                f"Kubernetes '{self.name}' did not answer {method} {path} within "
                f"{self.config.timeout_seconds:g} s"
            ) from exc
        except httpx.TransportError as exc:
            raise IntegrationUnavailable(
                f"Kubernetes '{self.name}' is unreachable at {self.credentials.server} ({_reason(exc)})"
            ) from exc

    def _raise(self, response: httpx.Response, path: str, *, sensitive: bool) -> None:
        name, status = self.name, response.status_code
        method = response.request.method
        detail = "" if sensitive else _status_message(response)
        suffix = f": {detail}" if detail else ""
        if status == 401:
            raise IntegrationAuthError(
                f"Kubernetes '{name}' rejected the credentials (HTTP 401 on {method} {path}: the token or "
                "client certificate is missing, invalid or expired)"
            )
        if status == 403:
            raise KubernetesForbidden(f"Kubernetes '{name}' forbids {method} {path} (HTTP 403){suffix}")
        if status == 404:
            raise KubernetesNotFound(f"Kubernetes '{name}' has no {path} (HTTP 404)")
        if status == 429 or status >= 500:
            raise IntegrationUnavailable(f"Kubernetes '{name}' is unavailable (HTTP {status} on {path})")
        if status in (400, 409, 415, 422):
            raise KubernetesRejected(f"Kubernetes '{name}' rejected {method} {path} (HTTP {status}){suffix}")
        raise IntegrationError(f"Kubernetes '{name}' answered HTTP {status} on {method} {path}{suffix}")

    def _json(self, response: httpx.Response, path: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise IntegrationError(f"Kubernetes '{self.name}' answered {path} with non-JSON") from None


def _status_message(response: httpx.Response) -> str:
    """The ``message`` of a ``kind: Status`` error body, shortened; '' when there is none."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    message = str(body.get("message") or body.get("reason") or "")
    return message if len(message) <= _MESSAGE_LIMIT else message[: _MESSAGE_LIMIT - 1] + "…"


def _reason(exc: httpx.TransportError) -> str:
    """A short cause: the exception class, plus the TLS verification reason when there is one."""
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return f"{type(exc).__name__}: TLS certificate verification failed"
    return type(exc).__name__
