"""Settings of one Alertmanager instance; secrets are ``SecretStr`` and never printed."""

from __future__ import annotations

from pydantic import Field

from timbel.integrations.http_service import HttpServiceConfig

SECRET_FIELDS = frozenset({"password", "bearer_token"})


class AlertmanagerConfig(HttpServiceConfig):
    """Where an Alertmanager lives and how to authenticate."""

    base_url: str = Field(description="e.g. http://alertmanager.internal:9093 (a path prefix is kept)")
