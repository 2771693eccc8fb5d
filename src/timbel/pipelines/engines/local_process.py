"""Run one process for the local runner: its own process group, output streamed line by line, limits.

Why a loop of our own instead of ``subprocess.run``: a stage must report output while it runs (batched,
so a chatty build does not cost one database write per line), stop when a user cancels, say it is alive,
and die as a whole group (``sh -c "sleep 60 & sleep 60"`` leaves no orphan) on timeout or cancel:
SIGTERM to the group, a grace period, then SIGKILL. Leftover background processes of a stage that
exited are killed too, otherwise they would hold the output pipe open and hang the run.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import queue
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from timbel.pipelines.engine_base import RunEvents

MAX_LINE = 16 * 1024  # longer lines are split (a minified bundle printed to stdout)
_READ = 65536
_EOF_WAIT = 2.0  # seconds to wait for the pipe to close after the group is gone


@dataclass(frozen=True)
class Limits:
    """Resource limits applied in the child before it runs (None: no limit)."""

    memory_bytes: int | None = None
    cpu_seconds: int | None = None


@dataclass(frozen=True)
class Pacing:
    """Intervals of the supervising loop (tests shorten them; ``clock`` is monotonic seconds)."""

    grace_seconds: float = 5.0
    heartbeat_seconds: float = 5.0
    cancel_poll_seconds: float = 0.5
    flush_seconds: float = 0.2
    flush_lines: int = 200
    clock: Callable[[], float] = field(default=time.monotonic)


@dataclass(frozen=True)
class ProcessResult:
    """How the process ended: its exit code (negative: killed by that signal), or stopped by us."""

    exit_code: int | None
    timed_out: bool = False
    cancelled: bool = False


def run_streaming(
    argv: Sequence[str],
    *,
    cwd: Path | None,
    env: dict[str, str],
    events: RunEvents,
    stage_index: int | None,
    deadline: float,
    pacing: Pacing,
    limits: Limits | None = None,
    scrub: Sequence[str] = (),
    capture: list[str] | None = None,
) -> ProcessResult:
    """Run ``argv`` until it exits, ``deadline`` (pacing clock) passes or a cancel is requested.

    Output lines (stdout and stderr merged) go to ``events.log`` — or into ``capture`` when given.
    """
    process = subprocess.Popen(  # noqa: S603 - argv is a fixed list built by the runner, no shell
        list(argv),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_apply_limits(limits) if limits is not None else None,
    )
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
    reader.start()
    sink = _Sink(events, stage_index, pacing, scrub, capture)
    try:
        return _supervise(process, lines, sink, deadline=deadline, events=events, pacing=pacing)
    finally:
        _kill_group(process.pid, signal.SIGKILL)
        _wait_group_gone(process.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        reader.join(timeout=_EOF_WAIT)
        process.stdout.close()
        sink.flush()


def _supervise(
    process: subprocess.Popen[bytes],
    lines: queue.Queue[str | None],
    sink: _Sink,
    *,
    deadline: float,
    events: RunEvents,
    pacing: Pacing,
) -> ProcessResult:
    clock = pacing.clock
    last_cancel_poll = last_heartbeat = clock()
    stopping_since: float | None = None
    timed_out = cancelled = eof = False
    exited_at: float | None = None
    while True:
        if eof:
            time.sleep(0.05)
        else:
            eof = _take(lines, sink)
        sink.maybe_flush()
        now = clock()
        if exited_at is None and _leader_exited(process.pid):
            _kill_group(process.pid, signal.SIGKILL)  # leftovers; the leader is a zombie, its pid is ours
            exited_at = now
        if exited_at is not None:
            if eof or now - exited_at > _EOF_WAIT:
                break  # past _EOF_WAIT something escaped the group and holds the pipe: stop reading
            continue
        if stopping_since is None:
            if now >= deadline:
                timed_out = True
            elif now - last_cancel_poll >= pacing.cancel_poll_seconds:
                last_cancel_poll = now
                cancelled = events.cancel_requested()
            if timed_out or cancelled:
                stopping_since = now
                _kill_group(process.pid, signal.SIGTERM)
        elif now - stopping_since >= pacing.grace_seconds:
            _kill_group(process.pid, signal.SIGKILL)
        if now - last_heartbeat >= pacing.heartbeat_seconds:
            last_heartbeat = now
            events.heartbeat()
    code = process.wait(timeout=10)
    return ProcessResult(exit_code=code, timed_out=timed_out, cancelled=cancelled)


def _take(lines: queue.Queue[str | None], sink: _Sink) -> bool:
    """Move the lines that arrived (waiting briefly for the first) into the sink; True at end of output."""
    try:
        line = lines.get(timeout=0.05)
    except queue.Empty:
        return False
    while line is not None:
        sink.add(line)
        try:
            line = lines.get_nowait()
        except queue.Empty:
            return False
    return True


def _leader_exited(pid: int) -> bool:
    """True once the child exited, without reaping it (so its pid, our group id, cannot be reused yet)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _wait_group_gone(pgid: int, timeout: float = 2.0) -> None:
    """Wait until no live member of the group is left (SIGKILL takes effect asynchronously)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and _group_alive(pgid):
        time.sleep(0.01)


def _group_alive(pgid: int) -> bool:
    """True while a non-zombie process of the group exists (zombies wait for a reaper, they run nothing)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _apply_limits(limits: Limits) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if limits.memory_bytes is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        if limits.cpu_seconds is not None:
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))

    return apply


def _read_lines(stream: object, out: queue.Queue[str | None]) -> None:
    """Split the byte stream into lines, decoding UTF-8 incrementally (a split character stays whole)."""
    fd = stream.fileno()  # type: ignore[attr-defined]
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    pending = ""
    try:
        while chunk := os.read(fd, _READ):
            pending += decoder.decode(chunk)
            *complete, pending = pending.split("\n")
            for line in complete:
                _put(out, line)
            while len(pending) > MAX_LINE:
                _put(out, pending[:MAX_LINE])
                pending = pending[MAX_LINE:]
    except OSError:
        pass  # the pipe was closed under us after the run gave up waiting
    pending += decoder.decode(b"", final=True)
    if pending:
        _put(out, pending)
    out.put(None)


def _put(out: queue.Queue[str | None], line: str) -> None:
    line = line.removesuffix("\r")
    while len(line) > MAX_LINE:
        out.put(line[:MAX_LINE])
        line = line[MAX_LINE:]
    out.put(line)


class _Sink:
    """Batch lines into ``events.log`` calls: every ``flush_seconds`` or ``flush_lines`` lines."""

    def __init__(
        self,
        events: RunEvents,
        stage_index: int | None,
        pacing: Pacing,
        scrub: Sequence[str],
        capture: list[str] | None,
    ) -> None:
        self.events, self.stage_index, self.pacing = events, stage_index, pacing
        self.scrub = [value for value in scrub if value]
        self.capture = capture
        self.batch: list[str] = []
        self.last_flush = pacing.clock()

    def add(self, line: str) -> None:
        for value in self.scrub:
            line = line.replace(value, "***")
        if self.capture is not None:
            self.capture.append(line)
            return
        self.batch.append(line)
        if len(self.batch) >= self.pacing.flush_lines:
            self.flush()

    def maybe_flush(self) -> None:
        if self.batch and self.pacing.clock() - self.last_flush >= self.pacing.flush_seconds:
            self.flush()

    def flush(self) -> None:
        self.last_flush = self.pacing.clock()
        if self.batch:
            text, self.batch = "\n".join(self.batch), []
            self.events.log(text, stage_index=self.stage_index)


def kill_run_processes(run_id: str) -> int:
    """SIGKILL the process groups of stage processes left by ``run_id`` on this host (a worker that died
    mid-stage); found by the ``TIMBEL_RUN_ID`` every stage gets, so a reused pid is never hit."""
    needle = f"TIMBEL_RUN_ID={run_id}".encode()
    groups: set[int] = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            environ = Path(entry.path, "environ").read_bytes()
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if needle in environ.split(b"\0") and fields[0] not in ("Z", "X") and int(fields[2]) != os.getpgrp():
            groups.add(int(fields[2]))
    for pgid in groups:
        _kill_group(pgid, signal.SIGKILL)
    return len(groups)
