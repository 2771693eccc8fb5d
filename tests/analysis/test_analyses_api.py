"""The analyses API end to end: queue, run (jobs inline), read, follow live, register into the catalog."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.analysis._analyze_fixture import build_fastapi_repo
from tests.analysis._git_fixture import git, write_tree
from tests.conftest import MakeUser, login
from tests.servers import ServerUnavailableError
from tests.servers.git_http import GitHttpServer, start_git_http
from timbel.analysis.models import Analysis, AnalysisStateChange
from timbel.core.settings import AnalysisSettings, Settings

Headers = Callable[..., dict[str, str]]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with loopback allow-listed, as an admin would for an internal git server."""
    return settings.model_copy(update={"analysis": AnalysisSettings(allowed_hosts=("127.0.0.0/8",))})


@pytest.fixture
def repo_source(tmp_path: Path) -> Path:
    """A working copy of the FastAPI fixture repository (push from here to publish new commits)."""
    return build_fastapi_repo(tmp_path / "shop-src")


@pytest.fixture
def git_server(tmp_path: Path, repo_source: Path) -> Iterator[GitHttpServer]:
    """A loopback git smart-HTTP server publishing the fixture as ``shop``."""
    try:
        running = start_git_http(tmp_path / "srv")
    except ServerUnavailableError as exc:
        pytest.fail(str(exc))
    try:
        running.add_repo("shop", repo_source)
        yield running
    finally:
        running.stop()


def _start(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/analyses", json=body, headers=headers)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/api/v1/analyses/{response.json()['id']}"
    return response.json()  # type: ignore[no-any-return]


def _get(client: TestClient, headers: dict[str, str], analysis_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/analyses/{analysis_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_url_is_analysed_in_the_background_with_history(
    client: TestClient, auth_headers: Headers, git_server: GitHttpServer, db: Session
) -> None:
    ops = auth_headers("operations")
    started = _start(client, ops, url=git_server.url_for("shop"))
    assert started["state"] == "queued"
    done = _get(client, ops, started["id"])
    assert done["state"] == "succeeded", done["error"]
    assert done["progress"]["phase"] == "done"
    assert len(done["commit"]) == 40
    report = done["report"]
    assert report["schema"] == "timbel.analysis/v1"
    service = report["services"][0]
    assert (service["framework"], service["port"]) == ("FastAPI", 8000)
    assert any(e["file"] == "Dockerfile" for e in service["port_evidence"])
    assert done["readiness_score"] == report["readiness"]["score"]
    history = db.execute(
        select(AnalysisStateChange.from_state, AnalysisStateChange.to_state)
        .where(AnalysisStateChange.analysis_id == started["id"])
        .order_by(AnalysisStateChange.at)
    ).all()
    assert [tuple(h) for h in history] == [("queued", "running"), ("running", "succeeded")]


def test_register_puts_the_system_and_its_knowledge_in_the_catalog(
    client: TestClient, make_user: MakeUser, git_server: GitHttpServer, make_domain: Callable[[str], str]
) -> None:
    domain_id = make_domain("shop")
    ops = login(client, make_user(domain_ids=(domain_id,)))
    done = _get(client, ops, _start(client, ops, url=git_server.url_for("shop"))["id"])
    result = client.post(
        f"/api/v1/analyses/{done['id']}/register",
        json={"domain_id": domain_id, "name": "Shop API"},
        headers=ops,
    )
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["system_slug"] == "shop-api" and body["created"] > 0
    system = client.get(f"/api/v1/systems/{body['system_id']}", headers=ops).json()
    assert system["source"] == "auto" and system["repo_url"] == git_server.url_for("shop")
    assert "Python" in system["tech_stack"]["languages"]
    assert system["readiness"]["score"] == done["report"]["readiness"]["score"]
    docs = client.get("/api/v1/documents", params={"system_id": body["system_id"]}, headers=ops).json()
    readme = next(d for d in docs["items"] if d["title"] == "Shop API")
    full = client.get(f"/api/v1/documents/{readme['id']}", headers=ops).json()
    assert "Sells things." in full["content"]
    assert (full["source"], full["commit_sha"]) == ("auto", done["commit"])
    comps = client.get("/api/v1/components", params={"system_id": body["system_id"]}, headers=ops).json()
    assert comps["total"] > 0
    assert all(c["source"] == "auto" and c["commit_sha"] == done["commit"] for c in comps["items"])
    found = client.get("/api/v1/search", params={"q": "Sells things"}, headers=ops).json()
    assert any(item["id"] == readme["id"] for item in found["items"])
    again = client.post(f"/api/v1/analyses/{done['id']}/register", json={}, headers=ops).json()
    assert again["created"] == 0 and again["system_id"] == body["system_id"]


def test_reanalysis_updates_auto_items_and_keeps_manual_edits(
    client: TestClient,
    make_user: MakeUser,
    git_server: GitHttpServer,
    make_domain: Callable[[str], str],
    repo_source: Path,
) -> None:
    domain_id = make_domain("shop")
    ops = login(client, make_user(domain_ids=(domain_id,)))
    first = _get(client, ops, _start(client, ops, url=git_server.url_for("shop"))["id"])
    system_id = client.post(
        f"/api/v1/analyses/{first['id']}/register", json={"domain_id": domain_id}, headers=ops
    ).json()["system_id"]
    docs = client.get("/api/v1/documents", params={"system_id": system_id}, headers=ops).json()["items"]
    readme = next(d for d in docs if d["title"] == "Shop API")
    edited = client.patch(f"/api/v1/documents/{readme['id']}", json={"title": "쇼핑 API 안내"}, headers=ops)
    assert edited.status_code == 200, edited.text

    write_tree(repo_source, {"README.md": "# Shop API\n\nSells things, now faster.\n"})
    git(repo_source, "commit", "-qam", "faster")
    git(repo_source, "push", "-q", str(git_server.root / "shop.git"), "main")
    second = _get(client, ops, _start(client, ops, system_id=system_id)["id"])
    assert second["state"] == "succeeded" and second["commit"] != first["commit"]

    docs_after = client.get("/api/v1/documents", params={"system_id": system_id}, headers=ops).json()
    assert docs_after["total"] == len(docs)
    doc = client.get(f"/api/v1/documents/{readme['id']}", headers=ops).json()
    assert doc["title"] == "쇼핑 API 안내"  # the person's edit stays
    assert "now faster" in doc["content"]  # the untouched field follows the repository
    assert doc["commit_sha"] == second["commit"]
    system = client.get(f"/api/v1/systems/{system_id}", headers=ops).json()
    assert system["last_commit"]["sha"] == second["commit"]


def test_events_stream_ends_with_done(
    client: TestClient, auth_headers: Headers, git_server: GitHttpServer
) -> None:
    ops = auth_headers("operations")
    started = _start(client, ops, url=git_server.url_for("shop"))
    with client.stream("GET", f"/api/v1/analyses/{started['id']}/events", headers=ops) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    assert "event: done" in text and '"state":"succeeded"' in text


def test_a_failed_clone_is_a_failed_analysis_with_a_reason(
    client: TestClient, auth_headers: Headers, git_server: GitHttpServer
) -> None:
    ops = auth_headers("operations")
    done = _get(client, ops, _start(client, ops, url=git_server.url_for("missing"))["id"])
    assert done["state"] == "failed"
    assert done["error_code"] == "clone-failed" and done["error"]
    assert done["report"] is None


def test_internal_addresses_are_refused_before_anything_is_queued(
    client: TestClient, auth_headers: Headers, db: Session
) -> None:
    ops = auth_headers("operations")
    for url in (
        "http://10.1.2.3/app.git",
        "https://169.254.169.254/x.git",
        "file:///etc/passwd",
        "ftp://a/b",
    ):
        response = client.post("/api/v1/analyses", json={"url": url}, headers=ops)
        assert response.status_code == 422, url
        assert response.headers["content-type"] == "application/problem+json"
    assert db.scalar(select(Analysis.id)) is None


def test_target_and_ref_are_validated(client: TestClient, auth_headers: Headers) -> None:
    ops = auth_headers("operations")
    assert client.post("/api/v1/analyses", json={}, headers=ops).status_code == 422
    both = {"url": "https://github.com/a/b.git", "system_id": "x"}
    assert client.post("/api/v1/analyses", json=both, headers=ops).status_code == 422
    bad_ref = {"url": "https://github.com/a/b.git", "ref": "--upload-pack=touch"}
    assert client.post("/api/v1/analyses", json=bad_ref, headers=ops).status_code == 422


def test_server_paths_are_for_admins_only(client: TestClient, auth_headers: Headers, tmp_path: Path) -> None:
    repo = build_fastapi_repo(tmp_path / "local")
    ops = client.post("/api/v1/analyses", json={"path": str(repo)}, headers=auth_headers("operations"))
    assert ops.status_code == 403
    admin = auth_headers("admin")
    started = _start(client, admin, path=str(repo))
    done = _get(client, admin, started["id"])
    assert done["state"] == "succeeded" and done["report"]["source"]["path"] == str(repo)
    missing = client.post("/api/v1/analyses", json={"path": str(tmp_path / "nope")}, headers=admin)
    assert missing.status_code == 422


def test_analyses_are_scoped_to_domains(
    client: TestClient,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
    git_server: GitHttpServer,
) -> None:
    mine, other = make_domain("mine"), make_domain("other")
    system_id = make_system(other, "other-shop", repo_url=git_server.url_for("shop"))
    ops_other = login(client, make_user(roles=("operations",), domain_ids=(other,)))
    ops_mine = login(client, make_user(roles=("operations",), domain_ids=(mine,)))
    viewer = login(client, make_user(roles=("viewer",), domain_ids=(other,)))
    started = _start(client, ops_other, system_id=system_id)
    assert _get(client, viewer, started["id"])["state"] == "succeeded"
    assert client.get(f"/api/v1/analyses/{started['id']}", headers=ops_mine).status_code == 404
    assert client.post("/api/v1/analyses", json={"system_id": system_id}, headers=ops_mine).status_code == 404
    assert client.post("/api/v1/analyses", json={"system_id": system_id}, headers=viewer).status_code == 403
    listed = client.get("/api/v1/analyses", params={"system_id": system_id}, headers=ops_mine).json()
    assert listed["total"] == 0
    listed = client.get("/api/v1/analyses", params={"system_id": system_id}, headers=viewer).json()
    assert [item["id"] for item in listed["items"]] == [started["id"]]


def test_unfinished_analysis_cannot_be_registered(
    client: TestClient, auth_headers: Headers, app: FastAPI, make_domain: Callable[[str], str]
) -> None:
    ops = auth_headers("operations")
    with app.state.session_factory() as session:
        row = Analysis(url="https://github.com/a/b.git", created_by=None)
        session.add(row)
        session.commit()
        analysis_id = row.id
    admin = auth_headers("admin")
    response = client.post(
        f"/api/v1/analyses/{analysis_id}/register", json={"domain_id": make_domain("d")}, headers=admin
    )
    assert response.status_code == 409
    assert client.get(f"/api/v1/analyses/{analysis_id}", headers=ops).status_code == 404


def test_git_push_of_a_new_commit_is_seen(repo_source: Path) -> None:
    """Guard for the fixture itself: pushing publishes a commit the server then serves."""
    out = subprocess.run(["git", "-C", str(repo_source), "log", "--oneline"], capture_output=True, text=True)
    assert out.stdout.count("\n") == 1
