"""Settings and an httpx client for HTTP services behind optional Basic or Bearer auth (Prometheus-like).

Why shared: Prometheus and Alertmanager (and compatible APIs behind a reverse proxy) take the same settings —
a base URL with an optional path prefix, Basic or Bearer credentials, timeouts, retries — so their adapters
share one validated config and one client construction.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class HttpServiceConfig(BaseModel):
    """Where an HTTP service lives and how to authenticate (subclasses describe ``base_url``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200, description="Instance name used in every message")
    base_url: str = Field(description="e.g. http://service.internal:9090 (a path prefix is kept)")
    username: str | None = Field(default=None, description="Basic auth user (reverse proxy)")
    password: SecretStr | None = Field(default=None, description="Basic auth password")
    bearer_token: SecretStr | None = Field(default=None, description="Bearer token (reverse proxy)")
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    retries: int = Field(default=2, ge=0, le=10, description="Extra attempts for idempotent reads")
    backoff_seconds: float = Field(default=0.25, ge=0, le=30, description="First retry delay; doubles")
    verify_tls: bool = True

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return checked_base_url(value, credentials="username/password")


def checked_base_url(value: str, *, credentials: str) -> str:
    """An http(s) URL with a host and no credentials, query or fragment, without a trailing slash
    (``credentials`` names the fields credentials belong in, for the error message)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("base_url must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError(f"put credentials in {credentials}, not in base_url")
    if parts.query or parts.fragment:
        raise ValueError("base_url must not have a query or fragment")
    return value.strip().rstrip("/")


def service_client(
    config: HttpServiceConfig, *, user_agent: str, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """An httpx client for the service: JSON accept header, Bearer or Basic auth, explicit timeouts."""
    headers = {"Accept": "application/json", "User-Agent": user_agent}
    if config.bearer_token is not None:
        headers["Authorization"] = f"Bearer {config.bearer_token.get_secret_value()}"
    auth = None
    if config.username is not None:
        password = config.password.get_secret_value() if config.password else ""
        auth = httpx.BasicAuth(config.username, password)
    return httpx.Client(
        base_url=config.base_url,
        headers=headers,
        auth=auth,
        timeout=httpx.Timeout(config.timeout_seconds, connect=min(5.0, config.timeout_seconds)),
        transport=transport,
        verify=config.verify_tls,
        follow_redirects=False,
    )
