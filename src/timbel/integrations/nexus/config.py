"""Settings of one Nexus Repository 3 instance (the docker hosted repository Timbel manages)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from timbel.integrations.http_service import checked_base_url


class NexusConfig(BaseModel):
    """Where Nexus is, which docker repository holds Timbel's images, and how to sign in (Basic)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, description="Instance name used in messages")
    base_url: str = Field(description="Nexus root, e.g. https://nexus.example.com (REST API under it)")
    repository: str = Field(
        min_length=1, max_length=200, description="Name of the docker hosted repository holding the images"
    )
    username: str | None = Field(default=None, description="Nexus user (empty for anonymous reads)")
    password: SecretStr | None = Field(default=None, description="Password or user token pass code")
    verify_tls: bool = Field(default=True, description="Check the server's TLS certificate")
    timeout_seconds: float = Field(default=10.0, gt=0, le=300, description="Read timeout per request")
    retries: int = Field(default=2, ge=0, le=5, description="Extra attempts for idempotent calls")
    backoff_seconds: float = Field(default=0.5, ge=0, le=10, description="First retry delay; doubles")
    retention_keep_last: int | None = Field(
        default=None, ge=0, le=10000, description="Retention: keep the newest N tags of each image"
    )
    retention_schedule_enabled: bool = Field(
        default=False, description="Retention: run the daily retention job for this instance"
    )
    retention_apply: bool = Field(
        default=False, description="Retention: the daily job deletes (off: it only reports)"
    )

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        """An http(s) URL without credentials, query or fragment; no trailing slash."""
        return checked_base_url(value, credentials="username/password")
