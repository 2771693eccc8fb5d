"""A throwaway PostgreSQL server for tests, run as the ``postgres`` user on a loopback port.

``initdb`` refuses to run as root, so the data, socket and log dirs are owned by
``postgres`` and every server command runs through ``su postgres -c``. pytest's temp
dirs (``/tmp/pytest-of-root``) are private to root; when ``postgres`` cannot reach the
given base dir, the server lives in its own ``/tmp/timbel-pg-*`` dir, removed on stop.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shlex
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import LOOPBACK, SETUP_HINT, ServerUnavailableError, free_port, kill_pid, pid_alive, wait_until_gone

POSTGRES_USER = "postgres"
POSTGRES_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
START_ATTEMPTS = 3


@dataclass
class PostgresServer:
    """A running PostgreSQL server; ``url`` is an SQLAlchemy URL for the ``postgres`` database."""

    url: str
    pid: int
    port: int
    data_dir: Path
    root: Path
    bin_dir: Path
    owns_root: bool = False
    stopped: bool = field(default=False, init=False)

    @property
    def dsn(self) -> str:
        """The libpq connection string (for psycopg)."""
        return f"host={LOOPBACK} port={self.port} user={POSTGRES_USER} dbname=postgres"

    def stop(self) -> None:
        """Stop with ``pg_ctl stop -m fast``, then by PID if it is still alive; idempotent."""
        if self.stopped:
            return
        self.stopped = True
        pg_ctl = str(self.bin_dir / "pg_ctl")
        with contextlib.suppress(subprocess.TimeoutExpired):
            _as_postgres(
                [pg_ctl, "stop", "-m", "fast", "-w", "-t", "20", "-D", str(self.data_dir)], timeout=30
            )
        if not wait_until_gone(self.pid, timeout=5.0):
            kill_pid(self.pid)
        _discard(self.root, self.owns_root)


def start_postgres(base_dir: Path) -> PostgresServer:
    """Create a cluster under ``base_dir`` and start it on a free loopback port (fsync off)."""
    bin_dir = _require_binaries()
    root, owns_root = _server_root(base_dir)
    pg = pwd.getpwnam(POSTGRES_USER)
    data_dir, sock_dir, log_dir = root / "pgdata", root / "pgsock", root / "pglog"
    for directory in (root, data_dir, sock_dir, log_dir):
        directory.mkdir(parents=True, exist_ok=True)
        os.chown(directory, pg.pw_uid, pg.pw_gid)
    data_dir.chmod(0o700)

    init = _as_postgres(
        [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", POSTGRES_USER, "-A", "trust", "--no-sync"],
        timeout=120,
    )
    if init.returncode != 0:
        _discard(root, owns_root)
        raise ServerUnavailableError(f"initdb failed ({init.returncode}):\n{init.stdout}")

    pg_ctl, log_file = str(bin_dir / "pg_ctl"), log_dir / "pg.log"
    last_output = ""
    for _ in range(START_ATTEMPTS):
        port = free_port()
        options = f"-c listen_addresses={LOOPBACK} -p {port} -k {sock_dir} -c fsync=off"
        options += " -c synchronous_commit=off -c full_page_writes=off"
        argv = [pg_ctl, "start", "-w", "-t", "60", "-D", str(data_dir), "-l", str(log_file), "-o", options]
        started = _as_postgres(argv, timeout=90)
        pid = _postmaster_pid(data_dir)
        if started.returncode == 0 and pid is not None and pid_alive(pid):
            url = f"postgresql+psycopg://{POSTGRES_USER}@{LOOPBACK}:{port}/postgres"
            return PostgresServer(url, pid, port, data_dir, root, bin_dir, owns_root)
        if pid is not None and pid_alive(pid):  # came up too late: do not leave it behind
            kill_pid(pid)
        last_output = started.stdout + _tail(log_file)  # e.g. the port was taken meanwhile: retry
    _discard(root, owns_root)
    raise ServerUnavailableError(f"PostgreSQL did not start after {START_ATTEMPTS} attempts:\n{last_output}")


def _discard(root: Path, owns_root: bool) -> None:
    if owns_root:
        shutil.rmtree(root, ignore_errors=True)


def _require_binaries() -> Path:
    missing = [name for name in ("initdb", "pg_ctl") if not (POSTGRES_BIN_DIR / name).is_file()]
    if missing or shutil.which("su") is None:
        raise ServerUnavailableError(
            f"PostgreSQL server binaries not found in {POSTGRES_BIN_DIR} ({', '.join(missing) or 'su'}): "
            + SETUP_HINT
        )
    try:
        pwd.getpwnam(POSTGRES_USER)
    except KeyError as exc:
        raise ServerUnavailableError(f"no '{POSTGRES_USER}' system user: {SETUP_HINT}") from exc
    return POSTGRES_BIN_DIR


def _as_postgres(argv: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a command as the postgres user (``su postgres -c``), capturing output."""
    return subprocess.run(
        ["su", POSTGRES_USER, "-c", shlex.join(argv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
        cwd="/",
    )


def _server_root(base_dir: Path) -> tuple[Path, bool]:
    """A fresh dir for one server, under ``base_dir`` when ``postgres`` can reach it."""
    base_dir = base_dir.resolve()
    base_dir.mkdir(parents=True, exist_ok=True)
    if _reachable_by_postgres(base_dir):
        return Path(tempfile.mkdtemp(prefix="postgres-", dir=base_dir)), False
    return Path(tempfile.mkdtemp(prefix="timbel-pg-")), True


def _reachable_by_postgres(path: Path) -> bool:
    """True when the postgres user may traverse every directory down to ``path``."""
    pg = pwd.getpwnam(POSTGRES_USER)
    groups = {pg.pw_gid} | {g.gr_gid for g in grp.getgrall() if POSTGRES_USER in g.gr_mem}
    for directory in [path, *path.parents]:
        st = directory.stat()
        if st.st_uid == pg.pw_uid:
            allowed = bool(st.st_mode & stat.S_IXUSR)
        elif st.st_gid in groups:
            allowed = bool(st.st_mode & stat.S_IXGRP)
        else:
            allowed = bool(st.st_mode & stat.S_IXOTH)
        if not allowed:
            return False
    return True


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        first_line = (data_dir / "postmaster.pid").read_text().splitlines()[0]
    except (FileNotFoundError, IndexError):
        return None
    return int(first_line.strip())


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""
