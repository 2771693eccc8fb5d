"""Timbel as it ships, for the API baseline benchmark.

``python bench/app_timbel.py setup --data-dir DIR --username U --password P`` migrates a fresh
embedded (SQLite) data directory and creates one ``operations`` user.
``uvicorn --factory bench.app_timbel:create`` then serves Timbel from the directory named by
``TIMBEL_DATA_DIR`` (settings come from the environment exactly as in production, e.g.
``TIMBEL_LOG__ACCESS=false``); the in-process job consumer is not started.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fastapi import FastAPI

from timbel.app import create_app
from timbel.core.settings import Settings, load_settings, prepare_settings


def create() -> FastAPI:
    """uvicorn ``--factory`` entry point: Timbel configured from the ``TIMBEL_*`` environment."""
    return create_app(load_settings(), run_jobs=False)


def setup(data_dir: Path, *, username: str, password: str) -> None:
    """Migrate an empty data directory and create the benchmark user."""
    from timbel.audit.service import AuditContext
    from timbel.auth import service as user_service
    from timbel.auth.schemas import UserCreate
    from timbel.core.db import session_scope
    from timbel.core.migrate import upgrade

    settings = prepare_settings(Settings(env="development", data_dir=data_dir))
    app = create_app(settings, run_jobs=False)
    try:
        upgrade(app.state.engine)
        with session_scope(app.state.session_factory) as session:
            user_service.create(
                session,
                data=UserCreate(
                    username=username,
                    password=password,
                    roles=["operations"],
                    must_change_password=False,
                ),
                min_password_length=settings.auth.password_min_length,
                ctx=AuditContext(),
            )
    finally:
        app.state.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Command line for the setup step (run in its own process by the benchmark)."""
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("setup", help="migrate a data directory and create the benchmark user")
    cmd.add_argument("--data-dir", type=Path, required=True)
    cmd.add_argument("--username", required=True)
    cmd.add_argument("--password", required=True)
    args = parser.parse_args(argv)
    setup(args.data_dir, username=args.username, password=args.password)
    return 0


if __name__ == "__main__":
    sys.exit(main())
