"""Hand edits in the GitOps repository are respected: refused without confirmation, overwritten with it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.gitops.conftest import HEADER, Remote, git, hand_commit, message, remote_file
from timbel.gitops import (
    GitOpsError,
    HandEditConflict,
    commit_files,
    discard_local,
    ensure_layout,
    open_repo,
    push,
    unpushed,
)
from timbel.gitops.repo import GitOpsRepo

VALUES = "acme/shop/envs/dev/values.yaml"
APP = "acme/shop/argocd/dev.yaml"


def timbel_wrote(remote: Remote, cache: Path) -> GitOpsRepo:
    """Open the remote, create the layout and let Timbel write and push two files."""
    repo = open_repo(url=remote.url, cache_dir=cache, credentials=None)
    ensure_layout(repo, message=message("Create GitOps layout", op="op-layout"))
    files = {VALUES: HEADER + "replicas: 1\n", APP: HEADER + "kind: Application\n"}
    commit_files(repo, files=files, message=message("Add shop"))
    push(repo)
    return repo


class TestHandEditedFiles:
    def test_refused_then_overwritten_with_confirmation(self, remote: Remote, tmp_path: Path) -> None:
        timbel_wrote(remote, tmp_path / "first")
        hand_commit(remote.url, tmp_path / "person", {VALUES: HEADER + "replicas: 5  # hotfix\n"})
        repo = open_repo(url=remote.url, cache_dir=tmp_path / "cache", credentials=None)
        head = repo.head()
        files = {VALUES: HEADER + "replicas: 2\n", APP: HEADER + "kind: Application\nsync: auto\n"}

        with pytest.raises(HandEditConflict) as info:
            commit_files(repo, files=files, message=message("Scale", op="op-2"))

        assert info.value.paths == (VALUES,)
        assert VALUES in str(info.value)
        assert repo.head() == head and git(repo.path, "status", "--porcelain") == ""  # nothing written

        result = commit_files(
            repo, files=files, message=message("Scale", op="op-2"), allow_overwrite_hand_edits=True
        )
        push(repo)
        assert result.written == (APP, VALUES)
        assert remote_file(remote.bare, VALUES) == HEADER + "replicas: 2\n"
        # Timbel wrote it last again: the next change needs no confirmation.
        commit_files(repo, files={VALUES: HEADER + "replicas: 3\n"}, message=message("Scale", op="op-3"))

    def test_files_not_written_by_timbel_are_not_ours(self, remote: Remote, tmp_path: Path) -> None:
        timbel_wrote(remote, tmp_path / "first")
        copied = (
            "acme/shop/envs/dev/copied.yaml"  # a person copied the header, but did not let Timbel write it
        )
        plain = "acme/shop/envs/dev/extra.yaml"
        hand_commit(remote.url, tmp_path / "person", {copied: HEADER + "a: 1\n", plain: "b: 2\n"})
        repo = open_repo(url=remote.url, cache_dir=tmp_path / "cache", credentials=None)

        with pytest.raises(HandEditConflict) as info:
            commit_files(
                repo, files={copied: HEADER + "a: 2\n", plain: HEADER + "b: 3\n"}, message=message("x")
            )

        assert info.value.paths == (copied, plain)

    def test_a_header_removed_by_a_timbel_commit_still_needs_confirmation(
        self, remote: Remote, tmp_path: Path
    ) -> None:
        repo = timbel_wrote(remote, tmp_path / "cache")
        commit_files(
            repo, files={VALUES: "no header\n"}, message=message("odd"), allow_overwrite_hand_edits=True
        )

        with pytest.raises(HandEditConflict):
            commit_files(repo, files={VALUES: HEADER + "replicas: 2\n"}, message=message("Scale"))

    def test_unlisted_files_are_never_touched(self, remote: Remote, tmp_path: Path) -> None:
        timbel_wrote(remote, tmp_path / "first")
        hand_commit(
            remote.url, tmp_path / "person", {"docs/runbook.md": "# 런북\n", "acme/shop/notes.txt": "n\n"}
        )
        repo = open_repo(url=remote.url, cache_dir=tmp_path / "cache", credentials=None)

        commit_files(repo, files={VALUES: HEADER + "replicas: 2\n"}, delete=[APP], message=message("Change"))
        push(repo)

        assert remote_file(remote.bare, "docs/runbook.md") == "# 런북\n"
        assert remote_file(remote.bare, "acme/shop/notes.txt") == "n\n"
        assert git(remote.bare, "ls-tree", "-r", "--name-only", "main").splitlines() == [
            "README.md", "acme/shop/envs/dev/values.yaml", "acme/shop/notes.txt", "docs/runbook.md",
        ]  # fmt: skip
        with pytest.raises(HandEditConflict):
            commit_files(repo, files={}, delete=["docs/runbook.md"], message=message("Remove"))

    def test_deleting_own_files_and_missing_ones(self, remote: Remote, tmp_path: Path) -> None:
        repo = timbel_wrote(remote, tmp_path / "cache")

        result = commit_files(repo, files={}, delete=[APP, "acme/gone.yaml"], message=message("Remove app"))

        assert result.deleted == (APP,) and result.written == ()
        assert not (repo.path / APP).exists()

    def test_owned_narrows_what_counts_as_timbels(self, remote: Remote, tmp_path: Path) -> None:
        repo = timbel_wrote(remote, tmp_path / "cache")
        files = {VALUES: HEADER + "replicas: 2\n", APP: HEADER + "kind: Application\nx: 1\n"}

        with pytest.raises(HandEditConflict) as info:
            commit_files(repo, files=files, message=message("Change"), owned={VALUES})

        assert info.value.paths == (APP,)
        assert commit_files(repo, files=files, message=message("Change"), owned={VALUES, APP}).committed

    def test_a_hand_edit_arriving_before_the_push_is_refused(self, remote: Remote, tmp_path: Path) -> None:
        repo = timbel_wrote(remote, tmp_path / "cache")
        ours = commit_files(
            repo, files={VALUES: HEADER + "replicas: 2\n"}, message=message("Scale", op="op-2")
        )
        hand_commit(remote.url, tmp_path / "person", {VALUES: HEADER + "replicas: 9\n"})

        with pytest.raises(HandEditConflict) as info:
            push(repo)

        assert info.value.paths == (VALUES,)
        assert unpushed(repo) == [ours.sha]
        # A later request opens the clone again: it opens, keeps the commit and still refuses to push it.
        repo = open_repo(url=remote.url, cache_dir=tmp_path / "cache", credentials=None)
        assert unpushed(repo) == [ours.sha]
        with pytest.raises(HandEditConflict):
            push(repo)
        # Confirmed retry: drop the local commit, reopen, write over the hand edit, push.
        discard_local(repo)
        repo = open_repo(url=remote.url, cache_dir=tmp_path / "cache", credentials=None)
        commit_files(
            repo,
            files={VALUES: HEADER + "replicas: 2\n"},
            message=message("Scale"),
            allow_overwrite_hand_edits=True,
        )
        assert push(repo).pushed
        assert remote_file(remote.bare, VALUES) == HEADER + "replicas: 2\n"


class TestUnsafePaths:
    @pytest.mark.parametrize(
        "path",
        [
            "../escape.yaml",
            "/etc/passwd",
            "a//b.yaml",
            ".git/config",
            "a/.GIT/x",
            "a/./b",
            "",
            "-x",
            "a b",
            "a/",
        ],
    )
    def test_bad_paths_are_refused(self, remote: Remote, tmp_path: Path, path: str) -> None:
        repo = open_repo(url=remote.url, cache_dir=tmp_path, credentials=None)
        with pytest.raises(GitOpsError):
            commit_files(repo, files={path: HEADER}, message=message("x"))
        with pytest.raises(GitOpsError):
            commit_files(repo, files={}, delete=[path], message=message("x"))

    def test_a_symlink_in_the_repository_is_never_followed(self, remote: Remote, tmp_path: Path) -> None:
        outside = tmp_path / "outside"
        outside.mkdir()
        person = tmp_path / "person"
        git(None, "clone", "-q", remote.url, str(person))
        os.symlink(outside, person / "acme")
        git(person, "add", "-A")
        git(person, "commit", "-q", "-m", "symlink")
        git(person, "push", "-q", "origin", "HEAD:main")
        repo = open_repo(url=remote.url, cache_dir=tmp_path / "cache", credentials=None)

        with pytest.raises(GitOpsError, match="symlink"):
            commit_files(repo, files={VALUES: HEADER}, message=message("x"), allow_overwrite_hand_edits=True)

        assert list(outside.iterdir()) == []
