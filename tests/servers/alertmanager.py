"""A throwaway Alertmanager for tests: loopback port, no cluster listener, temp storage, stopped by PID."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import LOOPBACK, ChildDaemon, ServerUnavailableError, free_port, kill_pid
from .prometheus import _wait_ready

ALERTMANAGER = "prometheus-alertmanager"
ALERTMANAGER_SETUP_HINT = (
    "run `make test` (it installs Debian packages: apt-get install -y prometheus-alertmanager)"
)
START_ATTEMPTS = 3
READY_TIMEOUT = 15.0
# One receiver that sends nothing: tests look at Alertmanager's own API, not at notifications.
CONFIG = {
    "route": {"receiver": "void", "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
    "receivers": [{"name": "void"}],
}


@dataclass
class AlertmanagerServer(ChildDaemon):
    """A running Alertmanager; ``url`` is its base URL."""

    url: str
    pid: int
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    stopped: bool = field(default=False, init=False)

    def log_file(self) -> Path:
        """Where the server's output goes."""
        return self.data_dir / "alertmanager.log"


def start_alertmanager(base_dir: Path) -> AlertmanagerServer:
    """Start Alertmanager on a free 127.0.0.1 port (cluster listener off); wait for ``/-/ready``."""
    binary = shutil.which(ALERTMANAGER)
    if binary is None:
        raise ServerUnavailableError(f"`{ALERTMANAGER}` not found on PATH: {ALERTMANAGER_SETUP_HINT}")
    base_dir.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="alertmanager-", dir=base_dir))
    config_path = data_dir / "alertmanager.yml"
    config_path.write_text(json.dumps(CONFIG, indent=2))
    log_path = data_dir / "alertmanager.log"
    for _ in range(START_ATTEMPTS):
        port = free_port()
        argv = [
            binary,
            f"--config.file={config_path}",
            f"--storage.path={data_dir / 'data'}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        with log_path.open("ab") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        url = f"http://{LOOPBACK}:{port}"
        if _wait_ready(url, process, READY_TIMEOUT):
            return AlertmanagerServer(url, process.pid, port, data_dir, process)
        if process.poll() is None:
            kill_pid(process.pid)
        process.wait(timeout=5)
    tail = log_path.read_text(errors="replace")[-3000:]
    raise ServerUnavailableError(
        f"alertmanager did not become ready after {START_ATTEMPTS} attempts:\n{tail}"
    )
