"""The real commands as separate processes: `timbel serve` on first start and `timbel worker` on Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.servers import free_port
from tests.servers.redis import RedisServer
from timbel.audit.models import AuditEntry
from timbel.core import migrate
from timbel.core.db import create_db_engine, create_session_factory, session_scope, utcnow
from timbel.core.jobs import JobRuntime
from timbel.core.settings import Environment, Settings, prepare_settings

TIMBEL = str(Path(sys.executable).with_name("timbel"))


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMBEL_")}
    env.update({"TIMBEL_DATA_DIR": str(data_dir), **extra})
    return env


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    process = subprocess.Popen(
        [TIMBEL, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(tmp_path / "var"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process, port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(port: int, process: subprocess.Popen[str], timeout: float = 30.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"timbel serve exited with {process.returncode}"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("timbel serve did not answer in time")


def test_first_start_migrates_prints_a_one_time_admin_password_and_serves(
    serve: tuple[subprocess.Popen[str], int], tmp_path: Path
) -> None:
    process, port = serve
    ready = _wait_ready(port, process)
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "queue": "ok"}}
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=15)
    password = next(line.split(":", 1)[1].strip() for line in output.splitlines() if "password:" in line)
    assert len(password) >= 20
    assert (tmp_path / "var" / "timbel.db").exists()
    assert (tmp_path / "var" / "secret.key").exists()
    assert password not in (tmp_path / "var" / "timbel.db").read_bytes().decode("latin-1")


def test_the_first_admin_signs_in_and_must_change_the_password(
    serve: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = serve
    _wait_ready(port, process)
    assert process.stdout is not None
    password = ""
    while not password:
        line = process.stdout.readline()
        if "password:" in line:
            password = line.split(":", 1)[1].strip()
    base = f"http://127.0.0.1:{port}"
    pair = httpx.post(f"{base}/api/v1/auth/login", json={"username": "admin", "password": password}).json()
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert httpx.get(f"{base}/api/v1/users/me", headers=headers).json()["must_change_password"] is True
    assert httpx.get(f"{base}/api/v1/users", headers=headers).status_code == 403
    assert httpx.get(f"{base}/login").status_code == 200


def test_worker_process_runs_jobs_from_redis(tmp_path: Path, redis_server: RedisServer) -> None:
    data_dir = tmp_path / "var"
    database_url = f"sqlite:///{tmp_path / 'timbel.db'}"
    engine = create_db_engine(database_url)
    migrate.upgrade(engine)
    factory = create_session_factory(engine)
    with session_scope(factory) as session:
        session.add(AuditEntry(action="old.entry", created_at=utcnow().replace(year=2000)))
        session.add(AuditEntry(action="new.entry"))
    settings = prepare_settings(
        Settings(
            env=Environment.test, data_dir=data_dir, database_url=database_url, redis_url=redis_server.url
        )
    )
    worker = subprocess.Popen(
        [TIMBEL, "worker", "--workers", "1", "--no-scheduler"],
        env=_env(data_dir, TIMBEL_DATABASE_URL=database_url, TIMBEL_REDIS_URL=redis_server.url),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        producer = JobRuntime(settings, factory)
        task_id = producer.enqueue("audit.prune")
        result = producer.result(task_id, blocking=True, timeout=30)
        assert result is not None and result["deleted"] == 1
        with session_scope(factory) as session:
            assert session.scalars(select(AuditEntry.action)).all() == ["new.entry"]
        producer.close()
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        engine.dispose()
    assert worker.returncode in (0, -signal.SIGTERM)


def test_worker_refuses_to_start_without_redis(tmp_path: Path) -> None:
    result = subprocess.run(
        [TIMBEL, "worker"],
        env=_env(tmp_path / "var"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "TIMBEL_REDIS_URL" in result.stderr
