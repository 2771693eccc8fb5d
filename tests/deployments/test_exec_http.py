"""Deployments committing to a GitOps repository served over smart HTTP (git http-backend on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deployments._exec_support import GOLDEN_VALUES, World, git, world_fixture  # noqa: F401
from tests.gitops.conftest import allow_pushes, make_bare, refuse_pushes
from tests.servers.git_http import GitHttpServer, start_git_http
from timbel.catalog.models import System
from timbel.core.db import session_scope
from timbel.deployments.models import Release
from timbel.gitops.models import GitOpsRepository, GitOpsTarget


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHttpServer]:
    server = start_git_http(tmp_path_factory.mktemp("exec-git-http"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def remote(world: World, http_server: GitHttpServer, request: pytest.FixtureRequest) -> Path:
    """A bare GitOps repository on the HTTP server holding acme's dev environment."""
    name = f"gitops-{request.node.name[:40]}"
    bare = make_bare(http_server.root, name)
    with session_scope(world.factory) as session:
        row = GitOpsRepository(name="company", url=http_server.url_for(name), branch="main")
        session.add(row)
        session.flush()
        session.add(GitOpsTarget(domain_id=world.domain_id, env="dev", repository_id=row.id))
    return bare


def source_repo(world: World, server: GitHttpServer, tmp_path: Path) -> list[str]:
    """A source repository with three commits, served over HTTP; releases v1..v3 point at them."""
    work = tmp_path / "src"
    git("init", "-q", "-b", "main", str(work))
    shas = []
    for n in (1, 2, 3):
        (work / "app.txt").write_text(f"{n}\n")
        git("add", "app.txt", cwd=work)
        git("commit", "-q", "-m", f"Change {n}", cwd=work)
        shas.append(git("rev-parse", "HEAD", cwd=work).strip())
    server.add_repo("shop-src", work)
    world.settings.analysis.allowed_hosts = ("127.0.0.1",)
    with session_scope(world.factory) as session:
        session.get(System, world.system_id).repo_url = server.url_for("shop-src")
        for n, sha in enumerate(shas, 1):
            session.get(Release, world.releases[f"v{n}"]).source_commit = sha
    return shas


class TestOverHttp:
    def test_the_commit_lands_on_the_served_repository_with_a_readable_message(
        self, world: World, remote: Path, http_server: GitHttpServer, tmp_path: Path
    ) -> None:
        shas = source_repo(world, http_server, tmp_path)
        world.seed_values("dev", GOLDEN_VALUES.read_text())
        first = world.deploy("dev", "v1")
        assert world.run(first)["state"] == "succeeded"
        second = world.deploy("dev", "v3", reason="release train 12")
        assert world.run(second)["state"] == "succeeded"
        row = world.get(second)
        assert row.gitops_repository == "company"
        assert git("rev-parse", "main", cwd=remote).strip() == row.gitops_sha
        message = git("log", "-1", "--format=%B", "main", cwd=remote)
        assert message.splitlines()[0] == "Deploy shop v3 to dev"
        assert "release train 12" in message and "Replaces v1" in message
        diff = git("show", "--format=", "main", "--", "acme/shop/envs/dev/values.yaml", cwd=remote)
        changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
        assert changed == [
            '-      tag: "1.1.0"', '+      tag: "1.3.0"', '-      tag: "1.1.0"', '+      tag: "1.3.0"',
        ]  # fmt: skip
        assert [c["sha"] for c in row.commits] == [shas[2], shas[1]]
        assert [c["subject"] for c in row.commits] == ["Change 3", "Change 2"]
        assert "source commits not recorded" not in row.outcome

    def test_a_refused_push_fails_with_the_remotes_words_and_leaves_no_commit_behind(
        self, world: World, remote: Path
    ) -> None:
        world.seed_values("dev", GOLDEN_VALUES.read_text())
        refuse_pushes(remote, "pushes are frozen for the audit")
        result = world.run(world.deploy("dev", "v2"))
        assert result["state"] == "failed"
        assert "the GitOps repository refused the push" in result["why"]
        assert "pushes are frozen for the audit" in result["why"]
        allow_pushes(remote)
        later = world.deploy("dev", "v3")
        assert world.run(later)["state"] == "succeeded"
        subjects = git("log", "--format=%s", "main", cwd=remote).splitlines()
        assert subjects == ["Deploy shop v3 to dev", "Scaffold shop"]  # the refused v2 commit never went out

    def test_a_hand_edited_values_file_is_not_overwritten(
        self, world: World, remote: Path, tmp_path: Path
    ) -> None:
        world.seed_values("dev", GOLDEN_VALUES.read_text())
        assert world.run(world.deploy("dev", "v1"))["state"] == "succeeded"  # a good release to go back to
        from tests.gitops.conftest import hand_commit

        hand_commit(
            world.gitops_url(),
            tmp_path / "person",
            {
                "acme/shop/envs/dev/values.yaml": GOLDEN_VALUES.read_text().replace(
                    "replicas: 1", "replicas: 4"
                )
            },
        )
        result = world.run(world.deploy("dev", "v2"))
        assert result["state"] == "failed"  # nothing was committed, so there is nothing to roll back
        assert "edited outside Timbel" in result["why"] and "acme/shop/envs/dev/values.yaml" in result["why"]
