"""Shared fixtures: a migrated database (SQLite, or PostgreSQL with TIMBEL_TEST_DATABASE=postgresql),
an app per test, and factories for users and signed-in clients.

Each test starts from empty tables: the schema is migrated once per session and
every table is emptied after each test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from timbel.app import create_app
from timbel.audit.service import AuditContext
from timbel.auth import service as user_service
from timbel.auth.models import User
from timbel.auth.schemas import UserCreate
from timbel.catalog.models import Domain, System
from timbel.core import migrate
from timbel.core.db import Base, create_db_engine, session_scope
from timbel.core.settings import Environment, JobSettings, LogSettings, Settings, prepare_settings

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
DEFAULT_PASSWORD = "Sturdy-Lantern-42"
ROLES = ("admin", "operations", "executive", "viewer")


def pytest_report_header(config: pytest.Config) -> str:
    return f"timbel test database: {os.environ.get('TIMBEL_TEST_DATABASE', 'sqlite')}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for the whole session: SQLite by default, PostgreSQL on request."""
    kind = os.environ.get("TIMBEL_TEST_DATABASE", "sqlite")
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'timbel-test.db'}"
        _migrate(url)
        yield url
        return
    if kind != "postgresql":
        raise pytest.UsageError(f"TIMBEL_TEST_DATABASE must be sqlite or postgresql, not {kind!r}")
    from tests.servers.postgres import start_postgres

    server = start_postgres(tmp_path_factory.mktemp("pg"))
    try:
        _migrate(server.url)
        yield server.url
    finally:
        server.stop()


def _migrate(url: str) -> None:
    engine = create_db_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def empty_all_tables(engine: Engine) -> None:
    """Delete every row of every Timbel table (keeps the schema and Alembic's version)."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                connection.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - fixed table names


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings for one test: its own data dir, the session's database, jobs run inline."""
    return prepare_settings(
        Settings(
            env=Environment.test,
            data_dir=tmp_path / "var",
            database_url=database_url,
            secret_key=TEST_SECRET,  # type: ignore[arg-type]
            jobs=JobSettings(immediate=True, embedded_consumer=False),
            log=LogSettings(access=False),
        )
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    """An app on the test database; tables are emptied afterwards."""
    application = create_app(settings, run_jobs=False)
    try:
        yield application
    finally:
        empty_all_tables(application.state.engine)
        application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A test client for the app (lifespan included)."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def db(app: FastAPI) -> Iterator[Session]:
    """A session on the app's database for arranging and checking state (commit explicitly)."""
    session: Session = app.state.session_factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@dataclass
class Account:
    """A user created for a test, with its password."""

    id: str
    username: str
    password: str
    roles: tuple[str, ...]


MakeUser = Callable[..., Account]


@pytest.fixture
def make_user(app: FastAPI) -> MakeUser:
    """Create users through the real service."""
    counter = iter(range(1, 10_000))

    def make(
        username: str | None = None,
        *,
        roles: tuple[str, ...] = ("operations",),
        password: str = DEFAULT_PASSWORD,
        must_change_password: bool = False,
        domain_ids: tuple[str, ...] = (),
        **extra: Any,
    ) -> Account:
        name = username or f"{roles[0]}{next(counter)}"
        with session_scope(app.state.session_factory) as session:
            user = user_service.create(
                session,
                data=UserCreate(
                    username=name,
                    password=password,
                    roles=list(roles),  # type: ignore[arg-type]
                    must_change_password=must_change_password,
                    domain_ids=list(domain_ids),
                    **extra,
                ),
                min_password_length=8,
                ctx=AuditContext(actor_name="test"),
            )
            return Account(id=user.id, username=user.username, password=password, roles=roles)

    return make


@pytest.fixture
def make_domain(app: FastAPI) -> Callable[[str], str]:
    """Create a customer domain and return its id."""

    def make(code: str) -> str:
        with session_scope(app.state.session_factory) as session:
            domain = Domain(code=code, name=f"Domain {code}")
            session.add(domain)
            session.flush()
            return domain.id

    return make


@pytest.fixture
def make_system(app: FastAPI) -> Callable[..., str]:
    """Create a system in a domain (straight into the database) and return its id."""

    def make(domain_id: str, slug: str, **fields: Any) -> str:
        with session_scope(app.state.session_factory) as session:
            system = System(domain_id=domain_id, slug=slug, name=fields.pop("name", slug), **fields)
            session.add(system)
            session.flush()
            return system.id

    return make


def login(client: TestClient, account: Account) -> dict[str, str]:
    """Sign in through the API and return the Authorization header."""
    response = client.post(
        "/api/v1/auth/login", json={"username": account.username, "password": account.password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def auth_headers(client: TestClient, make_user: MakeUser) -> Callable[..., dict[str, str]]:
    """Create a user with some roles and return bearer headers for them."""

    def make(*roles: str) -> dict[str, str]:
        return login(client, make_user(roles=roles or ("operations",)))

    return make


def get_user(app: FastAPI, user_id: str) -> User:
    """Load a user in a fresh session."""
    with session_scope(app.state.session_factory) as session:
        user = session.get(User, user_id)
        assert user is not None
        session.expunge(user)
        return user
