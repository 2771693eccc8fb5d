"""Verification checks: what must hold during a deployment's verify window for it to count as succeeded.

Why a registry: the built-in check only knows what the target reports (health, sync, revision, images);
monitoring adds SLO and alert checks later with ``register_check(factory)`` without touching execution.
A check gets a ``CheckContext`` (plain values, no database session) and returns a ``CheckResult``; a check
that raises counts as failed with the exception's type in the detail (never its possibly secret text).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from timbel.core.errors import AppError
from timbel.deployments.live import LiveStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict and the evidence, shown on the deployment page."""

    name: str
    passed: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form stored in ``Deployment.checks``."""
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class CheckContext:
    """What a check may look at: the deployment, what it should run, and what the target reports now."""

    deployment_id: str
    system_id: str
    system: str  # slug
    domain: str  # code
    environment: str
    version: str
    images: Sequence[Mapping[str, Any]]  # the release's images
    revision: str | None  # the GitOps commit this deployment made
    live: LiveStatus
    contains: Callable[[str], bool] = field(default=lambda _: False)  # does a revision include ours
    settings: Any = None


class VerificationCheck(Protocol):
    """A named check run repeatedly during the verify window."""

    name: str

    def run(self, ctx: CheckContext) -> CheckResult:
        """Judge the deployment now."""
        ...


CheckFactory = Callable[[], VerificationCheck]
_FACTORIES: dict[str, CheckFactory] = {}


def register_check(factory: CheckFactory, *, name: str | None = None) -> None:
    """Add a check (by name; registering a name again replaces it). Call at import time of your module."""
    _FACTORIES[name or factory().name] = factory


def registered_checks() -> list[VerificationCheck]:
    """A fresh instance of every registered check, in registration order."""
    return [factory() for factory in _FACTORIES.values()]


def at_revision(live: LiveStatus, *, revision: str | None, contains: Callable[[str], bool]) -> bool:
    """True when the target is at our GitOps commit or a later one containing it (or reports none)."""
    if not live.revision or not revision:
        return True
    return live.revision == revision or contains(live.revision)


def image_matches(image: Mapping[str, Any], live_images: Sequence[str]) -> bool:
    """True when some live image reference is the release image (``repo:tag``, ``repo@digest`` or the tag)."""
    repository, tag, digest = str(image.get("repository") or ""), str(image["tag"]), image.get("digest")
    for ref in live_images:
        if digest and ref.endswith(f"@{digest}"):
            return True
        if repository and ref == f"{repository}:{tag}":
            return True
        if not repository and ref.rsplit("/", 1)[-1].endswith(f":{tag}"):
            return True
    return False


class HealthCheck:
    """Healthy, Synced at our revision, and (when the target reports images) the release's images."""

    name = "health"

    def run(self, ctx: CheckContext) -> CheckResult:
        """Judge health, sync, revision and images from the live status."""
        live = ctx.live
        if live.health != "Healthy":
            return CheckResult(self.name, False, f"health {live.health}: {live.detail}".strip(": "))
        if live.sync and live.sync != "Synced":
            return CheckResult(self.name, False, f"sync status {live.sync}")
        if not at_revision(live, revision=ctx.revision, contains=ctx.contains):
            return CheckResult(self.name, False, f"target at {live.revision}, not at {ctx.revision}")
        if live.images:
            missing = [i["service"] for i in ctx.images if not image_matches(i, list(live.images.values()))]
            if missing:
                return CheckResult(self.name, False, "images not running: " + ", ".join(sorted(missing)))
        where = f" at {live.revision[:12]}" if live.revision else ""
        return CheckResult(self.name, True, f"Healthy, {live.sync or 'applied'}{where}")


def run_checks(ctx: CheckContext, checks: Sequence[VerificationCheck] | None = None) -> list[CheckResult]:
    """Run every check once; a raising check is a failed result naming the error type."""
    results = []
    for check in registered_checks() if checks is None else checks:
        try:
            results.append(check.run(ctx))
        except AppError as exc:
            results.append(CheckResult(check.name, False, exc.detail))
        except Exception as exc:
            logger.exception("verification check %s raised", check.name)
            results.append(CheckResult(check.name, False, f"check raised {type(exc).__name__}"))
    return results


register_check(HealthCheck)
