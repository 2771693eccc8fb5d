"""Settings of one GitHub instance (github.com or GitHub Enterprise Server); secrets are ``SecretStr``."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from timbel.integrations.http_service import checked_base_url

GITHUB_API = "https://api.github.com"
_WEB_HOST = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$")


class GitHubConfig(BaseModel):
    """Where the GitHub REST API lives, the token Timbel uses, and the webhook secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200, description="Instance name used in every message")
    base_url: str = Field(
        default=GITHUB_API,
        description="REST API root: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise",
    )
    token: SecretStr = Field(description="Personal access token (classic: repo scope) or fine-grained token")
    webhook_secret: SecretStr | None = Field(
        default=None, description="Secret GitHub signs webhook deliveries with (X-Hub-Signature-256)"
    )
    web_host: str | None = Field(
        default=None,
        description="Git host of clone URLs (host or host:port); empty: github.com, or the API's host",
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=300, description="Timeout of one API request")
    max_wait_seconds: float = Field(
        default=60.0, ge=0, le=3600, description="Longest wait for a rate limit to reset before giving up"
    )
    verify_tls: bool = Field(default=True, description="Verify the server's TLS certificate")

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        """An http(s) URL without credentials, query or fragment; no trailing slash."""
        return checked_base_url(value, credentials="the token field")

    @field_validator("web_host")
    @classmethod
    def _check_web_host(cls, value: str | None) -> str | None:
        """A bare host name or ``host:port`` (lower case), no scheme or path."""
        if value is None or not value.strip():
            return None
        host = value.strip().lower().rstrip(".")
        if not _WEB_HOST.match(host):
            raise ValueError("web_host must be a host name or host:port, e.g. github.example.com")
        return host

    def clone_host(self) -> str:
        """The git host of this instance's clone URLs (``host`` or ``host:port``)."""
        return clone_host_of(base_url=self.base_url, web_host=self.web_host)


def clone_host_of(*, base_url: str, web_host: str | None) -> str:
    """``web_host`` when set; else github.com for api.github.com, else the API's host (and odd port)."""
    if web_host and web_host.strip():
        return web_host.strip().lower().rstrip(".")
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if host == "api.github.com":
        return "github.com"
    default_port = 443 if parts.scheme == "https" else 80
    return f"{host}:{parts.port}" if parts.port and parts.port != default_port else host
