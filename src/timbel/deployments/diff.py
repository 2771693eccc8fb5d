"""Compare two releases of one system: commits between their source commits, images, values (key by key)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from timbel.catalog.models import System
from timbel.core.errors import ValidationFailed
from timbel.core.settings import Settings
from timbel.deployments.commits import commits_between
from timbel.deployments.models import Release
from timbel.deployments.read_service import short_digest


class DifferentSystems(ValidationFailed):
    """Two releases of different systems cannot be compared."""


def _images(release: Release) -> dict[str, dict[str, Any]]:
    return {str(i.get("service", "")): i for i in release.images}


def _ref(image: dict[str, Any] | None) -> str:
    if image is None:
        return ""
    return f"{image.get('repository', '')}:{image.get('tag', '')}"


def image_changes(a: Release, b: Release) -> list[dict[str, Any]]:
    """Per service: ``changed``, ``same``, ``added`` (only in b) or ``removed`` (only in a)."""
    old, new = _images(a), _images(b)
    rows: list[dict[str, Any]] = []
    for service in sorted(set(old) | set(new)):
        before, after = old.get(service), new.get(service)
        if before is None:
            change = "added"
        elif after is None:
            change = "removed"
        elif (_ref(before), before.get("digest")) == (_ref(after), after.get("digest")):
            change = "same"
        else:
            change = "changed"
        rows.append(
            {
                "service": service,
                "change": change,
                "a": _ref(before),
                "b": _ref(after),
                "a_digest": (before or {}).get("digest") or "",
                "b_digest": (after or {}).get("digest") or "",
                "a_short": short_digest((before or {}).get("digest")),
                "b_short": short_digest((after or {}).get("digest")),
            }
        )
    return rows


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}`` (lists are leaves)."""
    if isinstance(value, dict) and value:
        found: dict[str, Any] = {}
        for key in sorted(value, key=str):
            found.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return found
    return {prefix: value} if prefix else {}


def value_changes(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Keys whose value differs between two values documents: ``changed``, ``added`` or ``removed``."""
    old, new = flatten(a), flatten(b)
    rows: list[dict[str, Any]] = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            rows.append({"key": key, "change": "added", "a": None, "b": new[key]})
        elif key not in new:
            rows.append({"key": key, "change": "removed", "a": old[key], "b": None})
        elif old[key] != new[key]:
            rows.append({"key": key, "change": "changed", "a": old[key], "b": new[key]})
    return rows


def commits(
    session: Session, *, settings: Settings, system: System, a: Release, b: Release
) -> dict[str, Any]:
    """Commits from a's source commit to b's (``commits_between``); errors are reported, not raised."""
    try:
        rows: list[dict[str, Any]] = commits_between(
            session, settings=settings, system=system, old=a.source_commit, new=b.source_commit
        )
        return {"items": rows, "error": ""}
    except Exception as exc:  # a repository that cannot be read must not hide the rest of the diff
        return {"items": [], "error": str(exc)[:300] or exc.__class__.__name__}


def release_diff(
    session: Session, *, settings: Settings, system: System, a: Release, b: Release
) -> dict[str, Any]:
    """The whole comparison of release ``a`` (older, usually) to release ``b``."""
    if a.system_id != b.system_id or a.system_id != system.id:
        raise DifferentSystems("Both releases must belong to the same system.")
    return {
        "system": {"id": system.id, "slug": system.slug, "name": system.name},
        "a": {"id": a.id, "version": a.version, "source_commit": a.source_commit, "created_at": a.created_at},
        "b": {"id": b.id, "version": b.version, "source_commit": b.source_commit, "created_at": b.created_at},
        "commits": commits(session, settings=settings, system=system, a=a, b=b),
        "images": image_changes(a, b),
        "values": value_changes(a.values or {}, b.values or {}),
        "chart": {"a": a.chart_version, "b": b.chart_version, "changed": a.chart_version != b.chart_version},
    }
