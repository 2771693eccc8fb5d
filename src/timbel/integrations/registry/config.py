"""Settings of one Docker Registry v2 / OCI instance (credentials are secrets, never echoed)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator


class RegistryConfig(BaseModel):
    """Where a registry is and how Timbel signs in (anonymous, Basic, or Bearer tokens from its realm)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, description="Instance name used in messages")
    base_url: HttpUrl = Field(description="Registry root, e.g. https://registry.example.com")
    username: str | None = Field(default=None, description="Empty for anonymous access")
    password: SecretStr | None = Field(default=None, description="Password or access token")
    verify_tls: bool = True
    connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    read_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    retries: int = Field(default=2, ge=0, le=5, description="Extra attempts for idempotent calls")
    backoff_seconds: float = Field(default=0.5, ge=0, le=10)
    page_size: int = Field(default=100, ge=1, le=10000, description="Catalog and tags page size")
    retention_keep_last: int | None = Field(
        default=None, ge=0, le=10000, description="Retention: keep the newest N tags of each repository"
    )
    retention_schedule_enabled: bool = Field(
        default=False, description="Retention: run the daily retention job for this instance"
    )
    retention_apply: bool = Field(
        default=False, description="Retention: the daily job deletes (off: it only reports)"
    )

    @field_validator("base_url")
    @classmethod
    def _no_credentials_in_url(cls, value: HttpUrl) -> HttpUrl:
        """Credentials belong in ``username``/``password`` (secret fields), never in the URL."""
        if value.username or value.password:
            raise ValueError("put credentials in username/password, not in the URL")
        if value.query or value.fragment:
            raise ValueError("the registry URL takes no query or fragment")
        return value

    @property
    def root(self) -> str:
        """The base URL without a trailing slash."""
        return str(self.base_url).rstrip("/")
