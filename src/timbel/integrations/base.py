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
    gitlab = "gitlab"
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


# --- CI engines (Jenkins; the built-in runner implements the same) -------------------------------------


@dataclass(frozen=True)
class QueuedBuild:
    """Where a triggered build is: still queued (with ``why``), cancelled, or started as ``number``."""

    queue_id: int
    number: int | None = None
    why: str | None = None
    cancelled: bool = False


@dataclass(frozen=True)
class StageInfo:
    """One pipeline stage of a build."""

    name: str
    status: str  # SUCCESS, FAILED, IN_PROGRESS, ABORTED, NOT_EXECUTED, …
    duration_ms: int = 0


@dataclass(frozen=True)
class BuildInfo:
    """A build's state: ``result`` is None while it runs (SUCCESS/FAILURE/UNSTABLE/ABORTED/NOT_BUILT)."""

    job: str
    number: int
    building: bool
    result: str | None = None
    duration_ms: int = 0
    started_at: datetime | None = None
    url: str | None = None
    stages: Sequence[StageInfo] = ()


@dataclass(frozen=True)
class LogChunk:
    """A piece of a build log: read on from ``next_start`` while ``more`` is True."""

    text: str
    next_start: int
    more: bool


class CIEngine(Testable, Protocol):
    """Something that runs pipeline jobs (``job`` is a path like ``folder/name``)."""

    def upsert_job(self, job: str, *, config_xml: str) -> None:
        """Create the job (and its folders) or replace its configuration."""
        ...

    def trigger(self, job: str, *, parameters: dict[str, str] | None = None) -> QueuedBuild:
        """Queue a build; the returned item carries the queue id."""
        ...

    def queued(self, queue_id: int) -> QueuedBuild:
        """Follow a queue item until it names a build number (or was cancelled)."""
        ...

    def build(self, job: str, number: int) -> BuildInfo:
        """Status, result, duration and stages of one build."""
        ...

    def log(self, job: str, number: int, *, start: int = 0) -> LogChunk:
        """The log from byte ``start`` on (progressive)."""
        ...

    def stop(self, job: str, number: int) -> None:
        """Abort a running build."""
        ...

    def jobs(self, folder: str | None = None) -> list[str]:
        """Job paths in a folder (the root when None)."""
        ...

    def builds(self, job: str, *, limit: int = 20) -> list[BuildInfo]:
        """The most recent builds of a job, newest first."""
        ...


# --- Deploy targets (Argo CD; the local GitOps default implements the same) -----------------------------


@dataclass(frozen=True)
class DeployRevision:
    """One entry of an application's deploy history."""

    id: int
    revision: str
    deployed_at: datetime | None = None


@dataclass(frozen=True)
class AppStatus:
    """An application's sync/health state and the operation in flight."""

    name: str
    sync: str  # Synced, OutOfSync, Unknown
    health: str  # Healthy, Progressing, Degraded, Suspended, Missing, Unknown
    revision: str | None = None
    operation_phase: str | None = None  # Running, Succeeded, Failed, Error, Terminating
    operation_message: str | None = None
    history: Sequence[DeployRevision] = ()


class DeployTarget(Testable, Protocol):
    """Something that deploys declared applications from git."""

    def upsert_project(self, spec: dict[str, Any]) -> None:
        """Create or update a project (the tenancy boundary) from its full resource body."""
        ...

    def upsert_application(self, spec: dict[str, Any]) -> None:
        """Create or update an application from its full resource body."""
        ...

    def status(self, name: str) -> AppStatus:
        """Sync, health, operation phase, revision and history."""
        ...

    def sync(self, name: str, *, revision: str | None = None, prune: bool = False) -> None:
        """Start a sync operation."""
        ...

    def delete_application(self, name: str) -> None:
        """Delete an application (and, by the target's policy, its resources)."""
        ...

    def resource_tree(self, name: str) -> list[dict[str, Any]]:
        """The live resources of an application (kind, name, namespace, health)."""
        ...


# --- Source hosts (GitHub, GitLab) ----------------------------------------------------------------------


@dataclass(frozen=True)
class RepositoryInfo:
    """What a source host says about a repository."""

    full_name: str
    default_branch: str
    clone_url: str
    html_url: str | None = None
    language: str | None = None
    private: bool = False
    size_kb: int = 0
    topics: Sequence[str] = ()


@dataclass(frozen=True)
class CommitInfo:
    """One commit as the host lists it."""

    sha: str
    message: str
    author: str
    committed_at: datetime | None = None


@dataclass(frozen=True)
class HookInfo:
    """A repository webhook."""

    id: int
    url: str
    events: Sequence[str]
    active: bool = True


class SourceHost(Testable, Protocol):
    """A git hosting service (``repo`` is ``owner/name``)."""

    def repository(self, repo: str) -> RepositoryInfo:
        """Repository metadata."""
        ...

    def branches(self, repo: str) -> list[str]:
        """Branch names."""
        ...

    def commits(self, repo: str, *, ref: str | None = None, limit: int = 30) -> list[CommitInfo]:
        """Recent commits of a ref, newest first."""
        ...

    def languages(self, repo: str) -> dict[str, int]:
        """Bytes per language."""
        ...

    def create_hook(self, repo: str, *, url: str, secret: str, events: Sequence[str] = ("push",)) -> HookInfo:
        """Create a webhook pointing at Timbel."""
        ...

    def hooks(self, repo: str) -> list[HookInfo]:
        """The repository's webhooks."""
        ...

    def delete_hook(self, repo: str, hook_id: int) -> None:
        """Delete a webhook."""
        ...


# --- Clusters (Kubernetes) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkloadStatus:
    """A Deployment's rollout state."""

    name: str
    namespace: str
    replicas: int
    ready: int
    updated: int
    available: int
    image: str | None = None
    conditions: Sequence[dict[str, Any]] = ()


class Cluster(Testable, Protocol):
    """A Kubernetes cluster."""

    def version(self) -> str:
        """The API server's version (``v1.30.2``)."""
        ...

    def namespaces(self) -> list[str]:
        """Namespace names."""
        ...

    def apply(self, manifests: Sequence[dict[str, Any]], *, namespace: str | None = None) -> list[str]:
        """Server-side apply (field manager ``timbel``); return ``kind/name`` of each applied object."""
        ...

    def deployments(self, namespace: str) -> list[WorkloadStatus]:
        """Deployments of a namespace and their rollout state."""
        ...

    def events(self, namespace: str, *, involving: str | None = None) -> list[dict[str, Any]]:
        """Recent events of a namespace (optionally of one object name)."""
        ...


# --- Notifications --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """A rendered notification: title and body in the recipient's language."""

    title: str
    body: str
    severity: str = "info"  # info, success, warning, failure


class Notifier(Testable, Protocol):
    """A channel that delivers messages (Slack, e-mail, Teams, a JSON webhook, …)."""

    def send(self, message: Message) -> None:
        """Deliver one message; raise an IntegrationError naming the channel when it fails."""
        ...
