"""Where a deployment's GitOps commit goes live: nowhere (GitOps only), an Argo CD application, or a cluster.

One small class per ``TargetKind`` behind ``Target``: ``apply`` after the GitOps commit, ``observe`` while
waiting (the live status plus whether the rollout failed or needs another sync), ``status`` for the pages.
A ``TargetContext`` holds plain values only (no database session is held during network calls).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from timbel.catalog.models import Domain, System
from timbel.core.errors import AppError
from timbel.core.settings import Settings
from timbel.deployments.kube_target import KubernetesTarget, render
from timbel.deployments.live import LiveStatus
from timbel.deployments.models import Environment, TargetKind
from timbel.deployments.target_base import (
    Observation,
    Target,
    TargetContext,
    TargetError,
    adapter_for,
    image_key,
)
from timbel.deployments.verify import at_revision
from timbel.integrations import service as integrations
from timbel.integrations.argocd.adapter import ArgoCDAdapter, app_status
from timbel.integrations.models import Integration
from timbel.scaffold.plan import to_label

__all__ = [
    "ArgoCDTarget",
    "GitOpsTarget",
    "KubernetesTarget",
    "Observation",
    "Target",
    "TargetContext",
    "TargetError",
    "context_for",
    "live_status",
    "render",
    "target_for",
]
logger = logging.getLogger(__name__)
RUNNING_PHASES = frozenset({"Running", "Terminating"})
FAILED_PHASES = frozenset({"Failed", "Error"})


def context_for(
    session: Session,
    *,
    settings: Settings,
    system: System,
    environment: Environment,
    revision: str | None = None,
    workdir: Path | None = None,
    contains: Callable[[str], bool] | None = None,
    kind: str | None = None,
) -> TargetContext:
    """Build a target context (``kind``: the deployment's, else the environment's); no network here."""
    domain = session.get(Domain, system.domain_id)
    labels = {"domain": to_label(domain.code if domain else ""), "system": to_label(system.slug)}
    names = {**labels, "env": environment.name}
    instance_id = {
        TargetKind.argocd.value: environment.argocd_integration_id,
        TargetKind.kubernetes.value: environment.kubernetes_integration_id,
    }.get(kind or environment.target_kind)
    instance = None
    if instance_id:
        row = session.get(Integration, instance_id)
        instance = integrations.instance_config(row, settings=settings) if row else None
    return TargetContext(
        kind=kind or environment.target_kind,
        system=labels["system"],
        domain=labels["domain"],
        environment=environment.name,
        application=_format(environment.application_pattern, names),
        namespace=_format(environment.namespace_pattern, names),
        instance=instance,
        revision=revision,
        workdir=workdir,
        contains=contains or (lambda _: False),
    )


def _format(pattern: str, names: dict[str, str]) -> str:
    try:
        return pattern.format(**names)
    except (KeyError, IndexError, ValueError) as exc:
        raise TargetError(f"the name pattern {pattern!r} is not valid: {exc}") from exc


class GitOpsTarget:
    """GitOps only: the commit is the deployment; nothing reports what runs."""

    kind = TargetKind.gitops.value

    def apply(self, ctx: TargetContext) -> None:
        """Nothing goes live from Timbel."""

    def observe(self, ctx: TargetContext) -> Observation:
        """Never claims health."""
        return Observation(self.status(ctx))

    def status(self, ctx: TargetContext) -> LiveStatus:
        """``not-verified``: no live target."""
        return LiveStatus(self.kind, "not-verified", detail="no live target")


class ArgoCDTarget:
    """An Argo CD application: refresh and sync to the branch holding our commit, then watch it."""

    kind = TargetKind.argocd.value

    def apply(self, ctx: TargetContext) -> None:
        """Sync unless an operation already runs or the app is already synced at our commit."""
        adapter: ArgoCDAdapter = adapter_for(ctx, "Argo CD")
        try:
            current = adapter.refresh(ctx.application)
            if current.operation_phase in RUNNING_PHASES:
                return
            live = LiveStatus(self.kind, current.health, current.sync, current.revision)
            if (
                current.sync == "Synced"
                and live.revision
                and at_revision(live, revision=ctx.revision, contains=ctx.contains)
            ):
                return
            adapter.sync(ctx.application)
        finally:
            adapter.close()

    def observe(self, ctx: TargetContext) -> Observation:
        """One look at the application: live status, a failed operation or Degraded, a needed re-sync."""
        adapter: ArgoCDAdapter = adapter_for(ctx, "Argo CD")
        try:
            raw = adapter.application(ctx.application)
        finally:
            adapter.close()
        state = app_status(raw)
        images = [str(i) for i in ((raw.get("status") or {}).get("summary") or {}).get("images") or []]
        live = LiveStatus(
            self.kind,
            state.health,
            state.sync,
            state.revision,
            {image_key(ref, system=ctx.system): ref for ref in images},
            detail=state.operation_message or "",
        )
        running = state.operation_phase in RUNNING_PHASES
        ours = bool(live.revision) and at_revision(live, revision=ctx.revision, contains=ctx.contains)
        if running:
            return Observation(live)
        if state.operation_phase in FAILED_PHASES:
            message = state.operation_message or "no message"
            return Observation(live, failure=f"Argo CD sync {state.operation_phase}: {message}")
        if ours and state.health == "Degraded":
            return Observation(live, failure="Argo CD reports the application Degraded")
        return Observation(live, needs_sync=not ours)

    def status(self, ctx: TargetContext) -> LiveStatus:
        """The application's health, sync, revision and images."""
        return self.observe(ctx).live


TARGETS: dict[str, Target] = {
    TargetKind.gitops.value: GitOpsTarget(),
    TargetKind.argocd.value: ArgoCDTarget(),
    TargetKind.kubernetes.value: KubernetesTarget(),
}


def target_for(kind: str) -> Target:
    """The target class of a kind (unknown kinds are GitOps only)."""
    return TARGETS.get(kind, TARGETS[TargetKind.gitops.value])


def live_status(
    session: Session, *, settings: Settings, system: System, environment: Environment
) -> LiveStatus:
    """What runs in a system's environment now, for pages; never raises (``unreachable`` + detail)."""
    kind = environment.target_kind
    if kind not in (TargetKind.argocd.value, TargetKind.kubernetes.value):
        return GitOpsTarget().status(TargetContext(kind, "", "", environment.name, "", ""))
    try:
        ctx = context_for(session, settings=settings, system=system, environment=environment)
        return target_for(kind).status(ctx)
    except AppError as exc:
        return LiveStatus(kind, "unreachable", detail=exc.detail)
    except Exception as exc:
        logger.exception("live status of %s %s failed", system.slug, environment.name)
        return LiveStatus(
            kind, "unreachable", detail=f"internal error ({type(exc).__name__}), see server log"
        )
