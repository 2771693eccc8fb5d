"""A throwaway ``git daemon`` for tests: serves bare repos under a temp root over git:// on loopback.

Pushes are enabled by default (``--enable=receive-pack``); ``receive_pack=False`` starts a read-only daemon.
The daemon is started on a free loopback port and stopped by PID.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import LOOPBACK, ServerUnavailableError, free_port, kill_pid, port_open

GIT_SETUP_HINT = "run `make test` (it installs Debian packages: apt-get install -y git)"
READY_TIMEOUT = 10.0
START_ATTEMPTS = 3


@dataclass
class GitDaemonServer:
    """A running git daemon; ``url_for(name)`` is the git:// URL of ``<root>/<name>.git``."""

    base_url: str
    pid: int
    port: int
    root: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    stopped: bool = field(default=False, init=False)

    def url_for(self, name: str) -> str:
        """git:// URL of the served bare repository ``<name>.git``."""
        return f"{self.base_url}/{name}.git"

    def stop(self) -> None:
        """Stop the daemon by PID and reap it; idempotent."""
        if self.stopped:
            return
        self.stopped = True
        kill_pid(self.pid)
        self.process.wait(timeout=5)


def start_git_daemon(base_dir: Path, *, receive_pack: bool = True, host: str = LOOPBACK) -> GitDaemonServer:
    """Start ``git daemon`` on a free loopback port serving bare repos under a new dir in ``base_dir``."""
    if not host.startswith("127."):
        raise ValueError(f"the test git daemon listens on loopback only, not {host}")
    if shutil.which("git") is None:
        raise ServerUnavailableError(f"`git` not found: {GIT_SETUP_HINT}")
    base_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="git-daemon-", dir=base_dir))
    last_error = "no attempt"
    for _ in range(START_ATTEMPTS):  # the free port can be taken between the probe and the bind
        port = free_port()
        argv = [
            "git", "daemon", f"--listen={host}", f"--port={port}", f"--base-path={root}", "--export-all",
            "--reuseaddr", "--informative-errors", f"--pid-file={root / 'daemon.pid'}",
        ]  # fmt: skip
        argv.append("--enable=receive-pack" if receive_pack else "--disable=receive-pack")
        argv.append(str(root))
        log = (root / "daemon.log").open("ab")
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None and not port_open(port, host):
            time.sleep(0.02)
        if process.poll() is None and port_open(port, host):
            return GitDaemonServer(f"git://{host}:{port}", process.pid, port, root, process)
        if process.poll() is None:
            kill_pid(process.pid)
        process.wait(timeout=5)
        last_error = (root / "daemon.log").read_text(errors="replace")[-500:]
    raise ServerUnavailableError(f"git daemon did not start: {last_error}")
