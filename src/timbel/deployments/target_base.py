"""The shared vocabulary of deployment targets: the context, an observation, the Protocol, errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from timbel.core.errors import IntegrationError
from timbel.deployments.live import LiveStatus
from timbel.integrations.registry_of_adapters import InstanceConfig, build_adapter


class TargetError(IntegrationError):
    """The target cannot be used as configured (no instance, chart does not render)."""

    code = "deployment-target-error"
    title = "Deployment target error"


@dataclass(frozen=True)
class TargetContext:
    """One system × environment as its target needs it, and the GitOps commit being rolled out."""

    kind: str
    system: str  # DNS label of the system slug
    domain: str  # DNS label of the domain code
    environment: str
    application: str
    namespace: str
    instance: InstanceConfig | None = field(default=None, repr=False)
    revision: str | None = None
    workdir: Path | None = None  # the GitOps working clone (kubernetes renders the chart from it)
    contains: Callable[[str], bool] = field(default=lambda _: False, repr=False)

    @property
    def chart_path(self) -> str:
        """The system chart's folder in the GitOps repository."""
        return f"{self.domain}/{self.system}/chart"

    @property
    def values_path(self) -> str:
        """The environment's values file in the GitOps repository."""
        return f"{self.domain}/{self.system}/envs/{self.environment}/values.yaml"


@dataclass(frozen=True)
class Observation:
    """The live status while waiting, whether the rollout failed (why), and whether to sync again."""

    live: LiveStatus
    failure: str | None = None
    needs_sync: bool = False


class Target(Protocol):
    """A deployment target."""

    kind: str

    def apply(self, ctx: TargetContext) -> None:
        """Make the target roll out the GitOps commit (nothing to do for GitOps only)."""
        ...

    def observe(self, ctx: TargetContext) -> Observation:
        """Ask the target how the rollout is going."""
        ...

    def status(self, ctx: TargetContext) -> LiveStatus:
        """What runs there now."""
        ...


def adapter_for(ctx: TargetContext, what: str) -> Any:
    if ctx.instance is None:
        raise TargetError(f"no {what} instance is configured for the {ctx.environment} environment")
    return build_adapter(ctx.instance)


def service_key(name: str, *, system: str) -> str:
    """The service a live object or image belongs to: ``shop-api`` (chart fullname or image) → ``api``."""
    return name[len(system) + 1 :] if name.startswith(f"{system}-") and len(name) > len(system) + 1 else name


def image_key(ref: str, *, system: str) -> str:
    """The service of a live image, from its repository's last segment (``…/shop-api:1`` → ``api``)."""
    return service_key(ref.split("@", 1)[0].rsplit(":", 1)[0].rsplit("/", 1)[-1] or ref, system=system)
