"""`timbel demo load`: 8 Korean customer domains with projects, systems and assets, into an empty catalog."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from typer.testing import CliRunner

from timbel.audit.models import AuditEntry
from timbel.catalog import demo
from timbel.catalog.models import (
    AssetVersion,
    Component,
    DesignAsset,
    Document,
    Domain,
    Project,
    Relation,
    System,
    WorkGroup,
)
from timbel.cli import app as cli
from timbel.core.db import session_scope

runner = CliRunner()


@pytest.fixture
def cli_env(app: FastAPI, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """Point the command line at the test database (emptied afterwards through ``app``)."""
    monkeypatch.setenv("TIMBEL_DATABASE_URL", database_url)
    monkeypatch.setenv("TIMBEL_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    return app


def _count(app: FastAPI, model: type) -> int:
    with session_scope(app.state.session_factory) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


class TestDemoLoad:
    def test_fills_an_empty_catalog_once(self, cli_env: FastAPI) -> None:
        result = runner.invoke(cli, ["demo", "load"])
        assert result.exit_code == 0, result.output
        repo = demo.find_repository()
        assert repo is not None and (repo / ".git").exists()
        assert f"points at the local repository {repo}" in result.output
        with session_scope(cli_env.state.session_factory) as session:
            industries = dict(session.execute(select(Domain.name, Domain.industry)).all())
            assert len(industries) == 8 and len(set(industries.values())) == 8
            assert industries["국민은행"] == "금융"
            assert industries["삼성전자"] == "제조/IT"
            assert industries["LG화학"] == "화학/제조"
            urgent = session.scalar(select(Project).where(Project.urgent.is_(True)))
            assert urgent is not None and urgent.urgent_reason and urgent.urgent_deadline is not None
            groups = session.scalars(select(WorkGroup).where(WorkGroup.project_id == urgent.id)).all()
            assert len(groups) >= 2
            local = session.scalar(select(System).where(System.repo_url == str(repo)))
            assert local is not None and local.slug == "timbel-ops"
            systems = session.scalars(select(System)).all()
            assert {s.stage for s in systems} == {"development", "staging", "production"}
            assert all(s.description and s.languages for s in systems)
            assert session.scalar(select(func.count()).where(Component.kind == "api")) >= 8
            assert session.scalar(select(func.count()).where(Document.format == "markdown")) >= len(systems)
            assets = _count(cli_env, Component) + _count(cli_env, Document) + _count(cli_env, DesignAsset)
            assert session.scalar(select(func.count()).select_from(AssetVersion)) == assets  # version 1 each
            assert session.scalar(select(func.count()).select_from(Relation)) >= 10
            assert session.scalar(select(AuditEntry.action).where(AuditEntry.action == "catalog.demo_load"))
        before = {m.__name__: _count(cli_env, m) for m in (Domain, Project, System, Component, Document)}
        again = runner.invoke(cli, ["demo", "load"])
        assert again.exit_code == 1
        assert "not empty" in again.output
        assert {
            m.__name__: _count(cli_env, m) for m in (Domain, Project, System, Component, Document)
        } == before

    def test_refuses_a_catalog_with_any_domain(self, cli_env: FastAPI, make_domain: object) -> None:
        make_domain("existing")  # type: ignore[operator]
        result = runner.invoke(cli, ["demo", "load"])
        assert result.exit_code == 1
        assert _count(cli_env, Domain) == 1 and _count(cli_env, System) == 0

    def test_continues_without_a_repository(self, cli_env: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(demo, "find_repository", lambda start=None: None)
        result = runner.invoke(cli, ["demo", "load"])
        assert result.exit_code == 0, result.output
        assert "no git repository found" in result.output
        with session_scope(cli_env.state.session_factory) as session:
            assert session.scalar(select(System.repo_url).where(System.slug == "timbel-ops")) == ""
            assert session.scalar(select(func.count()).select_from(Domain)) == 8

    def test_repository_search_stops_at_the_filesystem_root(self, tmp_path: Path) -> None:
        (tmp_path / "project" / ".git").mkdir(parents=True)
        nested = tmp_path / "project" / "src" / "pkg"
        nested.mkdir(parents=True)
        assert demo.find_repository(nested / "module.py") == tmp_path / "project"
        assert demo.find_repository(tmp_path / "elsewhere" / "x.py") != tmp_path / "project"
