"""The Argo CD adapter: ``base.DeployTarget`` plus rollback, history, refresh and a polling ``watch``.

Why ``watch`` reads a requested operation as Running: right after ``POST …/sync`` Argo CD stores the
request in the application's ``operation`` field, and ``status.operationState`` still describes the previous
(finished) operation until the controller picks the request up. Reporting that moment as Running keeps a
watcher from mistaking the old result for the new one (the ``argocd app wait`` CLI checks the same field).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx

from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations.base import AppStatus, Check, ConnectionReport, DeployRevision, IntegrationKind
from timbel.integrations.http import CircuitBreaker, breaker_for
from timbel.integrations.registry_of_adapters import InstanceConfig

from .client import ArgoCDClient
from .config import ArgoCDConfig

FINISHED_PHASES = frozenset({"Succeeded", "Failed", "Error"})
FAILED_PHASES = frozenset({"Failed", "Error"})
PENDING_MESSAGE = "operation requested; waiting for the application controller"


class ArgoCDWatchTimeout(IntegrationError):
    """An application did not reach the awaited state in time."""

    status: ClassVar[int] = 504
    code: ClassVar[str] = "integration-timeout"
    title: ClassVar[str] = "Integration timed out"


def synced_and_healthy(status: AppStatus) -> bool:
    """True when no operation runs and the app is Synced and Healthy."""
    return status.operation_phase not in {"Running", "Terminating"} and (
        status.sync == "Synced" and status.health == "Healthy"
    )


def operation_finished(status: AppStatus) -> bool:
    """True when the latest operation ended (Succeeded, Failed or Error)."""
    return status.operation_phase in FINISHED_PHASES


def settled(status: AppStatus) -> bool:
    """True when a deploy is over either way: synced and healthy, or its operation failed."""
    return synced_and_healthy(status) or status.operation_phase in FAILED_PHASES


class ArgoCDAdapter:
    """Declare, sync, roll back, inspect and delete applications of one Argo CD instance."""

    kind = IntegrationKind.argocd

    def __init__(
        self,
        config: ArgoCDConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._sleep = sleep
        self.client = ArgoCDClient(config, transport=transport, breaker=breaker, sleep=sleep)

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()

    def test_connection(self) -> ConnectionReport:
        """Check reachability and version, the credentials, and listing applications and projects."""
        checks: list[Check] = []
        try:
            answer = self.client.version()
        except IntegrationError as exc:
            return ConnectionReport(checks=[Check("reachable", False, str(exc))])
        version = str(answer.get("Version") or "") or None
        checks.append(Check("reachable", True, f"{self.config.base_url}/api/version answered"))
        checks.append(Check("version", version is not None, f"Argo CD {version or 'unknown version'}"))
        try:
            info = self.client.userinfo()
        except IntegrationError as exc:
            checks.append(Check("authentication", False, str(exc)))
            return ConnectionReport(checks=checks, version=version)
        if not info.get("loggedIn"):
            detail = f"Argo CD '{self.config.name}' did not accept the credentials (not logged in)"
            checks.append(Check("authentication", False, detail))
            return ConnectionReport(checks=checks, version=version)
        checks.append(Check("authentication", True, f"logged in as {info.get('username') or 'unknown'}"))
        for what, call in (("applications", self.client.applications), ("projects", self.client.projects)):
            try:
                items = call()
            except (IntegrationAuthError, IntegrationUnavailable) as exc:
                checks.append(Check(what, False, str(exc)))
                break
            except IntegrationError as exc:
                checks.append(Check(what, False, str(exc)))
                continue
            checks.append(Check(what, True, f"{len(items)} {what} visible"))
        return ConnectionReport(checks=checks, version=version)

    def upsert_project(self, spec: dict[str, Any]) -> None:
        """Create or update an AppProject from its full body (``metadata.name`` and ``spec``)."""
        _require_name(spec, "project")
        self.client.create_project(spec, upsert=True)

    def upsert_application(self, spec: dict[str, Any]) -> None:
        """Create or update an Application from its full body; configured project/namespace fill gaps."""
        _require_name(spec, "application")
        body = dict(spec)
        metadata = dict(body.get("metadata") or {})
        if self.config.app_namespace and not metadata.get("namespace"):
            metadata["namespace"] = self.config.app_namespace
        body["metadata"] = metadata
        app_spec = dict(body.get("spec") or {})
        if self.config.project and not app_spec.get("project"):
            app_spec["project"] = self.config.project
        body["spec"] = app_spec
        self.client.create_application(body, upsert=True)

    def application(self, name: str) -> dict[str, Any]:
        """The raw Application resource (spec and status) as Argo CD returns it."""
        return self.client.application(name)

    def status(self, name: str) -> AppStatus:
        """Sync, health, operation phase and message, revision and history of one application."""
        return app_status(self.client.application(name))

    def refresh(self, name: str, *, hard: bool = False) -> AppStatus:
        """Ask Argo CD to compare with git again (``hard`` also drops its manifest cache)."""
        return app_status(self.client.application(name, refresh="hard" if hard else "normal"))

    def history(self, name: str) -> list[DeployRevision]:
        """The deploy history, oldest first (ids are what ``rollback`` takes)."""
        return list(self.status(name).history)

    def sync(self, name: str, *, revision: str | None = None, prune: bool = False) -> None:
        """Start a sync to ``revision`` (None: the app's targetRevision), pruning when asked."""
        self.client.sync(name, revision=revision, prune=prune)

    def rollback(self, name: str, history_id: int, *, prune: bool = False) -> None:
        """Start a rollback to a history entry (Argo CD refuses it while auto-sync is on)."""
        self.client.rollback(name, history_id=history_id, prune=prune)

    def delete_application(self, name: str) -> None:
        """Delete an application and, by cascade, the resources it deployed."""
        self.client.delete_application(name, cascade=True)

    def resource_tree(self, name: str) -> list[dict[str, Any]]:
        """The live resources: ``{group, version, kind, namespace, name, health, parents}`` per node."""
        return [_node(node) for node in self.client.resource_tree(name).get("nodes") or []]

    def watch(
        self,
        name: str,
        *,
        until: Callable[[AppStatus], bool] = settled,
        timeout: float = 300.0,
        poll_seconds: float = 2.0,
        sleep: Callable[[float], None] | None = None,
    ) -> Iterator[AppStatus]:
        """Poll the status, yielding each one, until ``until`` holds; ArgoCDWatchTimeout after ``timeout``."""
        if poll_seconds <= 0 or timeout < 0:
            raise ValueError("poll_seconds must be positive and timeout not negative")
        pause = sleep or self._sleep
        polls = max(1, math.ceil(timeout / poll_seconds) + 1)
        started = time.monotonic()
        for poll in range(polls):
            current = self.status(name)
            yield current
            if until(current):
                return
            if poll == polls - 1 or time.monotonic() - started >= timeout:
                break
            pause(poll_seconds)
        raise ArgoCDWatchTimeout(
            f"Argo CD '{self.config.name}': application '{name}' did not reach the awaited state within "
            f"{timeout:g} s (sync {current.sync}, health {current.health}, "
            f"operation {current.operation_phase or 'none'})"
        )


def app_status(app: Mapping[str, Any]) -> AppStatus:
    """An ``AppStatus`` from an Application resource (missing fields read as Unknown/None)."""
    status = app.get("status") or {}
    sync, health = status.get("sync") or {}, status.get("health") or {}
    state = status.get("operationState") or {}
    phase, message = state.get("phase") or None, state.get("message") or None
    if app.get("operation") and phase not in {"Running", "Terminating"}:
        phase, message = "Running", PENDING_MESSAGE
    revision = sync.get("revision") or None
    return AppStatus(
        name=str((app.get("metadata") or {}).get("name") or ""),
        sync=str(sync.get("status") or "Unknown"),
        health=str(health.get("status") or "Unknown"),
        revision=str(revision) if revision else None,
        operation_phase=phase,
        operation_message=message,
        history=tuple(_revision(entry) for entry in status.get("history") or []),
    )


def from_instance(config: InstanceConfig) -> ArgoCDAdapter:
    """Build the adapter of a stored instance, with that instance's circuit breaker."""
    settings = ArgoCDConfig.model_validate(config.config_data())
    return ArgoCDAdapter(settings, breaker=breaker_for(config.id, name=config.name))


def _revision(entry: Mapping[str, Any]) -> DeployRevision:
    """One ``status.history[]`` entry (multi-source apps carry ``revisions`` instead of ``revision``)."""
    revision = entry.get("revision") or ",".join(entry.get("revisions") or [])
    return DeployRevision(id=int(entry.get("id", 0)), revision=str(revision),
                          deployed_at=_timestamp(entry.get("deployedAt")))  # fmt: skip


def _node(node: Mapping[str, Any]) -> dict[str, Any]:
    """A resource-tree node reduced to what pages show."""
    health = node.get("health") or {}
    parents = [f"{p.get('kind')}/{p.get('name')}" for p in node.get("parentRefs") or []]
    return {
        "group": str(node.get("group") or ""),
        "version": str(node.get("version") or ""),
        "kind": str(node.get("kind") or ""),
        "namespace": str(node.get("namespace") or ""),
        "name": str(node.get("name") or ""),
        "health": health.get("status") or None,
        "parents": parents,
    }


def _timestamp(value: Any) -> datetime | None:
    """Parse an RFC 3339 timestamp (``2024-05-01T10:00:00Z``); anything else is None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _require_name(spec: Mapping[str, Any], what: str) -> None:
    """Refuse a body without ``metadata.name``."""
    if not str((spec.get("metadata") or {}).get("name") or ""):
        raise ValueError(f"an {what} body needs metadata.name")
