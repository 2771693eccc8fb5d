"""Database layer: SQLite runs with WAL and foreign keys; datetimes are always aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, StatementError

from tests.conftest import MakeUser
from timbel.auth.models import DomainMembership, User
from timbel.core.db import session_scope


def test_sqlite_uses_wal_and_enforces_foreign_keys(app: FastAPI, make_user: MakeUser) -> None:
    engine = app.state.engine
    if engine.dialect.name != "sqlite":
        assert engine.dialect.name == "postgresql"
        assert engine.dialect.driver == "psycopg"
        return
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    account = make_user()
    with pytest.raises(IntegrityError), session_scope(app.state.session_factory) as session:
        session.add(DomainMembership(user_id=account.id, domain_id="no-such-domain"))


def test_datetimes_round_trip_as_aware_utc(app: FastAPI, make_user: MakeUser) -> None:
    account = make_user()
    seoul = timezone(timedelta(hours=9))
    with session_scope(app.state.session_factory) as session:
        user = session.get(User, account.id)
        assert user is not None
        user.last_login_at = datetime(2026, 3, 1, 9, 30, tzinfo=seoul)
    with session_scope(app.state.session_factory) as session:
        user = session.get(User, account.id)
        assert user is not None and user.last_login_at is not None
        assert user.last_login_at.tzinfo is not None
        assert user.last_login_at == datetime(2026, 3, 1, 0, 30, tzinfo=UTC)


def test_naive_datetimes_are_refused(app: FastAPI, make_user: MakeUser) -> None:
    account = make_user()
    session = app.state.session_factory()
    try:
        user = session.get(User, account.id)
        assert user is not None
        user.last_login_at = datetime(2026, 3, 1, 9, 30)  # naive on purpose
        with pytest.raises(StatementError, match="naive datetimes"):
            session.flush()
    finally:
        session.rollback()
        session.close()
