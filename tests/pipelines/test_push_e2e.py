"""The issue's "done when" for push triggers, end to end: a real ``git push`` to a repository on the loopback
git smart-HTTP server, delivered as a signed GitHub webhook to ``POST /hooks/github``, starts exactly one run
on the local engine that checks out the pushed commit, runs the Python project's tests and succeeds with their
output in the log; the same delivery again, another branch and a branch deletion start nothing."""

# ruff: noqa: F811  (fixtures imported from test_triggers_support are parameters here)

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.fakes.github import signed_delivery
from tests.pipelines.engines.conftest import PY_FILES, make_repo
from tests.pipelines.test_triggers_support import (  # noqa: F401  (fixtures)
    HOOK_SECRET,
    SystemPipeline,
    add_github,
    admin,
    app,
    system_pipeline,
)
from tests.servers import ServerUnavailableError
from tests.servers.git_http import GitHttpServer, start_git_http
from timbel.core.db import session_scope
from timbel.core.settings import AnalysisSettings, Settings
from timbel.pipelines.logs import iter_log
from timbel.pipelines.run_models import PipelineRun, StageRun

GIT_ENV = {"PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
IDENT = ["-c", "user.name=Kim", "-c", "user.email=kim@example.com"]
STAGES = [
    {"name": "checkout", "kind": "checkout"},
    {"name": "unit-tests", "kind": "test", "command": "python3 run_tests.py"},
]
NEW_TEST = (
    "import unittest\n\nimport calc\n\n\n"
    "class PushedTest(unittest.TestCase):\n"
    "    def test_pushed_commit_is_checked_out(self):\n"
    "        self.assertEqual(calc.sub(5, 3), 2)\n"
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback allow-listed by the admin, as for an internal git server."""
    return settings.model_copy(update={"analysis": AnalysisSettings(allowed_hosts=("127.0.0.0/8",))})


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitHttpServer]:
    """The loopback git smart-HTTP server (pushes allowed on the repositories a test publishes)."""
    try:
        running = start_git_http(tmp_path / "srv")
    except ServerUnavailableError as exc:
        pytest.fail(f"{exc} — the end-to-end push test needs git and git-http-backend: run `make test`")
    try:
        yield running
    finally:
        running.stop()


def _git(repo: Path, *argv: str) -> str:
    done = subprocess.run(
        ["git", *IDENT, "-C", str(repo), *argv],
        check=True,
        capture_output=True,
        env=GIT_ENV | {"HOME": str(repo)},
    )
    return done.stdout.decode().strip()


def _push_a_commit(git_server: GitHttpServer, work: Path) -> tuple[str, str]:
    """Publish the fixture project as ``shop``, commit, ``git push`` over HTTP; return (before, after)."""
    before = make_repo(work, PY_FILES)
    bare = git_server.add_repo("shop", work)
    _git(bare, "config", "http.receivepack", "true")
    (work / "calc.py").write_text(PY_FILES["calc.py"] + "\n\ndef sub(a, b):\n    return a - b\n")
    (work / "test_pushed.py").write_text(NEW_TEST)
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "Add sub")
    after = _git(work, "rev-parse", "HEAD")
    _git(work, "push", "-q", git_server.url_for("shop"), "main:main")
    assert _git(bare, "rev-parse", "refs/heads/main") == after  # the push really reached the server
    return before, after


def _payload(
    git_server: GitHttpServer, *, ref: str, before: str, after: str, deleted: bool = False
) -> dict[str, Any]:
    """A push body shaped like GitHub's, naming the served repository by its clone URL."""
    clone = git_server.url_for("shop")
    commit = {"id": after, "message": "Add sub", "author": {"name": "Kim", "email": "kim@example.com"}}
    return {
        "ref": ref,
        "before": before,
        "after": after,
        "created": False,
        "deleted": deleted,
        "forced": False,
        "base_ref": None,
        "compare": f"{git_server.base_url}/git/shop/compare/{before[:12]}...{after[:12]}",
        "commits": [] if deleted else [commit],
        "head_commit": None if deleted else commit,
        "repository": {
            "id": 4242,
            "name": "shop",
            "full_name": "acme/shop",
            "private": True,
            "html_url": clone.removesuffix(".git"),
            "clone_url": clone,
            "git_url": clone.replace("http://", "git://"),
            "ssh_url": "git@127.0.0.1:acme/shop.git",
            "default_branch": "main",
        },
        "pusher": {"name": "kim", "email": "kim@example.com"},
        "sender": {"login": "kim", "id": 7},
    }


def _deliver(client: TestClient, payload: dict[str, Any], delivery_id: str) -> dict[str, Any]:
    body, headers = signed_delivery(payload, secret=HOOK_SECRET, delivery_id=delivery_id)
    response = client.post("/hooks/github", content=body, headers=headers)
    assert response.status_code in (200, 202), response.text
    return response.json()  # type: ignore[no-any-return]


def _runs(app: FastAPI) -> list[PipelineRun]:
    with session_scope(app.state.session_factory) as session:
        runs = list(session.scalars(select(PipelineRun).order_by(PipelineRun.number)))
        session.expunge_all()
        return runs


def test_a_real_push_runs_the_pipeline_once_on_the_local_engine(
    client: TestClient,
    app: FastAPI,
    admin: dict[str, str],
    git_server: GitHttpServer,
    system_pipeline: SystemPipeline,
    tmp_path: Path,
) -> None:
    add_github(
        client, admin, base_url="https://ghe.example.com/api/v3"
    )  # its webhook secret signs deliveries
    _, pipeline_id = system_pipeline("shop", git_server.url_for("shop"), stages=STAGES)
    before, after = _push_a_commit(git_server, tmp_path / "work")
    delivery = str(uuid.uuid4())

    first = _deliver(
        client, _payload(git_server, ref="refs/heads/main", before=before, after=after), delivery
    )

    runs = _runs(app)
    assert len(runs) == 1
    run = runs[0]
    assert (run.pipeline_id, run.trigger, run.actor, run.ref, run.engine) == (
        pipeline_id,
        "push",
        "kim",
        "main",
        "local",
    )
    assert (run.commit_before, run.commit_after) == (before, after)
    assert run.state == "succeeded", run.reason
    with session_scope(app.state.session_factory) as session:
        log = "".join(iter_log(session, run_id=run.id))
        stages = session.execute(select(StageRun.name, StageRun.state).order_by(StageRun.index)).all()
    assert [tuple(s) for s in stages] == [("checkout", "succeeded"), ("unit-tests", "succeeded")]
    assert f"checked out {after}" in log
    assert "test_pushed_commit_is_checked_out (test_pushed.PushedTest" in log and "... ok" in log
    assert "Ran 3 tests" in log and "테스트 완료: 한글 출력" in log

    again = _deliver(
        client, _payload(git_server, ref="refs/heads/main", before=before, after=after), delivery
    )
    assert again["duplicate"] is True and again["id"] == first["id"]
    other = _deliver(
        client, _payload(git_server, ref="refs/heads/feature/x", before=before, after=after), "d-2"
    )
    gone = _deliver(
        client, _payload(git_server, ref="refs/heads/main", before=after, after="0" * 40, deleted=True), "d-3"
    )
    assert other["duplicate"] is False and gone["duplicate"] is False
    assert [r.id for r in _runs(app)] == [run.id]  # redelivery, another branch, a deletion: nothing new
