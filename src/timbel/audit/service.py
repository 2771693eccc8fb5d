"""Record and query the audit trail. Entries are append-only from the app."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from timbel.audit.models import AuditEntry
from timbel.core.db import session_scope

_SECRET_KEY = re.compile(r"pass(word)?|secret|token|credential|api[_-]?key|private", re.IGNORECASE)
MASK = "***"
UTF8_BOM = "\ufeff".encode()
CSV_COLUMNS = (
    "id",
    "created_at",
    "actor_name",
    "actor_id",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "summary",
    "ip",
    "user_agent",
    "request_id",
    "method",
    "path",
)


@dataclass(slots=True)
class AuditContext:
    """Who is acting and from where; one per request, job or CLI command."""

    actor_id: str | None = None
    actor_name: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    method: str | None = None
    path: str | None = None
    recorded: bool = False


def mask_secrets(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Replace values of secret-looking keys (recursively) with a mask."""
    masked: dict[str, Any] = {}
    for key, value in changes.items():
        if _SECRET_KEY.search(key):
            masked[key] = MASK
        elif isinstance(value, Mapping):
            masked[key] = mask_secrets(value)
        else:
            masked[key] = value
    return masked


def record(
    session: Session,
    *,
    ctx: AuditContext,
    action: str,
    target_type: str | None = None,
    target_id: str | None = None,
    summary: str = "",
    changes: Mapping[str, Any] | None = None,
    outcome: str = "success",
) -> AuditEntry:
    """Append an audit entry in the caller's transaction."""
    entry = AuditEntry(
        actor_id=ctx.actor_id,
        actor_name=ctx.actor_name,
        action=action,
        outcome=outcome,
        target_type=target_type,
        target_id=target_id,
        summary=summary[:500],
        changes=mask_secrets(changes or {}),
        ip=ctx.ip,
        user_agent=(ctx.user_agent or "")[:400] or None,
        request_id=ctx.request_id,
        method=ctx.method,
        path=(ctx.path or "")[:500] or None,
    )
    session.add(entry)
    session.flush()
    ctx.recorded = True
    return entry


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Filters for listing and exporting the audit trail."""

    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(stmt: Select[Any], flt: AuditFilter) -> Select[Any]:
    if flt.actor:
        stmt = stmt.where((AuditEntry.actor_name == flt.actor) | (AuditEntry.actor_id == flt.actor))
    if flt.action:
        if flt.action.endswith("*"):
            stmt = stmt.where(AuditEntry.action.startswith(flt.action[:-1], autoescape=True))
        else:
            stmt = stmt.where(AuditEntry.action == flt.action)
    if flt.target_type:
        stmt = stmt.where(AuditEntry.target_type == flt.target_type)
    if flt.target_id:
        stmt = stmt.where(AuditEntry.target_id == flt.target_id)
    if flt.since:
        stmt = stmt.where(AuditEntry.created_at >= flt.since)
    if flt.until:
        stmt = stmt.where(AuditEntry.created_at < flt.until)
    return stmt


def list_entries(
    session: Session, *, flt: AuditFilter, page: int, per_page: int
) -> tuple[list[AuditEntry], int]:
    """Return one page of matching entries, newest first, and the total count."""
    total = session.scalar(_filtered(select(func.count(AuditEntry.id)), flt)) or 0
    rows = session.scalars(
        _filtered(select(AuditEntry), flt)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return list(rows), total


def iter_csv(session: Session, *, flt: AuditFilter, batch: int = 1000) -> Iterator[str]:
    """Yield the matching entries as CSV text chunks, newest first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    stmt = _filtered(select(AuditEntry), flt).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    for entry in session.scalars(stmt.execution_options(yield_per=batch)):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_csv_cell(getattr(entry, col)) for col in CSV_COLUMNS])
        yield buffer.getvalue()


def stream_csv(factory: sessionmaker[Session], *, flt: AuditFilter) -> Iterator[bytes]:
    """Stream the CSV (UTF-8 with BOM for spreadsheets) from a session of its own.

    The request's session closes before a streamed body is sent, so the export opens its own.
    """
    yield UTF8_BOM
    with session_scope(factory) as session:
        for chunk in iter_csv(session, flt=flt):
            yield chunk.encode("utf-8")


def _csv_cell(value: Any) -> str:
    """Render a value for CSV, defusing spreadsheet formulas."""
    text = value.isoformat() if isinstance(value, datetime) else ("" if value is None else str(value))
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
