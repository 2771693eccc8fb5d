"""Version history of components, documents and design assets: one snapshot per change, text diffs.

Services call :func:`record` after creating an asset (version 1) and after every update that
changed something (bump ``asset.version`` first). Snapshots hold the asset's own fields only.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.catalog.models import AssetVersion, Component, DesignAsset, Document
from timbel.core.errors import NotFound

Asset = Component | Document | DesignAsset

# The asset kind as it appears in URLs, search results and usage rows, and its id column.
ASSET_KINDS: dict[type[Asset], tuple[str, str]] = {
    Component: ("component", "component_id"),
    Document: ("document", "document_id"),
    DesignAsset: ("design_asset", "design_asset_id"),
}
_SKIP = frozenset({"id", "version", "created_at", "updated_at", "created_by", "auto_values"})


def kind_of(asset: Asset) -> str:
    """Return ``component``, ``document`` or ``design_asset``."""
    return ASSET_KINDS[type(asset)][0]


def _column(asset_type: type[Asset]) -> Any:
    return getattr(AssetVersion, ASSET_KINDS[asset_type][1])


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    return value


def snapshot_of(asset: Asset) -> dict[str, Any]:
    """Return the asset's own fields as JSON-safe data (no ids of the row itself, no timestamps)."""
    return {
        column.key: _json_value(getattr(asset, column.key))
        for column in asset.__table__.columns
        if column.key not in _SKIP
    }


def record(session: Session, *, asset: Asset, author_id: str | None) -> AssetVersion:
    """Store the asset's current state as version ``asset.version``."""
    session.flush()
    row = AssetVersion(
        version=asset.version,
        snapshot=snapshot_of(asset),
        author_id=author_id,
        **{ASSET_KINDS[type(asset)][1]: asset.id},
    )
    session.add(row)
    session.flush()
    return row


def list_versions(session: Session, *, asset: Asset) -> list[AssetVersion]:
    """Return an asset's versions, newest first."""
    return list(
        session.scalars(
            select(AssetVersion).where(_column(type(asset)) == asset.id).order_by(AssetVersion.version.desc())
        ).all()
    )


def get_version(session: Session, *, asset: Asset, version: int) -> AssetVersion:
    """Return one version of an asset or raise NotFound."""
    row = session.scalar(
        select(AssetVersion).where(_column(type(asset)) == asset.id, AssetVersion.version == version)
    )
    if row is None:
        raise NotFound("No such version.")
    return row


@dataclass(frozen=True)
class FieldDiff:
    """How one field changed between two versions; ``lines`` is a unified diff for text."""

    field: str
    old: Any
    new: Any
    lines: list[str]


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[FieldDiff]:
    """Compare two snapshots field by field; multi-line text gets a unified diff."""
    changes: list[FieldDiff] = []
    for field in sorted(set(old) | set(new)):
        before, after = old.get(field), new.get(field)
        if before == after:
            continue
        lines: list[str] = []
        if isinstance(before, str) and isinstance(after, str):
            lines = list(
                difflib.unified_diff(
                    before.splitlines(), after.splitlines(), "before", "after", lineterm="", n=2
                )
            )
        changes.append(FieldDiff(field=field, old=before, new=after, lines=lines))
    return changes
