"""Migrations: upgrade from empty works on this run's database (SQLite or PostgreSQL), matching the models."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

import timbel.models  # noqa: F401
from timbel.catalog.search_models import include_name
from timbel.core import migrate
from timbel.core.db import Base, create_db_engine


@pytest.fixture
def empty_engine(tmp_path: object, database_url: str) -> Iterator[Engine]:
    """A brand-new empty database of the same kind as the session's."""
    if database_url.startswith("sqlite"):
        engine = create_db_engine(f"sqlite:///{tmp_path}/fresh.db")  # type: ignore[str-bytes-safe]
        yield engine
        engine.dispose()
        return
    name = f"fresh_{uuid.uuid4().hex[:8]}"
    admin = create_db_engine(database_url, echo=False).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_db_engine(database_url.rsplit("/", 1)[0] + "/" + name)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}"'))
        admin.dispose()


def test_runs_on_the_requested_database(empty_engine: Engine) -> None:
    expected = "postgresql" if os.environ.get("TIMBEL_TEST_DATABASE") == "postgresql" else "sqlite"
    assert empty_engine.dialect.name == expected


def test_upgrade_from_empty_reaches_head(empty_engine: Engine) -> None:
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    tables = set(inspect(empty_engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables


def test_upgrade_is_idempotent(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()


def test_models_and_migrations_agree(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_migrations_are_forward_only() -> None:
    from pathlib import Path

    for script in (Path(migrate.MIGRATIONS_DIR) / "versions").glob("*.py"):
        assert 'raise NotImplementedError("migrations are forward-only")' in script.read_text(), script.name


def test_existing_domains_survive_the_catalog_upgrade(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0001")
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO domains (id, code, name, created_at) "
                "VALUES ('d1', 'kb', '국민은행', '2026-01-01')"
            )
        )
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        row = connection.execute(text("SELECT code, name, priority, industry, contacts FROM domains")).one()
    assert (row.code, row.name, row.priority, row.industry) == ("kb", "국민은행", "medium", "")
    assert row.contacts in ([], "[]")
