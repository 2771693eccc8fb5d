"""Settings of one Alertmanager instance; secrets are ``SecretStr`` and never printed."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

SECRET_FIELDS = frozenset({"password", "bearer_token"})


class AlertmanagerConfig(BaseModel):
    """Where an Alertmanager lives and how to authenticate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200, description="Instance name used in every message")
    base_url: str = Field(description="e.g. http://alertmanager.internal:9093 (a path prefix is kept)")
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
        """Accept http(s) URLs without embedded credentials; drop a trailing slash."""
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http:// or https:// URL with a host")
        if parts.username or parts.password:
            raise ValueError("put credentials in username/password, not in base_url")
        if parts.query or parts.fragment:
            raise ValueError("base_url must not have a query or fragment")
        return value.strip().rstrip("/")
