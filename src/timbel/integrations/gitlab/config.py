"""Settings of one GitLab instance; secrets are ``SecretStr`` and never printed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from timbel.integrations.http_service import checked_base_url


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
        """An http(s) URL without credentials, query or fragment; no trailing slash."""
        return checked_base_url(value, credentials="the token field").removesuffix("/api/v4")
