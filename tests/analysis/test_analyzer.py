"""The full report: every top-level key present, values right, progress reported, URLs guarded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.analysis._analyze_fixture import build_fastapi_repo
from tests.analysis._git_fixture import write_tree
from tests.servers import ServerUnavailableError
from tests.servers.git_http import GitHttpServer, start_git_http
from timbel.analysis.analyzer import analyze_path, analyze_url
from timbel.analysis.clone import CloneLimits
from timbel.analysis.schema import SourceInfo
from timbel.analysis.url_guard import AllowList, UnsafeRepositoryUrl

TOP_KEYS = {"schema", "source", "languages", "services", "libraries"} | {
    "delivery",
    "readiness",
    "knowledge",
    "git",
    "stats",
}


def test_full_report_of_a_fastapi_repository(tmp_path: Path) -> None:
    root = build_fastapi_repo(tmp_path / "shop")
    seen: list[tuple[str, int, int]] = []
    report = analyze_path(root, source=SourceInfo(path=str(root)), on_progress=lambda *a: seen.append(a))
    data = json.loads(report.to_json())
    assert set(data) >= TOP_KEYS
    assert data["schema"] == "timbel.analysis/v1"
    assert data["source"]["path"] == str(root) and data["source"]["url"] is None
    assert len(data["source"]["commit"]) == 40 and data["source"]["ref"] == "main"
    assert data["languages"][0]["name"] == "Python"
    assert abs(sum(lang["share"] for lang in data["languages"]) - 1) < 1e-6
    [service] = data["services"]
    assert (service["framework"], service["port"], service["path"], service["dockerfile"]) == (
        "FastAPI",
        8000,
        ".",
        "Dockerfile",
    )
    assert data["delivery"]["dockerfiles"] == ["Dockerfile"]
    assert data["delivery"]["ci_workflows"] == [".github/workflows/ci.yml"]
    assert data["delivery"]["k8s_manifests"] == ["deploy/k8s/deployment.yaml"]
    assert data["readiness"]["score"] == 100, data["readiness"]
    assert data["git"]["is_git"] and data["git"]["contributors"] == 1
    assert set(data["knowledge"]) == {"components", "apis", "documents", "design_assets"}
    assert data["stats"]["files"] == 10 and data["stats"]["bytes"] > 0
    assert {"files", "languages", "services", "delivery", "knowledge", "readiness", "git", "total"} <= set(
        data["stats"]["elapsed_ms"]
    )
    assert data["problems"] == []
    assert seen[-1] == ("git", 7, 7)


def test_non_git_tree_has_null_commit_and_broken_manifest_becomes_a_problem(tmp_path: Path) -> None:
    root = build_fastapi_repo(tmp_path / "plain", git=False)
    write_tree(root, {"web/package.json": "{ not json"})
    data = json.loads(analyze_path(root, source=SourceInfo(path=str(root))).to_json())
    assert data["source"]["commit"] is None and data["source"]["ref"] is None
    assert data["git"]["is_git"] is False and data["git"]["commits_30d"] is None
    assert [p["file"] for p in data["problems"]] == ["web/package.json"]
    assert data["services"][0]["framework"] == "FastAPI"  # the scan went on


class _Loopback:
    def resolve(self, host: str) -> list[str]:
        return ["127.0.0.1"]


def test_url_to_a_loopback_host_is_refused_before_any_clone(tmp_path: Path) -> None:
    with pytest.raises(UnsafeRepositoryUrl):
        analyze_url("https://git.example.test/x.git", resolver=_Loopback(), dest_parent=tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHttpServer]:
    """A loopback git smart-HTTP server serving the FastAPI fixture as ``shop``."""
    base = tmp_path_factory.mktemp("git-http")
    try:
        running = start_git_http(base / "srv")
    except ServerUnavailableError as exc:
        pytest.fail(str(exc))
    try:
        running.add_repo("shop", build_fastapi_repo(base / "shop"))
        yield running
    finally:
        running.stop()


def test_url_is_cloned_shallow_analysed_and_removed(git_server: GitHttpServer, tmp_path: Path) -> None:
    seen: list[str] = []
    report = analyze_url(
        git_server.url_for("shop"),
        allow=AllowList.from_entries(["127.0.0.0/8"]),
        resolver=_Loopback(),
        limits=CloneLimits(timeout_seconds=20),
        dest_parent=tmp_path,
        on_progress=lambda phase, done, total: seen.append(phase),
    )
    assert report.source.url == git_server.url_for("shop") and report.source.path is None
    assert (
        report.source.ref == "main" and report.source.commit is not None and len(report.source.commit) == 40
    )
    assert report.services[0].port == 8000
    assert report.git.shallow and report.git.commits_30d is None and report.git.last_commit is not None
    assert "clone" in report.stats.elapsed_ms and seen[0] == "clone"
    assert list(tmp_path.iterdir()) == []  # the clone is gone
