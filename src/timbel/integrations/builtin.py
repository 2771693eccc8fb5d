"""Register the adapters Timbel ships with, so instances of their kinds can be tested and used.

Every factory puts the instance's process-wide circuit breaker (``http.breaker_for(id)``) in front of the
adapter's transport, so an instance that keeps failing is not called again until its cool-down is over.
"""

from __future__ import annotations

import httpx

from timbel.integrations.alertmanager import adapter as alertmanager
from timbel.integrations.alertmanager.config import AlertmanagerConfig
from timbel.integrations.base import IntegrationKind
from timbel.integrations.http import breaker_for, with_breaker
from timbel.integrations.prometheus import adapter as prometheus
from timbel.integrations.prometheus.config import PrometheusConfig
from timbel.integrations.registry.adapter import DockerRegistry
from timbel.integrations.registry.config import RegistryConfig
from timbel.integrations.registry_of_adapters import InstanceConfig, register_adapter


def _guarded(c: InstanceConfig, *, verify: bool) -> httpx.BaseTransport | None:
    """The instance's breaker around a default transport (the clients retry by themselves)."""
    return with_breaker(breaker=breaker_for(c.id, name=c.name), verify=verify)


def _registry(c: InstanceConfig) -> DockerRegistry:
    config = RegistryConfig.model_validate(c.config_data())
    return DockerRegistry(config, transport=_guarded(c, verify=config.verify_tls))


def _prometheus(c: InstanceConfig) -> prometheus.PrometheusAdapter:
    config = PrometheusConfig.model_validate(c.config_data())
    return prometheus.PrometheusAdapter(config, transport=_guarded(c, verify=config.verify_tls))


def _alertmanager(c: InstanceConfig) -> alertmanager.AlertmanagerAdapter:
    config = AlertmanagerConfig.model_validate(c.config_data())
    return alertmanager.AlertmanagerAdapter(config, transport=_guarded(c, verify=config.verify_tls))


def register_builtin_adapters() -> None:
    """Register every shipped adapter (idempotent: a later call replaces)."""
    register_adapter(IntegrationKind.registry, _registry, config=RegistryConfig)
    register_adapter(IntegrationKind.prometheus, _prometheus, config=PrometheusConfig)
    register_adapter(IntegrationKind.alertmanager, _alertmanager, config=AlertmanagerConfig)
