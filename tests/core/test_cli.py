"""The command line: db upgrade, users create from stdin, first-admin bootstrap."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from timbel.auth.models import User
from timbel.cli import app
from timbel.core import migrate
from timbel.core.bootstrap import ensure_first_admin
from timbel.core.db import create_db_engine, create_session_factory, session_scope
from timbel.core.security import verify_password
from timbel.core.settings import Settings, prepare_settings

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TIMBEL_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("TIMBEL_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "var"


def test_db_upgrade_then_users_create(cli_env: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"database at revision {migrate.head_revision()}" in result.output
    created = runner.invoke(
        app,
        ["users", "create", "kim", "--role", "admin", "--email", "kim@example.com", "--password-stdin"],
        input="Granite-Orbit-58\n",
    )
    assert created.exit_code == 0, created.output
    assert "created user kim (admin)" in created.output
    engine = create_db_engine(f"sqlite:///{cli_env / 'timbel.db'}")
    with session_scope(create_session_factory(engine)) as session:
        user = session.scalar(select(User).where(User.username == "kim"))
        assert user is not None and verify_password(user.password_hash, "Granite-Orbit-58")
        assert user.must_change_password is False
    engine.dispose()


def test_users_create_refuses_weak_passwords_and_unknown_roles(cli_env: Path) -> None:
    runner.invoke(app, ["db", "upgrade"])
    weak = runner.invoke(
        app, ["users", "create", "kim", "--role", "admin", "--password-stdin"], input="kim12345\n"
    )
    assert weak.exit_code == 2
    assert "password" in weak.output.lower()
    role = runner.invoke(
        app, ["users", "create", "kim", "--role", "king", "--password-stdin"], input="Granite-Orbit-58\n"
    )
    assert role.exit_code == 2
    assert "roles" in role.output


def test_users_create_needs_password_stdin(cli_env: Path) -> None:
    result = runner.invoke(app, ["users", "create", "kim", "--role", "admin"])
    assert result.exit_code == 2
    assert "--password-stdin" in result.output


def test_first_admin_is_created_once_with_a_one_time_password(tmp_path: Path) -> None:
    settings = prepare_settings(Settings(data_dir=tmp_path / "var"))
    engine = create_db_engine(settings.effective_database_url)
    migrate.upgrade(engine)
    factory = create_session_factory(engine)
    password = ensure_first_admin(factory, settings=settings)
    assert password is not None and len(password) >= 20
    assert ensure_first_admin(factory, settings=settings) is None
    with session_scope(factory) as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        assert admin is not None
        assert admin.must_change_password is True
        assert password not in admin.password_hash
        assert verify_password(admin.password_hash, password)
        assert [g.role for g in admin.role_grants] == ["admin"]
    engine.dispose()
