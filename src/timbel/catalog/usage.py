"""Usage counters of components, documents and design assets: views, downloads, reuses.

Counters are single rows updated in place (``views = views + 1``), so concurrent requests never
lose a count. Popular lists read the counters, scoped to the caller's domains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog.models import AssetUsage, Component
from timbel.catalog.versions import ASSET_KINDS, Asset
from timbel.core.db import utcnow


class UsageKind(StrEnum):
    """What a user did with an asset."""

    view = "view"
    download = "download"
    reuse = "reuse"


_COUNTER = {UsageKind.view: "views", UsageKind.download: "downloads", UsageKind.reuse: "reuses"}


@dataclass(frozen=True)
class UsageCounts:
    """An asset's counters."""

    views: int = 0
    downloads: int = 0
    reuses: int = 0


def _id_column(asset_type: type[Asset]) -> Any:
    return getattr(AssetUsage, ASSET_KINDS[asset_type][1])


def bump(session: Session, *, asset: Asset, kind: UsageKind) -> None:
    """Add one to an asset's counter, creating its row on first use."""
    counter = _COUNTER[kind]
    column = getattr(AssetUsage, counter)
    stmt = (
        update(AssetUsage)
        .where(_id_column(type(asset)) == asset.id)
        .values({counter: column + 1, "last_used_at": utcnow()})
        .execution_options(synchronize_session=False)
    )
    if session.execute(stmt).rowcount:  # type: ignore[attr-defined]
        return
    try:
        with session.begin_nested():
            counters: dict[str, Any] = {"views": 0, "downloads": 0, "reuses": 0, counter: 1}
            session.add(
                AssetUsage(
                    domain_id=asset.domain_id,
                    last_used_at=utcnow(),
                    **counters,
                    **{ASSET_KINDS[type(asset)][1]: asset.id},
                )
            )
    except IntegrityError:
        session.execute(stmt)


def counts_for(session: Session, *, assets: Sequence[Asset]) -> dict[str, UsageCounts]:
    """Return the counters of some assets of one type, by asset id (missing = all zero)."""
    if not assets:
        return {}
    column = _id_column(type(assets[0]))
    rows = session.execute(
        select(column, AssetUsage.views, AssetUsage.downloads, AssetUsage.reuses).where(
            column.in_([a.id for a in assets])
        )
    )
    return {r[0]: UsageCounts(views=r[1], downloads=r[2], reuses=r[3]) for r in rows}


@dataclass(frozen=True)
class PopularEntry:
    """One row of a popular or most-reused list."""

    kind: str
    id: str
    title: str
    counts: UsageCounts


def popular(
    session: Session, *, principal: Principal, by: UsageKind = UsageKind.view, limit: int = 10
) -> list[PopularEntry]:
    """Return the assets with the highest counter of one kind among those the caller may see."""
    counter = getattr(AssetUsage, _COUNTER[by])
    stmt = select(AssetUsage).where(counter > 0)
    if not principal.has(Permission.domains_all):
        stmt = stmt.where(AssetUsage.domain_id.in_(principal.domain_ids))
    rows = session.scalars(stmt.order_by(counter.desc(), AssetUsage.id).limit(limit)).all()
    found: dict[str, Asset] = {}  # one query per asset type, not one per row
    for asset_type, (_, column) in ASSET_KINDS.items():
        ids = [getattr(row, column) for row in rows if getattr(row, column)]
        if ids:
            model = cast("Any", asset_type)
            found.update({a.id: a for a in session.scalars(select(model).where(model.id.in_(ids)))})
    entries: list[PopularEntry] = []
    for row in rows:
        for kind, column in ASSET_KINDS.values():
            asset_id = getattr(row, column)
            asset = found.get(asset_id) if asset_id else None
            if asset is None:
                continue
            title = asset.name if isinstance(asset, Component) else asset.title
            counts = UsageCounts(views=row.views, downloads=row.downloads, reuses=row.reuses)
            entries.append(PopularEntry(kind=kind, id=asset_id, title=title, counts=counts))
    return entries
