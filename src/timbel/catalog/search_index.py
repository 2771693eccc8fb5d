"""Keep the search index in step with the catalog: one ``search_entries`` row per entity.

Every flush that inserts or changes a domain, project, system, component, document or design
asset rewrites that entity's row in the same transaction (``after_flush``), so every writer is
covered without calling this module. Deletions need nothing: each row carries a cascading
foreign key to its entity, its domain and its parents, so database cascades (deleting a domain
removes its systems, components, …) remove the rows too. Writers that bypass the unit of work
(bulk ``insert()``/``update()`` statements) call ``index_entities`` or ``reindex`` afterwards.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, event, insert, select, text
from sqlalchemy.orm import Session

from timbel.catalog.models import Component, DesignAsset, Document, Domain, Project, System
from timbel.catalog.search_models import SearchEntry
from timbel.core.db import Base, utcnow

# Bump when what a row holds is computed differently (grams, text_key, …): every row's digest then
# changes, and `timbel search reindex` (or a migration calling it) rewrites them all.
INDEX_VERSION = 1
BODY_LIMIT = 20_000  # characters of body text indexed per entity (long documents: the start)
TITLE_LIMIT = 300
CHUNK = 500

ENTRIES: Table = SearchEntry.__table__  # type: ignore[assignment]


def grams_of(*texts: str) -> list[str]:
    """Return the distinct lower-case characters and character pairs of the texts, without whitespace."""
    found: set[str] = set()
    for value in texts:
        lowered = value.lower()
        for i, ch in enumerate(lowered):
            if ch.isspace():
                continue
            found.add(ch)
            nxt = lowered[i + 1 : i + 2]
            if nxt and not nxt.isspace():
                found.add(ch + nxt)
    return sorted(found)


def _join(*parts: Any) -> str:
    pieces: list[str] = []
    for part in parts:
        if isinstance(part, list | tuple):
            pieces.extend(str(p) for p in part if p)
        elif part:
            pieces.append(str(part))
    return "\n".join(pieces)


@dataclass(frozen=True, slots=True)
class Source:
    """How one catalog kind becomes a search entry."""

    model: type[Base]
    fields: tuple[str, ...]
    title: Callable[[Any], str]
    body: Callable[[Any], str]
    parents: Callable[[Any], dict[str, str | None]]
    languages: Callable[[Any], list[str]] = lambda _row: []
    tags: Callable[[Any], list[str]] = lambda _row: []
    stage: Callable[[Any], str | None] = lambda _row: None

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the entry is built from."""
        return ("id", *self.fields, "created_at", "updated_at")


def value_list(values: Iterable[str]) -> str:
    """Spell filter values as ``,a,b,`` (lower case, sorted, no commas inside) for one-LIKE lookups."""
    cleaned = sorted({" ".join(v.replace(",", " ").lower().split()) for v in values if v and v.strip()})
    return f",{','.join(cleaned)}," if cleaned else ""


SOURCES: dict[str, Source] = {
    "domain": Source(
        Domain,
        ("code", "name", "industry", "description"),
        title=lambda r: r.name,
        body=lambda r: _join(r.code, r.industry, r.description),
        parents=lambda r: {"domain_id": r.id},
    ),
    "project": Source(
        Project,
        ("domain_id", "name", "description", "requirement_summary"),
        title=lambda r: r.name,
        body=lambda r: _join(r.description, r.requirement_summary),
        parents=lambda r: {"domain_id": r.domain_id, "project_id": r.id},
    ),
    "system": Source(
        System,
        ("domain_id", "name", "slug", "description", "stage", "languages", "frameworks", "datastores"),
        title=lambda r: r.name,
        body=lambda r: _join(r.slug, r.description, r.languages, r.frameworks, r.datastores),
        parents=lambda r: {"domain_id": r.domain_id, "system_id": r.id},
        languages=lambda r: r.languages or [],
        stage=lambda r: r.stage,
    ),
    "component": Source(
        Component,
        ("domain_id", "system_id", "name", "description", "language", "framework", "path"),
        title=lambda r: r.name,
        body=lambda r: _join(r.description, r.language, r.framework, r.path),
        parents=lambda r: {"domain_id": r.domain_id, "system_id": r.system_id, "component_id": r.id},
        languages=lambda r: [r.language or ""],
    ),
    "document": Source(
        Document,
        ("domain_id", "system_id", "project_id", "title", "format", "content"),
        title=lambda r: r.title,
        body=lambda r: r.content if r.format == "markdown" else "",
        parents=lambda r: {
            "domain_id": r.domain_id,
            "system_id": r.system_id,
            "project_id": r.project_id,
            "document_id": r.id,
        },
    ),
    "design_asset": Source(
        DesignAsset,
        ("domain_id", "system_id", "project_id", "title", "description", "tags"),
        title=lambda r: r.title,
        body=lambda r: _join(r.description, r.tags or []),
        parents=lambda r: {
            "domain_id": r.domain_id,
            "system_id": r.system_id,
            "project_id": r.project_id,
            "design_asset_id": r.id,
        },
        tags=lambda r: r.tags or [],
    ),
}
KIND_OF_MODEL: dict[type[Any], str] = {source.model: kind for kind, source in SOURCES.items()}
PARENT_COLUMNS = ("domain_id", "project_id", "system_id", "component_id", "document_id", "design_asset_id")


@dataclass(slots=True)
class Entry:
    """The search row one entity should have."""

    entity_id: str
    values: dict[str, Any]

    @property
    def digest(self) -> str:
        """Fingerprint of everything the row holds, so unchanged rows are left alone."""
        return str(self.values["digest"])


def build_entry(kind: str, row: Any) -> Entry:
    """Turn an entity (ORM object or row with the source's columns) into its search entry."""
    source = SOURCES[kind]
    title = (source.title(row) or "")[:TITLE_LIMIT]
    body = (source.body(row) or "")[:BODY_LIMIT]
    stamp: datetime = row.updated_at or row.created_at or utcnow()
    values: dict[str, Any] = {
        "kind": kind,
        "domain_id": None,
        "stage": source.stage(row),
        "languages": value_list(source.languages(row)),
        "tags": value_list(source.tags(row)),
        "updated_at": stamp,
        "title_key": title.lower()[:TITLE_LIMIT],
        "title": title,
        "entity_id": row.id,
        **{name: None for name in PARENT_COLUMNS},
        **source.parents(row),
        "body": body,
    }
    fingerprint = json.dumps([INDEX_VERSION, values], default=str, sort_keys=True, ensure_ascii=False)
    values["digest"] = hashlib.sha256(fingerprint.encode()).hexdigest()
    values["text_key"] = f"{title}\n{body}".lower()
    values["grams"] = grams_of(values["text_key"])
    return Entry(row.id, values)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write_entries(conn: Connection, entries: Sequence[Entry]) -> int:
    """Replace the search rows of these entities (delete, then insert)."""
    for chunk in _chunks(entries):
        conn.execute(delete(ENTRIES).where(ENTRIES.c.entity_id.in_([e.entity_id for e in chunk])))
        conn.execute(insert(ENTRIES), [e.values for e in chunk])
    return len(entries)


def _stored_digests(conn: Connection, entity_ids: Sequence[str]) -> dict[str, str]:
    rows = conn.execute(
        select(ENTRIES.c.entity_id, ENTRIES.c.digest).where(ENTRIES.c.entity_id.in_(entity_ids))
    )
    return dict(rows.all())


def sync_entries(conn: Connection, entries: Sequence[Entry]) -> int:
    """Write only the entries whose stored row differs or is missing; return how many were written."""
    written = 0
    for chunk in _chunks(entries):
        stored = _stored_digests(conn, [e.entity_id for e in chunk])
        written += write_entries(conn, [e for e in chunk if stored.get(e.entity_id) != e.digest])
    return written


def index_entities(session: Session, *, kind: str, ids: Sequence[str]) -> int:
    """Index entities written without the unit of work (bulk statements); return rows written."""
    source = SOURCES[kind]
    table: Table = source.model.__table__  # type: ignore[assignment]
    conn = session.connection()
    written = 0
    for chunk in _chunks(list(ids)):
        rows = conn.execute(select(*(table.c[c] for c in source.columns)).where(table.c.id.in_(chunk)))
        written += sync_entries(conn, [build_entry(kind, row) for row in rows])
    return written


@event.listens_for(Session, "after_flush")
def _index_flushed(session: Session, _flush_context: Any) -> None:
    """Rewrite the search rows of catalog entities this flush inserted or changed."""
    changed: list[Entry] = []
    for obj in (*session.new, *session.dirty):
        kind = KIND_OF_MODEL.get(type(obj))
        if kind is None or obj in session.deleted:
            continue
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        changed.append(build_entry(kind, obj))
    if changed:
        sync_entries(session.connection(), changed)


@dataclass(slots=True)
class ReindexStats:
    """What a reindex looked at and rewrote."""

    scanned: dict[str, int] = field(default_factory=dict)
    written: int = 0


def reindex(session: Session, *, batch_size: int = CHUNK, rebuild: bool = False) -> ReindexStats:
    """Bring every entity's search row up to date in batches; ``rebuild`` also rebuilds the text indexes."""
    return reindex_connection(session.connection(), batch_size=batch_size, rebuild=rebuild)


def reindex_connection(conn: Connection, *, batch_size: int = CHUNK, rebuild: bool = False) -> ReindexStats:
    """``reindex`` on a bare connection (migrations have no session)."""
    stats = ReindexStats()
    for kind, source in SOURCES.items():
        table: Table = source.model.__table__  # type: ignore[assignment]
        columns = [table.c[c] for c in source.columns]
        last = ""
        stats.scanned[kind] = 0
        while True:
            stmt = select(*columns).where(table.c.id > last).order_by(table.c.id).limit(batch_size)
            rows = conn.execute(stmt).all()
            if not rows:
                break
            stats.scanned[kind] += len(rows)
            stats.written += sync_entries(conn, [build_entry(kind, row) for row in rows])
            last = rows[-1].id
    if rebuild:
        rebuild_text_indexes(conn)
    return stats


def rebuild_text_indexes(conn: Connection) -> None:
    """Rebuild the full-text structures from ``search_entries`` (repairs any drift)."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
        conn.execute(text("INSERT INTO search_grams(search_grams) VALUES ('rebuild')"))
    else:
        conn.execute(text("REINDEX TABLE search_entries"))
