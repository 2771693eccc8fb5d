"""Settings of one Argo CD instance; the account token and password are ``SecretStr`` and never printed."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class ArgoCDConfig(BaseModel):
    """Where an Argo CD API server lives and how Timbel authenticates (an account token, or a user)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200, description="Instance name used in every message")
    base_url: str = Field(description="e.g. https://argocd.internal (a --rootpath prefix is kept)")
    token: SecretStr | None = Field(
        default=None, description="Account token (argocd account generate-token); sent as a Bearer token"
    )
    username: str | None = Field(default=None, description="Local user for POST /api/v1/session")
    password: SecretStr | None = Field(default=None, description="Password of that user")
    app_namespace: str | None = Field(
        default=None, description="Namespace of the Application resources (apps in any namespace)"
    )
    project: str | None = Field(default=None, description="Project for applications that name none")
    timeout_seconds: float = Field(default=10.0, gt=0, le=300, description="Per-request timeout in seconds")
    verify_tls: bool = Field(default=True, description="Verify the server's TLS certificate")

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        """Accept http(s) URLs without embedded credentials; drop a trailing slash."""
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http:// or https:// URL with a host")
        if parts.username or parts.password:
            raise ValueError("put credentials in token or username/password, not in base_url")
        if parts.query or parts.fragment:
            raise ValueError("base_url must not have a query or fragment")
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _check_credentials(self) -> ArgoCDConfig:
        """Require exactly one way to authenticate: a token, or a username with a password."""
        has_user = self.username is not None or self.password is not None
        if self.token is not None and has_user:
            raise ValueError("give either token or username/password, not both")
        if self.token is None and (self.username is None or self.password is None):
            raise ValueError("give an account token, or a username and a password")
        return self
