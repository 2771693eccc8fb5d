"""The search index follows the catalog: ORM writes, database cascades, bulk writes caught up by
`timbel search reindex`, and migration 0005 indexing rows that existed before it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, insert, select, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.catalog.search_support import BANKING, Search, add, new_domain, new_system, searcher, titles
from tests.conftest import MakeUser, login
from timbel.auth.permissions import Role, permissions_for
from timbel.auth.principal import Principal
from timbel.catalog import search_index, search_service
from timbel.catalog.models import Component, DesignAsset, Document, Domain, Project, System
from timbel.catalog.search_models import SearchEntry
from timbel.cli import app as cli_app
from timbel.core import migrate
from timbel.core.db import create_db_engine, session_scope
from timbel.core.pagination import PageParams


@pytest.fixture
def search(client: TestClient, make_user: MakeUser) -> Search:
    """The search API, called as an administrator unless other headers are given."""
    return searcher(client, login(client, make_user(roles=("admin",))))


class TestIndexFollowsTheCatalog:
    def test_create_update_delete_through_the_orm(self, app: FastAPI, search: Search) -> None:
        kb = new_domain(app, "kb")
        system = new_system(app, kb, "core", name="코어뱅킹", description="계정계")
        assert search("계정계")["total"] == 1
        with session_scope(app.state.session_factory) as session:
            obj = session.get(System, system)
            assert obj is not None
            obj.description = "정보계 분석"
        assert search("계정계")["total"] == 0
        assert titles(search("정보계")) == ["코어뱅킹"]
        with session_scope(app.state.session_factory) as session:
            session.delete(session.get(System, system))
        assert search("코어")["total"] == 0
        assert_index_consistent(app)

    def test_database_cascades_remove_children(self, app: FastAPI, search: Search) -> None:
        kb = new_domain(app, "kb", name="국민은행")
        other = new_domain(app, "lg", name="LG화학")
        system = new_system(app, kb, "ibank", name="인터넷뱅킹")
        project = add(app, Project(domain_id=kb, name="뱅킹 고도화"))[0]
        add(
            app,
            Component(domain_id=kb, system_id=system, name="뱅킹 이체 모듈"),
            Document(domain_id=kb, system_id=system, title="뱅킹 운영 매뉴얼", content="장애 대응"),
            Document(domain_id=kb, project_id=project, title="뱅킹 요구사양서", content="요구"),
            DesignAsset(domain_id=kb, project_id=project, title="뱅킹 화면", tags=["모바일"]),
            System(domain_id=other, slug="plant", name="뱅킹 아님 공장"),
        )
        assert search("뱅킹")["total"] == 7
        with session_scope(app.state.session_factory) as session:
            session.execute(delete(System).where(System.id == system))  # no ORM events for children
        assert sorted(titles(search("뱅킹"))) == [
            "뱅킹 고도화",
            "뱅킹 아님 공장",
            "뱅킹 요구사양서",
            "뱅킹 화면",
        ]
        with session_scope(app.state.session_factory) as session:
            session.delete(session.get(Project, project))
        assert titles(search("뱅킹")) == ["뱅킹 아님 공장"]
        with session_scope(app.state.session_factory) as session:
            session.delete(session.get(Domain, other))
        assert search("뱅")["total"] == 0
        assert titles(search("국민")) == ["국민은행"]
        assert_index_consistent(app)

    def test_labels_follow_changes(self, app: FastAPI, search: Search) -> None:
        kb = new_domain(app, "kb")
        system = new_system(app, kb, "api", name="API 서버", languages=["Python", "Go"])
        assert search("서버", language="go")["total"] == 1
        with session_scope(app.state.session_factory) as session:
            session.execute(update(System).where(System.id == system).values(languages=["Rust"]))
            assert search_index.index_entities(session, kind="system", ids=[system]) == 1
        assert search("서버", language="go")["total"] == 0
        assert search("서버", language="RUST")["total"] == 1
        with session_scope(app.state.session_factory) as session:
            assert (
                session.scalar(select(SearchEntry.languages).where(SearchEntry.kind == "system")) == ",rust,"
            )


class TestReindex:
    def test_bulk_writes_are_picked_up_by_the_reindex_command(
        self, app: FastAPI, search: Search, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        kb = new_domain(app, "kb")
        with session_scope(app.state.session_factory) as session:
            session.execute(
                insert(Component),
                [
                    {"id": str(uuid.uuid4()), "domain_id": kb, "system_id": sys_id, "name": "대량 등록 모듈"}
                    for sys_id in [_bare_system(session, kb)]
                ],
            )
        assert search("대량")["total"] == 0  # bulk statements bypass the unit of work
        monkeypatch.setenv("TIMBEL_DATABASE_URL", database_url)
        monkeypatch.setenv("TIMBEL_DATA_DIR", str(tmp_path / "var"))
        result = CliRunner().invoke(cli_app, ["search", "reindex", "--rebuild"])
        assert result.exit_code == 0, result.output
        assert "2 rows written" in result.output
        assert sorted(titles(search("대량"))) == ["대량 등록 모듈", "대량 시스템"]
        again = CliRunner().invoke(cli_app, ["search", "reindex"])
        assert "0 rows written" in again.output
        assert_index_consistent(app)


def _bare_system(session: Any, domain_id: str) -> str:
    system_id = str(uuid.uuid4())
    session.execute(insert(System).values(id=system_id, domain_id=domain_id, slug="bulk", name="대량 시스템"))
    return system_id


def assert_index_consistent(app: FastAPI) -> None:
    """Every entity has exactly one row and, on SQLite, the FTS tables agree with the rows."""
    with session_scope(app.state.session_factory) as session:
        entities = sum(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Domain, Project, System, Component, Document, DesignAsset)
        )
        assert session.scalar(select(func.count()).select_from(SearchEntry)) == entities
        if session.get_bind().dialect.name == "sqlite":
            session.execute(text("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"))
            session.execute(
                text("INSERT INTO search_grams(search_grams, rank) VALUES ('integrity-check', 1)")
            )


@pytest.fixture
def fresh_engine(tmp_path: Path, database_url: str) -> Iterator[Engine]:
    """An empty database of the session's kind, for migration tests."""
    if database_url.startswith("sqlite"):
        engine = create_db_engine(f"sqlite:///{tmp_path}/fresh.db")
        yield engine
        engine.dispose()
        return
    name = f"search_{uuid.uuid4().hex[:8]}"
    admin = create_db_engine(database_url).execution_options(isolation_level="AUTOCOMMIT")
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


def test_migration_indexes_existing_catalog_rows(fresh_engine: Engine) -> None:
    migrate.upgrade(fresh_engine, "0004")
    with fresh_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO domains (id, code, name, industry, region, priority, description, contacts,"
                " created_at) VALUES ('d1', 'kb', '국민은행', '금융', '', 'high', '', '[]', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO systems (id, domain_id, name, slug, description, repo_url, default_branch,"
                " last_commit_author, last_commit_message, stage, languages, frameworks, datastores, links,"
                " source, created_at) VALUES ('s1', 'd1', '인터넷뱅킹', 'ibank', :d, '', 'main', '', '',"
                " 'production', '[\"Java\"]', '[]', '[]', '[]', 'manual', '2026-01-02')"
            ),
            {"d": BANKING},
        )
    migrate.upgrade(fresh_engine)
    with fresh_engine.connect() as conn:
        rows = conn.execute(select(SearchEntry.kind, SearchEntry.entity_id).order_by(SearchEntry.kind)).all()
        assert [tuple(r) for r in rows] == [("domain", "d1"), ("system", "s1")]
        assert conn.scalar(select(SearchEntry.languages).where(SearchEntry.kind == "system")) == ",java,"
    with Session(fresh_engine) as session:
        for q in ("뱅킹", "인터넷뱅킹 거래", "국민"):
            found = search_service.search(session, principal=ADMIN, q=q, paging=PageParams())
            assert found.total == 1, q


ADMIN = Principal(
    user_id="admin",
    username="admin",
    display_name="",
    email=None,
    locale="ko",
    must_change_password=False,
    roles=frozenset({Role.admin}),
    permissions=permissions_for({Role.admin}),
    domains=(),
    credential="access_token",
)
