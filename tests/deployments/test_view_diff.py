"""Release diff: commits between source commits (a real repository served on loopback), images, values."""

from __future__ import annotations

import subprocess
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import MakeUser, login
from tests.deployments._view_support import GIT_ENV, make_release, sign_in
from tests.servers import ServerUnavailableError
from tests.servers.git_http import GitHttpServer, start_git_http
from timbel.core.settings import AnalysisSettings, Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback allow-listed, as for an internal git server."""
    return settings.model_copy(update={"analysis": AnalysisSettings(allowed_hosts=("127.0.0.0/8",))})


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitHttpServer]:
    try:
        running = start_git_http(tmp_path / "srv")
    except ServerUnavailableError as exc:
        pytest.fail(f"{exc} — the release diff test needs git and git-http-backend: run `make test`")
    try:
        yield running
    finally:
        running.stop()


def _git(repo: Path, *argv: str) -> str:
    env = {**GIT_ENV, "HOME": str(repo)}
    done = subprocess.run(["git", "-C", str(repo), *argv], check=True, capture_output=True, env=env)
    return done.stdout.decode().strip()


def _commit(repo: Path, name: str, subject: str) -> str:
    (repo / name).write_text(subject + "\n")
    _git(repo, "add", name)
    _git(repo, "commit", "-q", "-m", subject)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def world(
    app: FastAPI,
    tmp_path: Path,
    git_server: GitHttpServer,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
    make_user: MakeUser,
) -> Any:
    """web's repository: base, two more commits; releases at base and at the tip; another system's release."""
    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q", "-b", "main")
    base = _commit(work, "a.txt", "Initial")
    _commit(work, "b.txt", "Add basket")
    tip = _commit(work, "c.txt", "Fix checkout")
    git_server.add_repo("web", work)
    a, b = make_domain("shop"), make_domain("bank")
    web = make_system(a, "web", repo_url=git_server.url_for("web"))
    other = make_system(a, "other")
    ledger = make_system(b, "ledger")
    r1 = make_release(app, web, "1.0.0", commit=base, images={"api": "1.0.0", "worker": "1.0.0", "old": "1"},
                      extra_values={"replicas": 1, "feature": {"cart": False}})  # fmt: skip
    r2 = make_release(app, web, "1.1.0", commit=tip, images={"api": "1.1.0", "worker": "1.0.0", "new": "1"},
                      extra_values={"replicas": 2, "feature": {"cart": True, "promo": "x"}})  # fmt: skip
    elsewhere = make_release(app, other, "5.0.0")
    hidden = make_release(app, ledger, "1.0.0")
    ops = make_user(roles=("operations",), domain_ids=(a,))
    return types.SimpleNamespace(web=web, r1=r1, r2=r2, elsewhere=elsewhere, hidden=hidden, ops=ops, tip=tip)


def test_diff_api(client: TestClient, world: Any) -> None:
    headers = login(client, world.ops)
    response = client.get("/api/v1/releases/diff", params={"a": world.r1, "b": world.r2}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["commits"]["error"] == ""
    assert [c["subject"] for c in body["commits"]["items"]] == ["Fix checkout", "Add basket"]
    assert body["commits"]["items"][0]["sha"] == world.tip
    changes = {i["service"]: i["change"] for i in body["images"]}
    assert changes == {"api": "changed", "worker": "same", "old": "removed", "new": "added"}
    values = {v["key"]: (v["change"], v["a"], v["b"]) for v in body["values"]}
    assert values["replicas"] == ("changed", 1, 2)
    assert values["feature.cart"] == ("changed", False, True)
    assert values["feature.promo"] == ("added", None, "x")
    assert values["services.api.image.tag"] == ("changed", "1.0.0", "1.1.0")
    assert "services.worker.image.tag" not in values


def test_diff_of_two_systems_is_refused(client: TestClient, world: Any) -> None:
    headers = login(client, world.ops)
    response = client.get(
        "/api/v1/releases/diff", params={"a": world.r1, "b": world.elsewhere}, headers=headers
    )
    assert response.status_code == 422
    assert (
        client.get(
            "/api/v1/releases/diff", params={"a": world.r1, "b": world.hidden}, headers=headers
        ).status_code
        == 404
    )
    assert client.get("/api/v1/releases/diff", params={"a": world.r1, "b": world.r2}).status_code == 401


def test_diff_page(client: TestClient, world: Any) -> None:
    sign_in(client, world.ops)
    page = client.get(f"/releases/diff?a={world.r1}&b={world.r2}")
    assert page.status_code == 200, page.text
    assert 'data-service="api" data-change="changed"' in page.text
    assert 'data-key="replicas" data-change="changed"' in page.text
    assert "Fix checkout" in page.text
    chooser = client.get(f"/releases/diff?system_id={world.web}")
    assert chooser.status_code == 200 and 'id="diff-form"' in chooser.text and "1.1.0" in chooser.text
    assert client.get(f"/releases/diff?a={world.r1}&b={world.elsewhere}").status_code == 422
