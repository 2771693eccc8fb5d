"""The capabilities Timbel needs from external systems, as small typed Protocols.

Why Protocols: flows (pipelines, deployments, monitoring) depend on a capability, never on a vendor; each
real system has an adapter in its own package (``config.py`` pydantic config with ``SecretStr``,
``client.py`` httpx with an injectable transport, ``adapter.py`` implementing the Protocol), and tests swap
a fake server or transport in. Every failure is an ``IntegrationError`` subclass whose message names the
instance and never contains a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


class IntegrationKind(StrEnum):
    """The kinds of integration instances an admin can configure."""

    jenkins = "jenkins"
    registry = "registry"
    nexus = "nexus"
    argocd = "argocd"
    github = "github"
    kubernetes = "kubernetes"
    prometheus = "prometheus"
    alertmanager = "alertmanager"
    notify = "notify"


@dataclass(frozen=True)
class Check:
    """One thing ``test_connection`` verified: reachability, version, authentication, a permission."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class ConnectionReport:
    """What ``test_connection`` found; ``ok`` only when every check passed."""

    checks: Sequence[Check]
    version: str | None = None

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(check.ok for check in self.checks)


@runtime_checkable
class Testable(Protocol):
    """Every adapter can say whether it works, and why not."""

    def test_connection(self) -> ConnectionReport:
        """Check reachability, version, authentication and the permissions Timbel needs."""
        ...


@dataclass(frozen=True)
class ImageTag:
    """A tag of an image repository and the manifest digest it points to."""

    repository: str
    tag: str
    digest: str | None = None


class Registry(Testable, Protocol):
    """A container registry (Docker Registry v2 / OCI, Nexus)."""

    def repositories(self, *, limit: int = 1000) -> list[str]:
        """Image repositories, following the registry's paging."""
        ...

    def tags(self, repository: str) -> list[str]:
        """Tags of one repository."""
        ...

    def digest(self, repository: str, tag: str) -> str | None:
        """The manifest digest a tag points to (None when the tag does not exist)."""
        ...

    def delete(self, repository: str, digest: str) -> None:
        """Delete a manifest by digest."""
        ...


@dataclass(frozen=True)
class Sample:
    """One series of a query result: its labels and (timestamp, value) points."""

    labels: dict[str, str]
    points: list[tuple[float, float]] = field(default_factory=list)


class MetricsSource(Testable, Protocol):
    """Prometheus-compatible metrics."""

    def query(self, promql: str, *, at: datetime | None = None) -> list[Sample]:
        """An instant query (the PromQL must be built with ``promql.escape`` for any user value)."""
        ...

    def query_range(
        self, promql: str, *, start: datetime, end: datetime, step_seconds: float
    ) -> list[Sample]:
        """A range query."""
        ...


class AlertSink(Testable, Protocol):
    """Alertmanager-compatible alerting."""

    def post_alerts(self, alerts: Sequence[dict[str, Any]]) -> None:
        """Send alerts (labels, annotations, startsAt/endsAt)."""
        ...

    def alerts(self) -> list[dict[str, Any]]:
        """The active alerts."""
        ...

    def create_silence(self, *, matchers: Sequence[dict[str, Any]], starts: datetime, ends: datetime,
                       created_by: str, comment: str) -> str:  # fmt: skip
        """Create a silence; return its id."""
        ...

    def expire_silence(self, silence_id: str) -> None:
        """Expire a silence."""
        ...
