"""Settings of one Jenkins instance; the API token is a ``SecretStr`` and never printed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from timbel.integrations.http_service import checked_base_url

from .paths import split_job


class JenkinsConfig(BaseModel):
    """Where a Jenkins lives, whom Timbel acts as, and the folder Timbel's jobs go to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200, description="Instance name used in every message")
    base_url: str = Field(
        description="e.g. https://jenkins.internal (a path prefix such as /jenkins is kept)"
    )
    username: str = Field(min_length=1, max_length=200, description="Jenkins user Timbel acts as")
    api_token: SecretStr = Field(description="API token of that user (Basic auth; no CSRF crumb needed)")
    folder: str = Field(
        default="",
        max_length=500,
        title="Folder for Timbel jobs",
        description="Folder for Timbel's jobs, e.g. timbel/builds (empty: root)",
    )
    always_crumb: bool = Field(
        default=False,
        title="Always send a CSRF crumb",
        description="Always send a CSRF crumb (only for servers that demand one with tokens)",
    )
    timeout_seconds: float = Field(default=15.0, gt=0, le=300, description="Per-request timeout in seconds")
    retries: int = Field(default=2, ge=0, le=10, description="Extra attempts for idempotent reads")
    backoff_seconds: float = Field(default=0.25, ge=0, le=30, description="First retry delay; doubles")
    verify_tls: bool = Field(default=True, description="Verify the server's TLS certificate")

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        """An http(s) URL without credentials, query or fragment; no trailing slash."""
        return checked_base_url(value, credentials="username/api_token")

    @field_validator("folder")
    @classmethod
    def _check_folder(cls, value: str) -> str:
        """Normalise ``a/b/`` to ``a/b`` and refuse names Jenkins would refuse."""
        value = value.strip().strip("/")
        return "/".join(split_job(value)) if value else ""
