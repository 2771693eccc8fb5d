"""Real servers for tests: started on free loopback ports in temp dirs, stopped by PID.

See ``/work/shared/reference/test-servers.md`` for how each one starts on these machines.
A missing binary is an error naming the setup command, never a skip.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

SETUP_HINT = "run `make test` (it installs Debian packages: apt-get install -y postgresql redis-server)"
LOOPBACK = "127.0.0.1"


class ServerUnavailableError(RuntimeError):
    """A server binary is missing or the server did not come up."""


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now (bind-tested, loopback only)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = LOOPBACK, timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """True when the process exists and is not a zombie (daemons may be reparented to a non-reaping PID 1)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


def kill_pid(pid: int, *, timeout: float = 5.0) -> None:
    """Terminate a process by PID: SIGTERM, then SIGKILL if it is still alive after ``timeout``."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, timeout)):
        if not pid_alive(pid):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
    if pid_alive(pid):
        raise ServerUnavailableError(f"process {pid} survived SIGKILL")


def wait_until_gone(pid: int, timeout: float = 10.0) -> bool:
    """Wait for a process to exit; True when it did."""
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


class ChildDaemon:
    """``log()`` and ``stop()`` for a server started as our child process (``pid``, ``process``, ``stopped``)
    that writes its output to ``log_file()``."""

    pid: int
    process: subprocess.Popen[bytes]
    stopped: bool

    def log_file(self) -> Path:
        """Where the server's combined output goes."""
        raise NotImplementedError

    def log(self) -> str:
        """The server's combined output so far (for failure messages)."""
        return self.log_file().read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """Stop the server by PID (SIGTERM, then SIGKILL) and reap it; idempotent."""
        if self.stopped:
            return
        self.stopped = True
        kill_pid(self.pid)
        self.process.wait(timeout=5)
