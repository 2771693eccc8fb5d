"""Alembic environment: URL comes from Timbel's settings (or the caller's Config)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import timbel.models  # noqa: F401  (registers every table on the metadata)
from timbel.catalog.search_models import include_name
from timbel.core.db import Base, create_db_engine

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on a connection given by the caller or made from the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from timbel.core.settings import load_settings

        url = load_settings().effective_database_url
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `timbel db upgrade`")
run_migrations_online()
