"""Register the adapters Timbel ships with, so instances of their kinds can be tested and used."""

from __future__ import annotations

from timbel.integrations.alertmanager import adapter as alertmanager
from timbel.integrations.alertmanager.config import AlertmanagerConfig
from timbel.integrations.base import IntegrationKind
from timbel.integrations.prometheus import adapter as prometheus
from timbel.integrations.prometheus.config import PrometheusConfig
from timbel.integrations.registry.adapter import DockerRegistry
from timbel.integrations.registry.config import RegistryConfig
from timbel.integrations.registry_of_adapters import register_adapter


def register_builtin_adapters() -> None:
    """Register the registry, Prometheus and Alertmanager adapters (idempotent: a later call replaces)."""
    register_adapter(
        IntegrationKind.registry,
        lambda c: DockerRegistry(RegistryConfig.model_validate(c.config_data())),
        config=RegistryConfig,
    )
    register_adapter(
        IntegrationKind.prometheus,
        lambda c: prometheus.from_settings(c.config_data()),
        config=PrometheusConfig,
    )
    register_adapter(
        IntegrationKind.alertmanager,
        lambda c: alertmanager.from_settings(c.config_data()),
        config=AlertmanagerConfig,
    )
