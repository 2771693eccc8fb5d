"""Settings of one Argo CD instance; the account token and password are ``SecretStr`` and never printed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from timbel.integrations.http_service import checked_base_url


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
        """An http(s) URL without credentials, query or fragment; no trailing slash."""
        return checked_base_url(value, credentials="token or username/password")

    @model_validator(mode="after")
    def _check_credentials(self) -> ArgoCDConfig:
        """Require exactly one way to authenticate: a token, or a username with a password."""
        has_user = self.username is not None or self.password is not None
        if self.token is not None and has_user:
            raise ValueError("give either token or username/password, not both")
        if self.token is None and (self.username is None or self.password is None):
            raise ValueError("give an account token, or a username and a password")
        return self
