"""Drift between what Timbel deployed, what the GitOps repository says, and what runs live.

Why three sources: the last succeeded deployment records the release Timbel put into an environment; the
environment's values file in the GitOps repository can be edited by hand afterwards; and a live target
(Argo CD, a cluster) can run something else again. A GitOps-only environment has no live target, so its
live side is "no live target" — never "in sync".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from sqlalchemy.orm import Session

from timbel.catalog.models import Domain, System
from timbel.core.settings import Settings
from timbel.deployments import targets
from timbel.deployments.live import LiveStatus
from timbel.deployments.models import Environment, Release, TargetKind
from timbel.gitops import service as gitops_service
from timbel.gitops.errors import GitOpsError
from timbel.gitops.models import GitOpsRepository

# Drift states (stable API values).
IN_SYNC = "in_sync"
DRIFT = "drift"
MISSING = "missing"  # the values file is not in the repository
UNKNOWN = "unknown"  # nothing to compare (no succeeded deployment, or the target reports no images)
UNREADABLE = "unreadable"  # the repository could not be read
NO_LIVE_TARGET = "no_live_target"
UNREACHABLE = "unreachable"

LiveFn = Callable[[System, Environment], LiveStatus]
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the same documents, ~3x faster in C


@dataclass(frozen=True)
class Side:
    """One comparison: a state, the services that differ (expected vs found) and a short detail."""

    state: str
    differences: list[dict[str, str]] = field(default_factory=list)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"state": self.state, "differences": self.differences, "detail": self.detail}


def values_path(domain: Domain, system: System, env: str) -> str:
    """Where an environment's values file of a system lives in the GitOps repository."""
    return f"{gitops_service.system_prefix(domain, system)}/envs/{env}/values.yaml"


def images_in_values(text: str) -> dict[str, dict[str, str]]:
    """Service → {repository, tag, digest} as a values file sets ``services.<name>.image``."""
    try:
        data: Any = yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader, in C when built
    except yaml.YAMLError:
        return {}
    services = data.get("services") if isinstance(data, dict) else None
    found: dict[str, dict[str, str]] = {}
    for name, spec in services.items() if isinstance(services, dict) else ():
        image = spec.get("image") if isinstance(spec, dict) else None
        if isinstance(image, dict):
            found[str(name)] = {
                key: str(image[key]).strip()
                for key in ("repository", "tag", "digest")
                if isinstance(image.get(key), str | int | float) and str(image[key]).strip()
            }
    return found


def _expected(release: Release) -> dict[str, dict[str, Any]]:
    return {str(image.get("service", "")): image for image in release.images}


def git_side(release: Release | None, text: str | None) -> Side:
    """Compare the release Timbel deployed with the values file now in the repository."""
    if release is None:
        return Side(UNKNOWN, detail="nothing deployed yet")
    if text is None:
        return Side(MISSING, detail="no values file in the GitOps repository")
    found = images_in_values(text)
    differences: list[dict[str, str]] = []
    for service, image in sorted(_expected(release).items()):
        there = found.get(service)
        want = str(image.get("tag") or "")
        digest = str(image.get("digest") or "")
        if there is None:
            differences.append({"service": service, "expected": want, "found": ""})
        elif there.get("tag", "") != want or (digest and there.get("digest") and there["digest"] != digest):
            differences.append(
                {"service": service, "expected": want, "found": there.get("digest") or there.get("tag", "")}
            )
    return Side(DRIFT, differences) if differences else Side(IN_SYNC)


def _matches(reference: str, image: dict[str, Any]) -> bool:
    tag, digest = str(image.get("tag") or ""), str(image.get("digest") or "")
    return bool((tag and reference.endswith(":" + tag)) or (digest and reference.endswith("@" + digest)))


def live_side(release: Release | None, environment: Environment, status: LiveStatus | None) -> Side:
    """Compare the release Timbel deployed with what the live target reports."""
    if environment.target_kind == TargetKind.gitops.value:
        return Side(NO_LIVE_TARGET, detail="GitOps only: no live target to compare with")
    if status is None or status.health == "unreachable":
        return Side(UNREACHABLE, detail=status.detail if status else "")
    if status.health == "not-verified":
        return Side(NO_LIVE_TARGET, detail=status.detail)
    if release is None or not status.images:
        return Side(UNKNOWN, detail="the target does not report images" if release else "nothing deployed")
    differences = [
        {
            "service": service,
            "expected": str(image.get("tag") or image.get("digest") or ""),
            "found": status.images.get(service, ""),
        }
        for service, image in sorted(_expected(release).items())
        if not _matches(status.images.get(service, ""), image)
    ]
    return Side(DRIFT, differences) if differences else Side(IN_SYNC)


def default_live(session: Session, settings: Settings) -> LiveFn:
    """Ask the environment's target (``targets.live_status``); failures read as unreachable."""

    def ask(system: System, environment: Environment) -> LiveStatus:
        try:
            status: LiveStatus = targets.live_status(
                session, settings=settings, system=system, environment=environment
            )
            return status
        except Exception as exc:  # a target that cannot answer must not break the page
            return LiveStatus(
                target_kind=environment.target_kind, health="unreachable", detail=str(exc)[:300]
            )

    return ask


def read_values(
    session: Session, *, settings: Settings, wanted: Iterable[tuple[Domain, System, str]]
) -> tuple[dict[tuple[str, str], str], set[tuple[str, str]]]:
    """Values files of (domain, system, env) triples: one working-clone read per repository.

    Returns ``{(system_id, env): text}`` for files found, and the (system_id, env) pairs whose repository
    could not be read.
    """
    groups: dict[str, tuple[Domain, str, list[tuple[System, str, str]]]] = {}
    holders: dict[tuple[str, str], GitOpsRepository] = {}  # one look-up per (domain, env), not per system
    for domain, system, env in wanted:
        row = holders.get((domain.id, env))
        if row is None:
            row = gitops_service.repository_for(session, settings=settings, domain_id=domain.id, env=env)
            holders[(domain.id, env)] = row
        groups.setdefault(row.id, (domain, env, []))[2].append(
            (system, env, values_path(domain, system, env))
        )
    texts: dict[tuple[str, str], str] = {}
    failed: set[tuple[str, str]] = set()
    for domain, env, items in groups.values():
        try:
            files = gitops_service.current_files(
                session, settings=settings, domain=domain, env=env, paths=[path for _, _, path in items],
                max_age=settings.deployments.gitops_read_seconds,
            )  # fmt: skip
        except (GitOpsError, OSError):
            failed.update((system.id, item_env) for system, item_env, _ in items)
            continue
        for system, item_env, path in items:
            if path in files:
                texts[(system.id, item_env)] = files[path]
    return texts, failed
