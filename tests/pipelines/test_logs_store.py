"""Run log store: append (timestamps, masking, chunking, log_size), read by byte offset, iterate, complete."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.core.db import session_scope
from timbel.core.errors import NotFound
from timbel.pipelines import logs
from timbel.pipelines.log_models import RunLogChunk
from timbel.pipelines.run_models import Pipeline, PipelineRun

NOW = datetime(2026, 11, 26, 15, 4, 5, 123456, tzinfo=UTC)
STAMP = "2026-11-26T15:04:05.123Z "


def insert_run(app: FastAPI, *, system_id: str, state: str = "running") -> str:
    """Create a pipeline and one run of it for a system; return the run's id."""
    with session_scope(app.state.session_factory) as session:
        pipeline = session.scalar(select(Pipeline).where(Pipeline.system_id == system_id))
        if pipeline is None:
            pipeline = Pipeline(system_id=system_id, engine="local", stages=[])
            session.add(pipeline)
            session.flush()
        number = len(
            session.scalars(select(PipelineRun.id).where(PipelineRun.pipeline_id == pipeline.id)).all()
        )
        run = PipelineRun(
            pipeline_id=pipeline.id, system_id=system_id, number=number + 1, trigger="manual",
            ref="main", engine="local", state=state,
        )  # fmt: skip
        session.add(run)
        session.flush()
        return run.id


def set_state(app: FastAPI, run_id: str, state: str) -> None:
    """Move a run to a state directly (the run service's job; here only the column matters)."""
    with session_scope(app.state.session_factory) as session:
        run = session.get(PipelineRun, run_id)
        assert run is not None
        run.state = state


def append(app: FastAPI, run_id: str, text: str, **kwargs: object) -> int:
    """Append in its own committed transaction."""
    with session_scope(app.state.session_factory) as session:
        return logs.append_log(session, run_id=run_id, text=text, now=NOW, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def run_id(app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str]) -> str:
    """A running run of a system in a fresh domain."""
    return insert_run(app, system_id=make_system(make_domain("logs"), "log-shop"))


def _chunks(db: Session, run_id: str) -> list[RunLogChunk]:
    stmt = select(RunLogChunk).where(RunLogChunk.run_id == run_id).order_by(RunLogChunk.seq)
    return list(db.scalars(stmt))


def _whole(db: Session, run_id: str) -> str:
    return "".join(logs.iter_log(db, run_id=run_id))


def test_append_timestamps_lines_and_grows_log_size(app: FastAPI, run_id: str, db: Session) -> None:
    first = append(app, run_id, "hello\nworld\n", stage_index=0)
    second = append(app, run_id, "no newline at the end", stage_index=1)
    expected = f"{STAMP}hello\n{STAMP}world\n{STAMP}no newline at the end\n"
    assert first == len(f"{STAMP}hello\n{STAMP}world\n".encode())
    assert second == len(expected.encode())
    assert db.get(PipelineRun, run_id).log_size == second  # type: ignore[union-attr]
    chunks = _chunks(db, run_id)
    assert [(c.seq, c.offset, c.stage_index, c.size) for c in chunks] == [
        (1, 0, 0, first),
        (2, first, 1, second - first),
    ]
    assert _whole(db, run_id) == expected


def test_carriage_returns_and_empty_appends(app: FastAPI, run_id: str, db: Session) -> None:
    append(app, run_id, "windows\r\nline\r\n\nafter blank\n")
    size = append(app, run_id, "")
    assert _whole(db, run_id) == f"{STAMP}windows\n{STAMP}line\n{STAMP}\n{STAMP}after blank\n"
    assert size == len(_whole(db, run_id).encode())
    assert [c.seq for c in _chunks(db, run_id)] == [1]


def test_unknown_run_is_not_found(app: FastAPI, db: Session) -> None:
    with pytest.raises(NotFound):
        logs.append_log(db, run_id="missing", text="x\n")
    with pytest.raises(NotFound):
        logs.read_log(db, run_id="missing")


def test_read_by_offset_and_limit_gives_whole_lines(app: FastAPI, run_id: str, db: Session) -> None:
    append(app, run_id, "".join(f"line {i}\n" for i in range(50)))
    whole = _whole(db, run_id)
    line = len(f"{STAMP}line 0\n")
    part = logs.read_log(db, run_id=run_id, offset=0, limit=line + 5)
    assert part.text == f"{STAMP}line 0\n" and part.next_offset == line and not part.complete
    assert part.size == len(whole.encode()) and part.state == "running"
    collected, offset = "", 0
    while True:
        part = logs.read_log(db, run_id=run_id, offset=offset, limit=100)
        assert part.text.endswith("\n") or not part.text
        collected += part.text
        if part.next_offset == offset:
            break
        offset = part.next_offset
    assert collected == whole
    beyond = logs.read_log(db, run_id=run_id, offset=10**9)
    assert beyond.text == "" and beyond.next_offset == len(whole.encode())


def test_complete_needs_a_terminal_run_and_everything_read(app: FastAPI, run_id: str, db: Session) -> None:
    size = append(app, run_id, "a\nb\n")
    assert not logs.read_log(db, run_id=run_id).complete
    set_state(app, run_id, "failed")
    db.expire_all()
    assert not logs.read_log(db, run_id=run_id, limit=10).complete
    done = logs.read_log(db, run_id=run_id)
    assert done.complete and done.next_offset == size and done.state == "failed"
    for state in ("succeeded", "cancelled", "timed_out"):
        set_state(app, run_id, state)
        db.expire_all()
        assert logs.read_log(db, run_id=run_id, offset=size).complete
    set_state(app, run_id, "queued")
    db.expire_all()
    assert not logs.read_log(db, run_id=run_id, offset=size).complete


def test_masks_secrets_and_their_encoded_forms(app: FastAPI, run_id: str, db: Session) -> None:
    secret = "p@ss w/rd+?"
    b64 = base64.b64encode(secret.encode()).decode()
    text = (
        f"plain {secret}\n"
        f"url https://x/?token={quote(secret, safe='')}\n"
        f"form a={quote_plus(secret)}\n"
        f"basic {b64}\n"
        f"urlsafe {base64.urlsafe_b64encode(secret.encode()).decode().rstrip('=')}\n"
        "short abc stays\n"
        "pem line1-of-key and LINE2-OF-KEY\n"
    )
    append(app, run_id, text, mask=(secret, "abc", "", "line1-of-key\nLINE2-OF-KEY"))
    whole = _whole(db, run_id)
    assert secret not in whole and quote(secret, safe="") not in whole and quote_plus(secret) not in whole
    assert b64 not in whole and b64.rstrip("=") not in whole
    assert f"{STAMP}plain ***\n" in whole
    assert f"{STAMP}url https://x/?token=***\n" in whole
    assert f"{STAMP}basic ***\n" in whole and f"{STAMP}urlsafe ***\n" in whole
    assert "short abc stays" in whole
    assert "pem *** and ***" in whole


def test_mask_text_prefers_the_longest_form() -> None:
    assert logs.mask_text("token=secret-value-long", ["secret", "secret-value-long"]) == "token=***"
    assert logs.mask_text("nothing here", []) == "nothing here"


def test_large_appends_are_cut_into_64_kib_chunks(app: FastAPI, run_id: str, db: Session) -> None:
    text = "".join(f"{i:05d} " + "x" * 1000 + "\n" for i in range(150))  # ~150 KiB
    huge_line = "y" * (200 * 1024)  # one line longer than a chunk
    size = append(app, run_id, text)
    size = append(app, run_id, huge_line + "\n")
    chunks = _chunks(db, run_id)
    assert len(chunks) >= 3 + 4
    position = 0
    for chunk in chunks:
        assert chunk.size <= logs.CHUNK_BYTES and chunk.size == len(chunk.text.encode())
        assert chunk.offset == position and chunk.text.endswith("\n")
        position += chunk.size
    assert position == size
    whole = _whole(db, run_id)
    assert whole.count("\n") == 150 + 4
    assert whole.replace(STAMP, "").replace("\n", "").endswith(huge_line)
    assert "".join(logs.iter_log(db, run_id=run_id, batch=2)) == whole
    collected, offset = "", 0
    while offset < size:
        part = logs.read_log(db, run_id=run_id, offset=offset, limit=50_000)
        collected, offset = collected + part.text, part.next_offset
    assert collected == whole


def test_korean_text_stays_intact_at_any_offset_and_limit(app: FastAPI, run_id: str, db: Session) -> None:
    korean = "빌드 성공: 테스트 12개 통과 ✅ — 배포 준비 완료"
    append(app, run_id, f"{korean}\n한 줄 더\n")
    append(app, run_id, "가" * 30_000 + "\n")  # one 90 KB line: split into pieces, never inside a character
    whole = _whole(db, run_id)
    assert f"{STAMP}{korean}\n{STAMP}한 줄 더\n" in whole
    assert "\ufffd" not in whole
    assert whole.replace(STAMP, "").replace("\n", "").endswith("가" * 30_000)
    for limit in (1, 2, 5, 7, 64):
        collected, offset = "", 0
        for _ in range(200):
            part = logs.read_log(db, run_id=run_id, offset=offset, limit=limit)
            assert "\ufffd" not in part.text
            collected, offset = collected + part.text, part.next_offset
            if offset >= len(f"{STAMP}{korean}\n".encode()):
                break
        assert collected == f"{STAMP}{korean}\n"
    inside = len(STAMP.encode()) + 1  # the second byte of "빌"
    part = logs.read_log(db, run_id=run_id, offset=inside)
    assert part.text.startswith("드 성공") and "\ufffd" not in part.text
    assert part.offset == inside + 2  # moved on to the next character's first byte
    long_piece = logs.read_log(db, run_id=run_id, offset=len(whole.encode()) - 70_000, limit=1000)
    assert long_piece.text and "\ufffd" not in long_piece.text


def test_seq_is_allocated_after_the_run_row_update(app: FastAPI, run_id: str) -> None:
    with session_scope(app.state.session_factory) as session:
        for i in range(5):
            logs.append_log(session, run_id=run_id, text=f"{i}\n", now=NOW)
    with session_scope(app.state.session_factory) as session:
        rows = session.execute(
            select(RunLogChunk.seq, RunLogChunk.offset)
            .where(RunLogChunk.run_id == run_id)
            .order_by(RunLogChunk.seq)
        ).all()
        assert [s for s, _ in rows] == [1, 2, 3, 4, 5]
        assert [o for _, o in rows] == [i * len(f"{STAMP}0\n") for i in range(5)]


def test_chunks_go_with_their_run(app: FastAPI, run_id: str, db: Session) -> None:
    append(app, run_id, "x\n")
    with session_scope(app.state.session_factory) as session:
        session.delete(session.get(PipelineRun, run_id))
    assert db.scalar(select(RunLogChunk.id).where(RunLogChunk.run_id == run_id)) is None


def test_timestamp_format() -> None:
    assert logs.timestamp(NOW) == "2026-11-26T15:04:05.123Z"
    assert logs.timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"
