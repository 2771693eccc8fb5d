"""Labels and badges the deployment pages translate (states, kinds, drift, health, environments)."""

from __future__ import annotations

from typing import Any

from timbel.web.i18n import N_

DEPLOYMENT_STATES = {
    "pending_approval": N_("Waiting for approval"),
    "approved": N_("Approved"),
    "syncing": N_("Syncing"),
    "verifying": N_("Verifying"),
    "succeeded": N_("Succeeded"),
    "failed": N_("Failed"),
    "rolled_back": N_("Rolled back"),
    "rejected": N_("Rejected"),
    "cancelled": N_("Cancelled"),
}
STATE_BADGES = {
    "pending_approval": "bg-yellow-lt",
    "approved": "bg-azure-lt",
    "syncing": "bg-blue-lt",
    "verifying": "bg-blue-lt",
    "succeeded": "bg-green-lt",
    "failed": "bg-red-lt",
    "rolled_back": "bg-orange-lt",
    "rejected": "bg-secondary-lt",
    "cancelled": "bg-secondary-lt",
}
KINDS = {
    "deploy": N_("Deploy"),
    "promote": N_("Promote"),
    "request": N_("Deployment request"),
    "rollback": N_("Rollback"),
    "auto_rollback": N_("Automatic rollback"),
}
DRIFT = {
    "in_sync": N_("In sync"),
    "drift": N_("Drift"),
    "missing": N_("No values file"),
    "unknown": N_("Unknown"),
    "unreadable": N_("Repository unreadable"),
    "no_live_target": N_("No live target"),
    "unreachable": N_("Target unreachable"),
}
DRIFT_BADGES = {
    "in_sync": "bg-green-lt",
    "drift": "bg-red-lt",
    "missing": "bg-orange-lt",
    "unknown": "bg-secondary-lt",
    "unreadable": "bg-orange-lt",
    "no_live_target": "bg-secondary-lt",
    "unreachable": "bg-orange-lt",
}
HEALTH = {
    "Healthy": N_("Healthy"),
    "Progressing": N_("Progressing"),
    "Degraded": N_("Degraded"),
    "Suspended": N_("Suspended"),
    "Missing": N_("Missing"),
    "Unknown": N_("Unknown"),
    "not-verified": N_("Not verified (no live target)"),
    "unreachable": N_("Target unreachable"),
    "unknown": N_("Unknown"),
    "": N_("Unknown"),
}
APPROVAL_STATES = {
    "pending": N_("Pending"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "expired": N_("Expired"),
    "cancelled": N_("Cancelled"),
}
CHANGES = {"changed": N_("Changed"), "same": N_("Same"), "added": N_("Added"), "removed": N_("Removed")}
CHANGE_BADGES = {
    "changed": "bg-yellow-lt",
    "same": "bg-secondary-lt",
    "added": "bg-green-lt",
    "removed": "bg-red-lt",
}
RUN_STATES = {"failed": N_("Failed"), "timed_out": N_("Timed out")}
TARGETS = {"gitops": N_("GitOps only (no live target)"), "argocd": "Argo CD", "kubernetes": "Kubernetes"}


def labels() -> dict[str, Any]:
    """Untranslated labels the deployment templates translate."""
    return {
        "state_labels": DEPLOYMENT_STATES,
        "state_badges": STATE_BADGES,
        "kind_labels": KINDS,
        "drift_labels": DRIFT,
        "drift_badges": DRIFT_BADGES,
        "health_labels": HEALTH,
        "approval_labels": APPROVAL_STATES,
        "change_labels": CHANGES,
        "change_badges": CHANGE_BADGES,
        "run_state_labels": RUN_STATES,
        "target_labels": TARGETS,
    }


def duration(seconds: float | None) -> str:
    """``1h 02m``, ``3m 05s`` or ``42s`` (empty when unknown)."""
    if seconds is None:
        return ""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
