"""Settings of one GitLab instance; secrets are ``SecretStr`` and never printed."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class GitLabConfig(BaseModel):
    """Where GitLab lives, the API token Timbel uses, and the token GitLab sends with webhooks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200, description="Instance name used in every message")
    base_url: str = Field(description="GitLab root URL, e.g. https://gitlab.example.com (without /api/v4)")
    token: SecretStr = Field(description="Personal, group or project access token (read_api scope)")
    webhook_token: SecretStr | None = Field(
        default=None, description="Secret token GitLab sends with webhooks (X-Gitlab-Token)"
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=300, description="Timeout of one API request")
    verify_tls: bool = Field(default=True, description="Verify the server's TLS certificate")

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        """Accept http(s) URLs without credentials, query or fragment; drop a trailing slash."""
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http:// or https:// URL with a host")
        if parts.username or parts.password:
            raise ValueError("put the token in the token field, not in base_url")
        if parts.query or parts.fragment:
            raise ValueError("base_url must not have a query or fragment")
        return value.strip().rstrip("/").removesuffix("/api/v4")
