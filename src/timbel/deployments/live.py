"""What runs live in an environment, as its target reports it: the contract pages and execution share."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LiveStatus:
    """One environment of a system as its target sees it now.

    ``health``: ``Healthy``, ``Progressing``, ``Degraded``, ``Suspended``, ``Missing``, ``Unknown``
    from Argo CD or a cluster; ``not-verified`` when the target is GitOps only (no live target),
    ``unreachable`` when the target could not be asked (``detail`` says why).
    ``sync``: ``Synced``/``OutOfSync``/``Unknown`` or ``""``.
    ``images``: service → live image reference (``repo:tag`` or ``repo@sha256:…``) when the target can tell.
    """

    target_kind: str
    health: str
    sync: str = ""
    revision: str | None = None
    images: dict[str, str] = field(default_factory=dict)
    detail: str = ""

    @property
    def verified(self) -> bool:
        """Tell whether a live target answered (as opposed to GitOps only or unreachable)."""
        return self.health not in ("not-verified", "unreachable")
