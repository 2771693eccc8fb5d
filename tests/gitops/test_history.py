"""History per system/environment and the diff of one commit, read from a real remote."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.gitops.conftest import HEADER, Remote, git, hand_commit, message
from timbel.core.errors import NotFound
from timbel.gitops import commit_files, ensure_layout, log, open_repo, push, show_diff
from timbel.gitops.records import parse_message
from timbel.gitops.repo import GitOpsRepo

DEV = "acme/shop/envs/dev/values.yaml"
STG = "acme/shop/envs/stg/values.yaml"


def history(remote: Remote, tmp_path: Path) -> GitOpsRepo:
    """Layout, dev (op-1), stg (op-2), dev again (op-3, by bob), then a hand edit of dev; all pushed."""
    repo = open_repo(url=remote.url, cache_dir=tmp_path / "cache", credentials=None)
    ensure_layout(repo, message=message("Create GitOps layout", op="op-layout"))
    commit_files(repo, files={DEV: HEADER + "replicas: 1\n"}, message=message("Add shop to dev", op="op-1"))
    commit_files(repo, files={STG: HEADER + "replicas: 2\n"}, message=message("Add shop to stg", op="op-2"))
    commit_files(
        repo,
        files={DEV: HEADER + "replicas: 2\n"},
        message=message("Scale shop in dev", op="op-3", who="bob", why="load test\nneeds two pods"),
    )
    push(repo)
    hand_commit(remote.url, tmp_path / "person", {DEV: HEADER + "replicas: 3\n"}, message="hotfix replicas")
    return repo


class TestLog:
    def test_log_filtered_by_environment_folder(self, remote: Remote, tmp_path: Path) -> None:
        repo = history(remote, tmp_path)

        commits = log(repo, path_prefix="acme/shop/envs/dev")

        assert [c.subject for c in commits] == ["hotfix replicas", "Scale shop in dev", "Add shop to dev"]
        hand, scale, add = commits
        assert (hand.who, hand.operation_id, hand.by_timbel) == (None, None, False)
        assert hand.author == "Kim Operator <kim@example.invalid>"
        assert (scale.who, scale.operation_id, scale.by_timbel) == ("bob", "op-3", True)
        assert scale.body == "load test\nneeds two pods"
        assert scale.author == "Timbel <timbel@localhost>"
        assert scale.files == (DEV,) and add.files == (DEV,)
        assert isinstance(add.date, datetime) and add.date.tzinfo is not None
        assert len(scale.sha) == 40 and scale.sha == git(remote.bare, "rev-parse", "main~1")

    def test_whole_repository_limit_and_trailing_slash(self, remote: Remote, tmp_path: Path) -> None:
        repo = history(remote, tmp_path)

        assert len(log(repo)) == 5
        assert [c.operation_id for c in log(repo, limit=2)] == [None, "op-3"]
        assert [c.operation_id for c in log(repo, path_prefix="acme/shop/envs/stg/")] == ["op-2"]
        assert log(repo, path_prefix="other/system") == []
        oldest = log(repo, path_prefix="acme/shop")[-1]
        assert (oldest.subject, oldest.files) == ("Add shop to dev", (DEV,))

    def test_unpushed_commits_are_not_history_yet(self, remote: Remote, tmp_path: Path) -> None:
        repo = open_repo(url=remote.url, cache_dir=tmp_path, credentials=None)
        assert log(repo) == []
        commit_files(repo, files={DEV: HEADER}, message=message("Add"))
        assert log(repo) == []
        push(repo)
        assert [c.subject for c in log(repo)] == ["Add"]

    def test_bad_arguments(self, remote: Remote, tmp_path: Path) -> None:
        repo = open_repo(url=remote.url, cache_dir=tmp_path, credentials=None)
        with pytest.raises(ValueError, match="limit"):
            log(repo, limit=0)
        with pytest.raises(Exception, match="not a valid path"):
            log(repo, path_prefix="../x")


class TestShowDiff:
    def test_unified_diff_of_one_commit(self, remote: Remote, tmp_path: Path) -> None:
        repo = history(remote, tmp_path)
        scale = log(repo, path_prefix="acme/shop/envs/dev")[1]

        diff = show_diff(repo, scale.sha[:10])

        assert diff.startswith(f"commit {scale.sha}\n")
        assert "Timbel-Operation: op-3" in diff
        assert f"diff --git a/{DEV} b/{DEV}" in diff
        assert "-replicas: 1\n+replicas: 2\n" in diff
        assert STG not in diff

    def test_size_bounded(self, remote: Remote, tmp_path: Path) -> None:
        repo = open_repo(url=remote.url, cache_dir=tmp_path, credentials=None)
        big = HEADER + "".join(f"line: {i}\n" for i in range(20_000))
        sha = commit_files(repo, files={DEV: big}, message=message("Big")).sha
        assert sha is not None

        diff = show_diff(repo, sha, max_bytes=4096)

        assert len(diff.encode()) < 4200
        assert diff.endswith("... diff cut at 4096 bytes ...\n")
        assert len(show_diff(repo, sha).encode()) > 200_000

    @pytest.mark.parametrize("sha", ["zzzz", "--output=/tmp/x", "0" * 40, "HEAD"])
    def test_unknown_commits(self, remote: Remote, tmp_path: Path, sha: str) -> None:
        repo = open_repo(url=remote.url, cache_dir=tmp_path, credentials=None)
        with pytest.raises(NotFound):
            show_diff(repo, sha)


class TestParseMessage:
    def test_timbel_message(self) -> None:
        text = message("What", why="Why\n\nmore why").render()
        assert parse_message(text) == (
            "What",
            "Why\n\nmore why",
            {"Requested-by": "alice", "Timbel-Operation": "op-1"},
        )

    def test_a_one_paragraph_message_has_no_trailers(self) -> None:
        assert parse_message("Fix: typo\n") == ("Fix: typo", "", {})

    def test_a_last_paragraph_with_prose_is_body(self) -> None:
        assert parse_message("Subject\n\nTimbel-Operation: x\nand some prose") == (
            "Subject",
            "Timbel-Operation: x\nand some prose",
            {},
        )
