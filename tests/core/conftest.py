"""Fixtures for core tests: a migrated SQLite database, job settings and a real Redis server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.servers.redis import RedisServer, start_redis
from timbel.core import migrate
from timbel.core.db import create_db_engine, create_session_factory


@pytest.fixture
def session_factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A session factory on a freshly migrated SQLite database in the test's temp dir."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'timbel.db'}")
    migrate.upgrade(engine)
    try:
        yield create_session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the module, stopped by PID afterwards."""
    server = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()
