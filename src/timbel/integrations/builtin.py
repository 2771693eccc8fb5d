"""Register the adapters Timbel ships with, so instances of their kinds can be tested and used.

Every factory puts the instance's process-wide circuit breaker (``http.breaker_for(id)``) in front of the
adapter's transport, so an instance that keeps failing is not called again until its cool-down is over.
"""

from __future__ import annotations

import httpx
from sqlalchemy.orm import Session

from timbel.core.settings import Settings
from timbel.integrations.alertmanager import adapter as alertmanager
from timbel.integrations.alertmanager.config import AlertmanagerConfig
from timbel.integrations.argocd import adapter as argocd
from timbel.integrations.argocd.config import ArgoCDConfig
from timbel.integrations.base import IntegrationKind
from timbel.integrations.github import adapter as github
from timbel.integrations.github.config import GitHubConfig
from timbel.integrations.gitlab import adapter as gitlab
from timbel.integrations.gitlab.config import GitLabConfig
from timbel.integrations.http import breaker_for, with_breaker
from timbel.integrations.jenkins import adapter as jenkins
from timbel.integrations.jenkins.config import JenkinsConfig
from timbel.integrations.kubernetes import adapter as kubernetes
from timbel.integrations.kubernetes.config import KubernetesConfig
from timbel.integrations.models import Integration
from timbel.integrations.nexus import adapter as nexus
from timbel.integrations.nexus.config import NexusConfig
from timbel.integrations.notify import adapter as notify
from timbel.integrations.notify.config import NotifyConfig
from timbel.integrations.prometheus import adapter as prometheus
from timbel.integrations.prometheus.config import PrometheusConfig
from timbel.integrations.registry.adapter import DockerRegistry
from timbel.integrations.registry.config import RegistryConfig
from timbel.integrations.registry_of_adapters import InstanceConfig, register_adapter
from timbel.integrations.retention_service import register_protected_source


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


def _gitops_deployed(session: Session, settings: Settings, row: Integration) -> set[str]:
    from timbel.gitops.deployed_images import deployed_image_tags  # gitops imports integrations

    return deployed_image_tags(session, settings=settings)


_REGISTERED = False


def register_builtin_adapters() -> None:
    """Register every shipped adapter and the GitOps source of deployed images, once per process.

    Apps and jobs both call this; only the first call registers, so a registration made later on purpose
    (a test's stand-in, an extension) is not replaced by the next job run.
    """
    global _REGISTERED
    if _REGISTERED:
        return
    _REGISTERED = True
    register_protected_source(_gitops_deployed)
    register_adapter(IntegrationKind.jenkins, jenkins.from_instance, config=JenkinsConfig)
    register_adapter(IntegrationKind.registry, _registry, config=RegistryConfig)
    register_adapter(IntegrationKind.prometheus, _prometheus, config=PrometheusConfig)
    register_adapter(IntegrationKind.alertmanager, _alertmanager, config=AlertmanagerConfig)
    register_adapter(IntegrationKind.argocd, argocd.from_instance, config=ArgoCDConfig)
    register_adapter(IntegrationKind.kubernetes, kubernetes.from_instance, config=KubernetesConfig)
    register_adapter(IntegrationKind.nexus, nexus.from_instance, config=NexusConfig)
    register_adapter(IntegrationKind.github, github.from_instance, config=GitHubConfig)
    register_adapter(IntegrationKind.gitlab, gitlab.from_instance, config=GitLabConfig)
    register_adapter(IntegrationKind.notify, notify.from_instance, config=NotifyConfig)
