"""A throwaway Prometheus for tests: loopback port, temp TSDB, JSON config (valid YAML), stopped by PID."""

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

PROMETHEUS = "prometheus"
PROMETHEUS_SETUP_HINT = "run `make test` (it installs Debian packages: apt-get install -y prometheus)"
START_ATTEMPTS = 3
READY_TIMEOUT = 15.0


@dataclass
class PrometheusServer(ChildDaemon):
    """A running Prometheus; ``url`` is its base URL, ``config_path`` the file it reads."""

    url: str
    pid: int
    port: int
    data_dir: Path
    config_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    stopped: bool = field(default=False, init=False)

    def log_file(self) -> Path:
        """Where the server's output goes."""
        return self.data_dir / "prometheus.log"


def start_prometheus(
    base_dir: Path, *, scrape_configs: list[dict[str, Any]] | None = None, scrape_interval: str = "1s"
) -> PrometheusServer:
    """Start Prometheus on a free 127.0.0.1 port with ``scrape_configs``; wait for ``/-/ready``."""
    binary = shutil.which(PROMETHEUS)
    if binary is None:
        raise ServerUnavailableError(f"`{PROMETHEUS}` not found on PATH: {PROMETHEUS_SETUP_HINT}")
    base_dir.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="prometheus-", dir=base_dir))
    config_path = data_dir / "prometheus.yml"
    config = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "scrape_configs": scrape_configs or [],
    }
    config_path.write_text(json.dumps(config, indent=2))
    log_path = data_dir / "prometheus.log"
    for _ in range(START_ATTEMPTS):
        port = free_port()
        argv = [
            binary,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={data_dir / 'tsdb'}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--web.enable-lifecycle",
            "--log.level=warn",
        ]
        with log_path.open("ab") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        url = f"http://{LOOPBACK}:{port}"
        if _wait_ready(url, process, READY_TIMEOUT):
            return PrometheusServer(url, process.pid, port, data_dir, config_path, process)
        if process.poll() is None:
            kill_pid(process.pid)
        process.wait(timeout=5)
    tail = log_path.read_text(errors="replace")[-3000:]
    raise ServerUnavailableError(f"prometheus did not become ready after {START_ATTEMPTS} attempts:\n{tail}")


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Poll ``/-/ready`` until 200, the process exits, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/-/ready", timeout=0.5).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    return False
