"""A throwaway Prometheus blackbox exporter for tests: loopback port, config in a temp dir, stopped by PID.

The config (JSON, which is valid YAML) has an ``http_2xx`` module (IPv4, short timeout) and ``tcp_connect``;
never Debian's ``/etc/prometheus/blackbox.yml``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from . import LOOPBACK, ChildDaemon, ServerUnavailableError, free_port, kill_pid

BLACKBOX = "prometheus-blackbox-exporter"
BLACKBOX_SETUP_HINT = (
    "run `make test` (it installs Debian packages: apt-get install -y prometheus-blackbox-exporter)"
)
START_ATTEMPTS = 3
READY_TIMEOUT = 15.0
DEFAULT_MODULES: dict[str, Any] = {
    "http_2xx": {"prober": "http", "timeout": "3s", "http": {"preferred_ip_protocol": "ip4"}},
    "tcp_connect": {"prober": "tcp", "timeout": "3s", "tcp": {"preferred_ip_protocol": "ip4"}},
}


@dataclass
class BlackboxServer(ChildDaemon):
    """A running exporter; ``url`` is its base URL, ``address`` its ``host:port``."""

    url: str
    address: str
    pid: int
    root: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    stopped: bool = field(default=False, init=False)

    def log_file(self) -> Path:
        """Where the exporter's output goes."""
        return self.root / "blackbox.log"


def start_blackbox(base_dir: Path, *, modules: dict[str, Any] | None = None) -> BlackboxServer:
    """Start the exporter on a free 127.0.0.1 port with ``modules``; wait until it answers."""
    binary = shutil.which(BLACKBOX)
    if binary is None:
        raise ServerUnavailableError(f"`{BLACKBOX}` not found on PATH: {BLACKBOX_SETUP_HINT}")
    base_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="blackbox-", dir=base_dir))
    config_path = root / "blackbox.yml"
    config_path.write_text(json.dumps({"modules": modules or DEFAULT_MODULES}, indent=2))
    log_path = root / "blackbox.log"
    for _ in range(START_ATTEMPTS):
        port = free_port()
        argv = [binary, f"--config.file={config_path}", f"--web.listen-address={LOOPBACK}:{port}"]
        with log_path.open("ab") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        url = f"http://{LOOPBACK}:{port}"
        if _wait_ready(url, process, READY_TIMEOUT):
            return BlackboxServer(url, f"{LOOPBACK}:{port}", process.pid, root, process)
        if process.poll() is None:
            kill_pid(process.pid)
        process.wait(timeout=5)
    tail = log_path.read_text(errors="replace")[-3000:]
    raise ServerUnavailableError(f"blackbox exporter did not start after {START_ATTEMPTS} attempts:\n{tail}")


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Poll ``/-/healthy`` until 200, the process exits, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/-/healthy", timeout=0.5).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    return False
