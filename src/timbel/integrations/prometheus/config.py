"""Settings of one Prometheus instance; secrets are ``SecretStr`` and never printed."""

from __future__ import annotations

from pydantic import Field

from timbel.integrations.http_service import HttpServiceConfig

SECRET_FIELDS = frozenset({"password", "bearer_token"})


class PrometheusConfig(HttpServiceConfig):
    """Where a Prometheus (or a compatible API behind a proxy) lives and how to authenticate."""

    base_url: str = Field(description="e.g. http://prometheus.internal:9090 (a path prefix is kept)")
