"""`timbel analyze`: json is exactly the report, table is readable, refused URLs exit 2 without connecting."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.analysis._analyze_fixture import build_fastapi_repo
from timbel.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def test_json_is_the_full_report(tmp_path: Path) -> None:
    root = build_fastapi_repo(tmp_path / "shop")
    result = runner.invoke(app, ["analyze", str(root), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "timbel.analysis/v1"
    assert data["source"]["path"] == str(root.resolve())
    assert data["services"][0]["port"] == 8000
    assert data["readiness"]["score"] == 100


def test_table_is_a_readable_summary(tmp_path: Path) -> None:
    root = build_fastapi_repo(tmp_path / "shop")
    result = runner.invoke(app, ["analyze", str(root)])
    assert result.exit_code == 0, result.output
    assert "Readiness: 100/100" in result.stdout
    assert "FastAPI" in result.stdout and "8000" in result.stdout and "/health" in result.stdout


def test_this_repository_analyses_itself() -> None:
    result = runner.invoke(app, ["analyze", str(REPO), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["languages"][0]["name"] == "Python"
    timbel = next(s for s in data["services"] if s["path"] == ".")
    assert (timbel["framework"], timbel["port"]) == ("FastAPI", 8000)
    assert len(data["source"]["commit"]) == 40


def test_loopback_url_is_refused_with_exit_2() -> None:
    result = runner.invoke(app, ["analyze", "https://127.0.0.1/x.git", "--format", "json"])
    assert result.exit_code == 2
    assert "refused" in result.stderr and "loopback" in result.stderr
    assert result.stdout == ""


def test_file_url_and_unknown_target_and_bad_format_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["analyze", "file:///etc"]).exit_code == 2
    assert runner.invoke(app, ["analyze", str(tmp_path / "missing")]).exit_code == 2
    assert runner.invoke(app, ["analyze", str(tmp_path), "--format", "yaml"]).exit_code == 2
    assert runner.invoke(app, ["analyze", str(tmp_path), "--ref", "main"]).exit_code == 2
