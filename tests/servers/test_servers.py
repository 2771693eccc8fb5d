"""The real-server helpers start, serve and stop PostgreSQL and Redis."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from . import ServerUnavailableError, pid_alive, port_open
from . import postgres as postgres_servers
from . import redis as redis_servers


class TestPostgres:
    def test_starts_serves_and_stops(self, tmp_path: Path) -> None:
        server = postgres_servers.start_postgres(tmp_path)
        try:
            assert server.url == f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/postgres"
            assert pid_alive(server.pid)
            with psycopg.connect(server.dsn, connect_timeout=5) as conn:
                row = conn.execute("select version()").fetchone()
                assert row is not None
                assert str(row[0]).startswith("PostgreSQL 15")
                listen = conn.execute("show listen_addresses").fetchone()
                assert listen == ("127.0.0.1",)
        finally:
            server.stop()
        assert not pid_alive(server.pid)
        assert not port_open(server.port)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.dsn, connect_timeout=2)
        server.stop()  # idempotent

    def test_missing_binaries_name_the_setup_command(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(postgres_servers, "POSTGRES_BIN_DIR", tmp_path / "nowhere")
        with pytest.raises(ServerUnavailableError, match=r"make test.*apt-get install -y postgresql"):
            postgres_servers.start_postgres(tmp_path)


class TestRedis:
    def test_starts_serves_and_stops(self, tmp_path: Path) -> None:
        server = redis_servers.start_redis(tmp_path)
        try:
            assert server.url == f"redis://127.0.0.1:{server.port}/0"
            assert server.ping()
        finally:
            server.stop()
        assert not pid_alive(server.pid)
        assert not server.ping()
        assert not port_open(server.port)

    def test_missing_binary_names_the_setup_command(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(redis_servers, "REDIS_SERVER", "redis-server-not-installed")
        with pytest.raises(ServerUnavailableError, match=r"make test.*redis-server"):
            redis_servers.start_redis(tmp_path)
