"""The Prometheus and Alertmanager test servers listen on loopback only and name their setup when missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.servers import ServerUnavailableError, pid_alive, port_open
from tests.servers import alertmanager as alertmanager_servers
from tests.servers import prometheus as prometheus_servers

LOOPBACK_HEX = "0100007F"
LISTEN = "0A"


def listening_addresses(pid: int) -> set[str]:
    """``ip:port`` (hex, as in /proc/net/tcp*) of every TCP socket ``pid`` listens on."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == LISTEN and fields[9] in inodes:
                found.add(fields[1])
    return found


class TestPrometheusServer:
    def test_listens_on_loopback_only_and_stops(self, tmp_path: Path) -> None:
        server = prometheus_servers.start_prometheus(tmp_path)
        try:
            assert listening_addresses(server.pid) == {f"{LOOPBACK_HEX}:{server.port:04X}"}
        finally:
            server.stop()
        assert not pid_alive(server.pid)
        assert not port_open(server.port)
        server.stop()  # idempotent

    def test_missing_binary_names_the_setup_command(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(prometheus_servers, "PROMETHEUS", "prometheus-not-installed")
        with pytest.raises(ServerUnavailableError, match=r"make test.*apt-get install -y prometheus"):
            prometheus_servers.start_prometheus(tmp_path)


class TestAlertmanagerServer:
    def test_listens_on_loopback_only_without_a_cluster_port(self, tmp_path: Path) -> None:
        server = alertmanager_servers.start_alertmanager(tmp_path)
        try:
            assert listening_addresses(server.pid) == {f"{LOOPBACK_HEX}:{server.port:04X}"}
        finally:
            server.stop()
        assert not pid_alive(server.pid)
        assert not port_open(server.port)

    def test_missing_binary_names_the_setup_command(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(alertmanager_servers, "ALERTMANAGER", "alertmanager-not-installed")
        with pytest.raises(ServerUnavailableError, match=r"make test.*prometheus-alertmanager"):
            alertmanager_servers.start_alertmanager(tmp_path)
