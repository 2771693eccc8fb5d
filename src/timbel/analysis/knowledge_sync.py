"""Put a report's extracted knowledge into the catalog as ``source=auto`` items linked to the commit.

Why this merge rule: re-analysis must update what it created without duplicating it and without
undoing what people changed. Each auto item carries an ``origin_key`` (what in the repository it
came from) and ``auto_values`` (the values the analyzer last wrote). On the next run a field is
overwritten only while it still equals what the analyzer wrote; a field someone edited is kept.
Items the new report no longer has are left in place (someone may rely on them) and counted as stale.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.analysis.models import Analysis
from timbel.analysis.schema import AnalysisReport
from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.catalog import versions
from timbel.catalog.models import Component, DesignAsset, Document, System

Asset = Component | Document | DesignAsset
AUTO = "auto"
NAME_LIMIT = 200


@dataclass
class SyncCounts:
    """What one sync did to the catalog."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_edits: int = 0
    skipped: int = 0
    stale: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counts as a plain dict."""
        return asdict(self)


def _fenced(text: str, fmt: str) -> str:
    """Keep non-markdown documents readable in the markdown view."""
    if fmt == "markdown":
        return text
    fence = "````" if "```" in text else "```"
    return f"{fence}{'' if fmt == 'text' else fmt}\n{text}\n{fence}\n"


def _browse_url(repo_url: str | None, commit: str | None, path: str) -> str:
    """Link a file on GitHub at the analysed commit; other hosts get no link (their layouts differ)."""
    if not repo_url or not commit:
        return ""
    parts = urlsplit(repo_url)
    if parts.scheme != "https" or parts.hostname != "github.com":
        return ""
    repo = parts.path.removesuffix(".git").rstrip("/")
    return f"https://github.com{repo}/blob/{commit}/{path}"


def _joined(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)


def wanted_items(
    report: AnalysisReport, texts: dict[str, str]
) -> list[tuple[type[Asset], str, dict[str, Any]]]:
    """Return (model, origin key, managed values) for every knowledge item of the report."""
    items: list[tuple[type[Asset], str, dict[str, Any]]] = []
    know = report.knowledge
    for comp in know.components:
        items.append((Component, f"component:{comp.path}#{comp.name}", {
            "name": comp.name, "kind": comp.kind, "language": comp.language[:64],
            "framework": (comp.framework or "")[:64], "path": comp.path[:500],
            "description": comp.description, "reuse_score": float(comp.reuse_score),
        }))  # fmt: skip
    for api in know.apis:
        summary = f"{api.format} {api.spec_version or ''}".strip() + f", {api.endpoint_count} endpoints"
        items.append((Component, f"api:{api.path}", {
            "name": api.name, "kind": "api", "language": api.language[:64], "framework": api.format,
            "path": api.path[:500], "description": _joined(api.description, summary),
            "reuse_score": float(api.reuse_score),
        }))  # fmt: skip
    for doc in know.documents:
        text = texts.get(doc.path)
        content = _fenced(text, doc.format) if text is not None else doc.summary
        items.append((Document, f"document:{doc.path}", {
            "title": doc.title, "kind": doc.kind, "format": "markdown", "content": content,
        }))  # fmt: skip
    source = report.source
    for asset in know.design_assets:
        items.append((DesignAsset, f"design:{asset.path}", {
            "title": asset.title, "kind": asset.kind,
            "description": _joined(asset.description, f"{asset.format}: {asset.path}"),
            "url": (asset.url or _browse_url(source.url, source.commit, asset.path))[:1000],
            "tags": [asset.format] if asset.format else [],
        }))  # fmt: skip
    return items


def _merge(row: Asset, values: dict[str, Any]) -> tuple[bool, bool]:
    """Apply analyzer values field by field, keeping fields a person changed; return (changed, kept)."""
    previous = row.auto_values or {}
    changed = kept = False
    for field, new in values.items():
        current = getattr(row, field)
        if field in previous and current != previous[field]:
            kept = kept or current != new
            continue
        if current != new:
            setattr(row, field, new)
            changed = True
    row.auto_values = values
    return changed, kept


def _free_name(taken: set[str], name: str, path: str) -> str | None:
    """Return a component name not yet used in the system (the path disambiguates), or None."""
    for candidate in (name, f"{name} ({path})"):
        candidate = candidate if len(candidate) <= NAME_LIMIT else candidate[: NAME_LIMIT - 1] + "…"
        if candidate not in taken:
            return candidate
    return None


def _existing_name(row: Asset, key: str, values: dict[str, Any], taken: set[str]) -> str:
    """Keep the name the analyzer gave a component before (a code component's key includes its name);
    an API whose title changed gets a free name."""
    previous = (row.auto_values or {}).get("name")
    if previous and (key.startswith("component:") or values["name"] == previous):
        return str(previous)
    return _free_name(taken - {getattr(row, "name", "")}, values["name"], values["path"]) or str(previous)


def sync_knowledge(
    session: Session, *, system: System, report: AnalysisReport, texts: dict[str, str], author_id: str | None
) -> SyncCounts:
    """Create or update the system's auto items from the report; never touch manual items."""
    counts = SyncCounts()
    commit = report.source.commit
    existing: dict[str, Asset] = {}
    models: tuple[type[Asset], ...] = (Component, Document, DesignAsset)
    for model in models:
        rows: list[Asset] = list(
            session.scalars(select(model).where(model.system_id == system.id, model.origin_key.is_not(None)))
        )
        existing.update((row.origin_key, row) for row in rows if row.origin_key)
    taken = set(session.scalars(select(Component.name).where(Component.system_id == system.id)))
    seen: set[str] = set()
    for kind, key, values in wanted_items(report, texts):
        if key in seen:
            continue
        seen.add(key)
        row = existing.get(key)
        if row is None:
            if kind is Component:
                name = _free_name(taken, values["name"], values["path"])
                if name is None:
                    counts.skipped += 1
                    continue
                values = {**values, "name": name}
                taken.add(name)
            extra = {} if kind is Component else {"created_by": author_id}
            row = kind(
                domain_id=system.domain_id, system_id=system.id, source=AUTO, commit_sha=commit,
                origin_key=key, auto_values=values, **values, **extra,
            )  # fmt: skip
            session.add(row)
            versions.record(session, asset=row, author_id=author_id)
            counts.created += 1
            continue
        if kind is Component:
            values = {**values, "name": _existing_name(row, key, values, taken)}
        changed, kept = _merge(row, values)
        row.commit_sha = commit
        counts.kept_edits += kept
        if changed:
            row.version += 1
            versions.record(session, asset=row, author_id=author_id)
            counts.updated += 1
        else:
            counts.unchanged += 1
    counts.stale = len(set(existing) - seen)
    session.flush()
    return counts


def apply_system_facts(system: System, report: AnalysisReport, *, analysis_id: str) -> None:
    """Set the system's tech stack, readiness and last commit from the report."""
    system.languages = [lang.name for lang in report.languages][:50]
    system.frameworks = sorted({s.framework for s in report.services if s.framework})[:50]
    system.datastores = sorted({d.name for s in report.services for d in s.datastores})[:50]
    system.readiness = {
        "score": report.readiness.score,
        "analysis_id": analysis_id,
        "commit": report.source.commit,
        "failed": [c.id for c in report.readiness.checks if not c.ok],
    }
    if report.source.commit:
        system.last_commit_sha = report.source.commit
        system.last_commit_at = report.git.last_commit


def sync_system_after_run(session: Session, *, analysis_id: str) -> SyncCounts | None:
    """After a system's re-analysis succeeds, bring its facts and auto items up to date (audited)."""
    analysis = session.get(Analysis, analysis_id)
    if analysis is None or analysis.system_id is None or analysis.report is None:
        return None
    system = session.get(System, analysis.system_id)
    if system is None:
        return None
    report = AnalysisReport.model_validate(analysis.report)
    apply_system_facts(system, report, analysis_id=analysis.id)
    counts = sync_knowledge(
        session, system=system, report=report, texts=analysis.texts or {}, author_id=analysis.created_by
    )
    audit_service.record(
        session,
        ctx=AuditContext(actor_id=analysis.created_by, actor_name="analysis"),
        action="analysis.sync",
        target_type="system",
        target_id=system.id,
        summary=f"updated {system.slug} from analysis of {report.source.commit or 'the working tree'}",
        changes=counts.as_dict(),
    )
    return counts
