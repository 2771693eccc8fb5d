"""Run log store: append masked, timestamped lines in chunks; read byte slices; iterate the whole log.

A run's log is the concatenation of its chunks in ``seq`` order; ``offset`` is a chunk's first byte in
that whole and ``pipeline_runs.log_size`` its total length, so a reader resumes from any byte offset it
was given. Each appended line is ``<UTC timestamp> <text>\\n``; secrets are masked before anything is
stored. The runs table is reached through a Core ``table()`` so this module stays independent of the
run models.
"""

from __future__ import annotations

import base64
import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus

from sqlalchemy import BigInteger, String, column, func, select, table, update
from sqlalchemy.orm import Session

from timbel.core.db import utcnow
from timbel.core.errors import NotFound
from timbel.pipelines.engine_base import RunState
from timbel.pipelines.log_models import RunLogChunk

CHUNK_BYTES = 64 * 1024
READ_LIMIT = 64 * 1024
MIN_SECRET = 4
MASK = "***"
TERMINAL = frozenset(
    s.value for s in (RunState.succeeded, RunState.failed, RunState.cancelled, RunState.timed_out)
)
RUNS = table(
    "pipeline_runs",
    column("id", String),
    column("system_id", String),
    column("state", String),
    column("log_size", BigInteger),
)
_STAMP_BYTES = len("2026-11-26T15:04:05.123Z ")


@dataclass(frozen=True)
class LogSlice:
    """Part of a log: ``text`` from byte ``offset`` up to ``next_offset`` (whole lines where possible);
    ``complete`` once the run is terminal and nothing is left; ``size`` and ``state``: as when read."""

    text: str
    next_offset: int
    complete: bool
    size: int = 0
    state: str = RunState.queued.value
    offset: int = 0


def secret_forms(values: Iterable[str]) -> list[str]:
    """Every form of each secret that is masked: as is, URL-encoded, base64 (and each line of a multi-line
    secret); values shorter than four characters are not masked, longest forms first."""
    forms: set[str] = set()
    for value in values:
        for part in {value, *value.splitlines()}:
            part = part.strip("\r")
            if len(part) < MIN_SECRET:
                continue
            raw = part.encode()
            encoded = base64.b64encode(raw).decode()
            urlsafe = base64.urlsafe_b64encode(raw).decode()
            forms |= {part, quote(part, safe=""), quote(part), quote_plus(part)}
            forms |= {encoded, encoded.rstrip("="), urlsafe, urlsafe.rstrip("=")}
    return sorted((f for f in forms if len(f) >= MIN_SECRET), key=lambda f: (-len(f), f))


def mask_text(text: str, values: Iterable[str]) -> str:
    """Replace every form of every secret in ``text`` with ``***``."""
    forms = secret_forms(values)
    if not forms:
        return text
    return re.sub("|".join(re.escape(f) for f in forms), MASK, text)


def timestamp(moment: datetime) -> str:
    """Format a moment as a log line prefix: ``2026-11-26T15:04:05.123Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _split_long(line: str, budget: int) -> Iterator[str]:
    """Cut a line into pieces of at most ``budget`` UTF-8 bytes, never inside a character."""
    data = line.encode()
    while len(data) > budget:
        cut = budget
        while cut > 0 and data[cut] & 0xC0 == 0x80:
            cut -= 1
        yield data[:cut].decode()
        data = data[cut:]
    yield data.decode()


def _lines(text: str, stamp: str) -> Iterator[bytes]:
    pieces = text.split("\n")
    if pieces and pieces[-1] == "":
        pieces.pop()
    budget = CHUNK_BYTES - _STAMP_BYTES - 1
    for piece in pieces:
        for part in _split_long(piece.rstrip("\r"), budget):
            yield f"{stamp} {part}\n".encode()


def _chunks(lines: Iterable[bytes]) -> Iterator[bytes]:
    current = bytearray()
    for line in lines:
        if current and len(current) + len(line) > CHUNK_BYTES:
            yield bytes(current)
            current = bytearray()
        current += line
    if current:
        yield bytes(current)


def append_log(
    session: Session,
    *,
    run_id: str,
    text: str,
    stage_index: int | None = None,
    mask: Iterable[str] = (),
    now: datetime | None = None,
) -> int:
    """Append output to a run's log (masked, one timestamp per line, ≤ 64 KiB chunks); return its new size."""
    moment = now or utcnow()
    chunks = list(_chunks(_lines(mask_text(text, mask), timestamp(moment))))
    if not chunks:
        return run_state(session, run_id=run_id)[1]
    added = sum(len(c) for c in chunks)
    result = session.execute(update(RUNS).where(RUNS.c.id == run_id).values(log_size=RUNS.c.log_size + added))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("No such run.")
    size = int(session.scalar(select(RUNS.c.log_size).where(RUNS.c.id == run_id)) or 0)
    seq = int(session.scalar(select(func.max(RunLogChunk.seq)).where(RunLogChunk.run_id == run_id)) or 0)
    offset = size - added
    for data in chunks:
        seq += 1
        session.add(
            RunLogChunk(
                run_id=run_id, seq=seq, offset=offset, stage_index=stage_index,
                text=data.decode(), size=len(data), created_at=moment,
            )
        )  # fmt: skip
        offset += len(data)
    session.flush()
    return size


def run_state(session: Session, *, run_id: str) -> tuple[str, int]:
    """Return a run's (state, log size), or raise NotFound."""
    row = session.execute(select(RUNS.c.state, RUNS.c.log_size).where(RUNS.c.id == run_id)).one_or_none()
    if row is None:
        raise NotFound("No such run.")
    return str(row[0]), int(row[1] or 0)


def _cut(data: bytes, *, at_end: bool) -> bytes:
    """Trim a byte range to whole lines (or, for one overlong line, to whole characters)."""
    if at_end:
        return data
    newline = data.rfind(b"\n")
    if newline >= 0:
        return data[: newline + 1]
    whole = codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    return data[: len(whole.encode())]


def read_log(session: Session, *, run_id: str, offset: int = 0, limit: int = READ_LIMIT) -> LogSlice:
    """Read up to ``limit`` bytes of a run's log from byte ``offset``, cut at a line end when possible."""
    state, size = run_state(session, run_id=run_id)
    start = min(max(offset, 0), size)
    end = min(start + max(limit, 4), size)  # 4 bytes hold a whole character
    rows = session.execute(
        select(RunLogChunk.offset, RunLogChunk.text)
        .where(
            RunLogChunk.run_id == run_id,
            RunLogChunk.offset < end,
            RunLogChunk.offset + RunLogChunk.size > start,
        )
        .order_by(RunLogChunk.seq)
    ).all()
    data = b""
    if rows:
        joined = b"".join(text.encode() for _, text in rows)
        data = joined[start - rows[0][0] : end - rows[0][0]]
    while data and data[0] & 0xC0 == 0x80:  # an offset inside a character: skip to the next one
        data, start = data[1:], start + 1
    data = _cut(data, at_end=start + len(data) >= size)
    next_offset = start + len(data)
    complete = state in TERMINAL and next_offset >= size
    return LogSlice(
        text=data.decode(errors="replace"), offset=start, next_offset=next_offset,
        complete=complete, size=size, state=state,
    )  # fmt: skip


def iter_log(session: Session, *, run_id: str, batch: int = 64) -> Iterator[str]:
    """Yield a run's whole log, chunk by chunk (a few chunks in memory at a time)."""
    run_state(session, run_id=run_id)
    last = 0
    while True:
        rows = session.execute(
            select(RunLogChunk.seq, RunLogChunk.text)
            .where(RunLogChunk.run_id == run_id, RunLogChunk.seq > last)
            .order_by(RunLogChunk.seq)
            .limit(batch)
        ).all()
        for seq, text in rows:
            last = seq
            yield text
        if len(rows) < batch:
            return
