"""Numbers for the catalog dashboard, scoped to the caller's domains, in a fixed number of queries.

Counts by kind (one query), systems by stage (one), entities by domain (two), the latest changes
across kinds (one), and the popular and most-reused assets from the usage counters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from timbel.auth.principal import Principal
from timbel.catalog import usage
from timbel.catalog.models import Component, DesignAsset, Document, Domain, Project, System
from timbel.catalog.service import sees_all
from timbel.core.db import UTCDateTime

# Kind → (model, the column people know it by, page address prefix).
KINDS: dict[str, tuple[Any, Any, str]] = {
    "domain": (Domain, Domain.name, "/catalog/domains/"),
    "project": (Project, Project.name, "/catalog/projects/"),
    "system": (System, System.name, "/catalog/systems/"),
    "component": (Component, Component.name, "/catalog/components/"),
    "document": (Document, Document.title, "/catalog/documents/"),
    "design_asset": (DesignAsset, DesignAsset.title, "/catalog/design-assets/"),
}
STAGES = ("development", "staging", "production")
RECENT = 10
CHART_DOMAINS = 15


@dataclass(frozen=True)
class Change:
    """One recently created or changed catalog entry."""

    kind: str
    id: str
    title: str
    href: str
    changed_at: datetime


@dataclass(frozen=True)
class DomainTotals:
    """How much of the catalog belongs to one domain."""

    id: str
    code: str
    name: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        """Everything in the domain, itself not included."""
        return sum(self.counts.values())


@dataclass
class Dashboard:
    """Everything the dashboard page shows."""

    counts: dict[str, int]
    stages: dict[str, int]
    domains: list[DomainTotals]
    recent: list[Change]
    popular: list[usage.PopularEntry] = field(default_factory=list)
    reused: list[usage.PopularEntry] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when the caller can see nothing at all."""
        return not any(self.counts.values())


def href(kind: str, entity_id: str) -> str:
    """Return the page address of a catalog entry."""
    return KINDS[kind][2] + entity_id


def _domain_column(model: Any) -> Any:
    return model.id if model is Domain else model.domain_id


def _scoped(stmt: Any, model: Any, principal: Principal) -> Any:
    return stmt if sees_all(principal) else stmt.where(_domain_column(model).in_(principal.domain_ids))


def build(session: Session, *, principal: Principal) -> Dashboard:
    """Collect the dashboard's numbers for what the caller may see."""
    totals = [
        _scoped(select(func.count()).select_from(model), model, principal).scalar_subquery().label(kind)
        for kind, (model, _, _) in KINDS.items()
    ]
    row = session.execute(select(*totals)).one()
    counts = {kind: int(row[i] or 0) for i, kind in enumerate(KINDS)}
    stage_rows = session.execute(
        _scoped(select(System.stage, func.count()).group_by(System.stage), System, principal)
    ).all()
    stages = dict.fromkeys(STAGES, 0) | {stage: int(n) for stage, n in stage_rows}
    dashboard = Dashboard(
        counts=counts,
        stages=stages,
        domains=_by_domain(session, principal),
        recent=_recent(session, principal),
    )
    dashboard.popular = usage.popular(session, principal=principal, by=usage.UsageKind.view, limit=10)
    dashboard.reused = usage.popular(session, principal=principal, by=usage.UsageKind.reuse, limit=10)
    return dashboard


def _by_domain(session: Session, principal: Principal) -> list[DomainTotals]:
    parts = [
        _scoped(
            select(model.domain_id.label("domain_id"), literal(kind).label("kind"), func.count().label("n")),
            model,
            principal,
        ).group_by(model.domain_id)
        for kind, (model, _, _) in KINDS.items()
        if model is not Domain
    ]
    per_domain: dict[str, dict[str, int]] = {}
    for domain_id, kind, n in session.execute(union_all(*parts)):
        per_domain.setdefault(domain_id, {})[kind] = int(n)
    domains = session.execute(_scoped(select(Domain.id, Domain.code, Domain.name), Domain, principal)).all()
    kinds = [k for k in KINDS if k != "domain"]
    rows = [
        DomainTotals(d.id, d.code, d.name, {k: per_domain.get(d.id, {}).get(k, 0) for k in kinds})
        for d in domains
    ]
    return sorted(rows, key=lambda d: (-d.total, d.code))[:CHART_DOMAINS]


def _recent(session: Session, principal: Principal) -> list[Change]:
    parts = []
    for kind, (model, title, _) in KINDS.items():
        changed = func.coalesce(model.updated_at, model.created_at, type_=UTCDateTime())
        newest = _scoped(
            select(
                literal(kind).label("kind"), model.id.label("id"), title.label("title"), changed.label("at")
            ),
            model,
            principal,
        )
        parts.append(select(newest.order_by(changed.desc()).limit(RECENT).subquery()))
    merged = union_all(*parts).subquery()
    rows = session.execute(select(merged).order_by(merged.c.at.desc(), merged.c.id).limit(RECENT)).all()
    return [Change(r.kind, r.id, r.title, href(r.kind, r.id), r.at) for r in rows]
