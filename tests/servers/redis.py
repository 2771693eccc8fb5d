"""A throwaway Redis server for tests on a loopback port, without persistence."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import LOOPBACK, SETUP_HINT, ServerUnavailableError, free_port, kill_pid

REDIS_SERVER = "redis-server"
START_ATTEMPTS = 3
READY_TIMEOUT = 10.0


@dataclass
class RedisServer:
    """A running redis-server; ``url`` is a ``redis://`` URL to database 0."""

    url: str
    pid: int
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    stopped: bool = field(default=False, init=False)

    def ping(self) -> bool:
        """True when the server answers PING."""
        return _ping(self.port)

    def stop(self) -> None:
        """Stop the server by PID (SIGTERM, then SIGKILL) and reap it; idempotent."""
        if self.stopped:
            return
        self.stopped = True
        kill_pid(self.pid)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - kill_pid already escalated
            self.process.kill()
            self.process.wait(timeout=5)


def start_redis(base_dir: Path) -> RedisServer:
    """Start redis-server on a free 127.0.0.1 port with its files under ``base_dir``; wait for PING."""
    binary = shutil.which(REDIS_SERVER)
    if binary is None:
        raise ServerUnavailableError(f"`{REDIS_SERVER}` not found on PATH: {SETUP_HINT}")
    base_dir.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="redis-", dir=base_dir))
    log_path = data_dir / "redis.log"
    last_log = ""
    for _ in range(START_ATTEMPTS):
        port = free_port()
        argv = [binary, "--bind", LOOPBACK, "--port", str(port), "--dir", str(data_dir)]
        argv += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        with log_path.open("ab") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            if _ping(port):
                return RedisServer(f"redis://{LOOPBACK}:{port}/0", process.pid, port, data_dir, process)
            time.sleep(0.01)
        if process.poll() is None:
            kill_pid(process.pid)
        process.wait(timeout=5)
        last_log = log_path.read_text(errors="replace")[-3000:]  # e.g. the port was taken meanwhile
    raise ServerUnavailableError(
        f"redis-server did not answer PING after {START_ATTEMPTS} attempts:\n{last_log}"
    )


def _ping(port: int) -> bool:
    """Send an inline PING over a raw socket (no client library needed) and expect +PONG."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False
