"""Tag retention: keep the newest N tags of a repository and everything deployed; delete the rest.

Why a plan first: deleting is by manifest digest, and one digest can carry several tags, so deleting an
old tag can silently take a deployed one with it. The planner resolves every tag to its digest, keeps a
digest when any of its tags is kept, and only then proposes deletions; the plan is the dry-run report,
and ``apply_retention`` executes exactly that plan. Age is the image config's ``created`` time when the
registry can show it, else the tag name (natural order: ``v10`` is newer than ``v9``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from timbel.integrations.base import ImageTag, Registry

_NUMBERS = re.compile(r"(\d+)")
_OLDEST = datetime.min.replace(tzinfo=UTC)


@runtime_checkable
class ImageInspector(Protocol):
    """A registry that can tell when an image was built (Docker Registry v2 via the config blob)."""

    def created(self, repository: str, reference: str) -> datetime | None:
        """The image's ``created`` time, or None when unknown."""
        ...


@dataclass(frozen=True)
class RetentionPlan:
    """What retention would keep and delete in one repository, newest first; ``reasons`` says why kept."""

    repository: str
    keep: tuple[ImageTag, ...]
    delete: tuple[ImageTag, ...]
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def digests_to_delete(self) -> list[str]:
        """Each manifest digest to delete, once, in plan order."""
        return list(dict.fromkeys(tag.digest for tag in self.delete if tag.digest))


def plan_retention(
    registry: Registry, *, repository: str, keep_last: int, protected: set[str]
) -> RetentionPlan:
    """Plan which tags to keep (newest ``keep_last``, ``protected`` tags or digests) and which to delete."""
    if keep_last < 0:
        raise ValueError("keep_last must be zero or more")
    entries: list[tuple[ImageTag, datetime | None]] = []
    for tag in registry.tags(repository):
        digest = registry.digest(repository, tag)
        if digest is None:
            continue  # deleted since the tag list was read
        created = registry.created(repository, digest) if isinstance(registry, ImageInspector) else None
        entries.append((ImageTag(repository, tag, digest), created))
    entries.sort(key=lambda entry: (entry[1] or _OLDEST, _natural(entry[0].tag)), reverse=True)
    reasons: dict[str, str] = {}
    kept_digests: set[str] = set()
    for rank, (image, _created) in enumerate(entries):
        if image.tag in protected or image.digest in protected:
            reasons[image.tag] = "protected (deployed)"
        elif rank < keep_last:
            reasons[image.tag] = f"among the newest {keep_last}"
        else:
            continue
        kept_digests.add(str(image.digest))
    keep: list[ImageTag] = []
    delete: list[ImageTag] = []
    for image, _created in entries:
        if image.tag in reasons:
            keep.append(image)
        elif image.digest in kept_digests:
            reasons[image.tag] = "same image as a kept tag"
            keep.append(image)
        else:
            delete.append(image)
    return RetentionPlan(repository, tuple(keep), tuple(delete), reasons)


def apply_retention(registry: Registry, *, plan: RetentionPlan) -> list[str]:
    """Delete the plan's digests; return the digests deleted."""
    deleted: list[str] = []
    for digest in plan.digests_to_delete:
        registry.delete(plan.repository, digest)
        deleted.append(digest)
    return deleted


def _natural(tag: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that orders digit runs numerically (``v9`` < ``v10``)."""
    return tuple((1, int(part)) if part.isdigit() else (0, part) for part in _NUMBERS.split(tag) if part)
