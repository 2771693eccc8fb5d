"""Tests for the safe repository file listing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.analysis._git_fixture import commit_all, write_tree
from timbel.analysis.files import FileKind, RepoFile, TooManyFilesError, list_files


def by_path(files: list[RepoFile]) -> dict[str, RepoFile]:
    return {f.path: f for f in files}


class TestGitRepository:
    def test_lists_tracked_files_only_with_sizes(self, tmp_path: Path) -> None:
        write_tree(tmp_path, {"app.py": "print(1)\n", "pkg/mod.py": "x = 1\n", ".gitignore": "*.log\n"})
        commit_all(tmp_path)
        write_tree(tmp_path, {"debug.log": "noise", "untracked.py": "y = 2\n"})

        files = by_path(list_files(tmp_path))

        assert set(files) == {"app.py", "pkg/mod.py", ".gitignore"}
        assert files["app.py"].size == len("print(1)\n")
        assert files["app.py"].parseable

    def test_symlink_out_of_repository_is_reported_not_followed(self, tmp_path: Path) -> None:
        outside = tmp_path / "outside"
        write_tree(outside, {"secret.txt": "s" * 5000})
        repo = tmp_path / "repo"
        write_tree(repo, {"main.go": "package main\n"})
        os.symlink(outside / "secret.txt", repo / "leak.txt")
        os.symlink(outside, repo / "leakdir")
        commit_all(repo)

        files = by_path(list_files(repo))

        assert files["leak.txt"].kind is FileKind.SYMLINK
        assert files["leak.txt"].size == 0
        assert not files["leak.txt"].parseable
        assert files["leakdir"].kind is FileKind.SYMLINK
        assert not any(path.startswith("leakdir/") for path in files)

    def test_file_count_limit_raises_clear_error(self, tmp_path: Path) -> None:
        write_tree(tmp_path, {f"f{i}.py": "x\n" for i in range(5)})
        commit_all(tmp_path)

        with pytest.raises(TooManyFilesError, match="more than 3 files"):
            list_files(tmp_path, max_files=3)

    def test_large_files_are_marked_not_parseable(self, tmp_path: Path) -> None:
        write_tree(tmp_path, {"big.sql": "x" * 2000, "small.sql": "select 1;\n"})
        commit_all(tmp_path)

        files = by_path(list_files(tmp_path, max_parse_bytes=1000))

        assert files["big.sql"].too_large and not files["big.sql"].parseable
        assert files["big.sql"].size == 2000
        assert files["small.sql"].parseable


class TestPlainDirectory:
    def test_walks_without_git_and_skips_dot_git(self, tmp_path: Path) -> None:
        write_tree(tmp_path, {"a/b/c.rs": "fn main() {}\n", ".git/config": "[core]\n", "top.txt": "t"})

        files = by_path(list_files(tmp_path))

        assert set(files) == {"a/b/c.rs", "top.txt"}

    def test_symlinked_directory_is_not_descended(self, tmp_path: Path) -> None:
        outside = tmp_path / "outside"
        write_tree(outside, {"x.py": "x = 1\n"})
        repo = tmp_path / "repo"
        write_tree(repo, {"in.py": "y = 2\n"})
        os.symlink(outside, repo / "link")

        files = by_path(list_files(repo))

        assert set(files) == {"in.py", "link"}
        assert files["link"].kind is FileKind.SYMLINK

    def test_walk_respects_file_limit(self, tmp_path: Path) -> None:
        write_tree(tmp_path, {f"d{i}/f.txt": "x" for i in range(4)})

        with pytest.raises(TooManyFilesError):
            list_files(tmp_path, max_files=2)
