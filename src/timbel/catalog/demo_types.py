"""The shapes of the demo catalog (`timbel demo load`); the content is in ``demo_data``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

LOCAL_REPO = "@local"


@dataclass(frozen=True)
class DemoComponent:
    """A component (``kind='api'`` for an API) with its tech, path and reuse score."""

    name: str
    kind: str
    language: str
    framework: str
    path: str
    description: str
    reuse_score: float


@dataclass(frozen=True)
class DemoSystem:
    """A system with its stack and the components inside it."""

    slug: str
    name: str
    stage: str
    description: str
    languages: tuple[str, ...]
    frameworks: tuple[str, ...]
    datastores: tuple[str, ...]
    components: tuple[DemoComponent, ...]
    repo_url: str = ""
    projects: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class DemoProject:
    """A customer engagement; ``work_groups`` split an urgent one."""

    name: str
    status: str
    description: str
    start: date
    due: date
    requirements: str
    urgent_reason: str = ""
    urgent_deadline: datetime | None = None
    work_groups: tuple[tuple[str, str, str], ...] = ()
    voc: str = ""


@dataclass(frozen=True)
class DemoDomain:
    """A customer domain (영업처) and everything built for it."""

    code: str
    name: str
    industry: str
    region: str
    priority: str
    description: str
    contact: tuple[str, str, str]
    projects: tuple[DemoProject, ...]
    systems: tuple[DemoSystem, ...] = field(default=())
