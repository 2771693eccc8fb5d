"""Tests for the safe repository file listing, the scanners' view of it and safe reading."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.analysis._git_fixture import commit_all, write_tree
from timbel.analysis import _fs
from timbel.analysis._fs import read_text
from timbel.analysis.files import (
    DEFAULT_MAX_PARSE_BYTES,
    FileKind,
    RepoFile,
    TooManyFilesError,
    list_files,
    scan_paths,
    walk,
)


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


class TestScannerView:
    def test_walk_is_the_listing_without_dependency_dirs_links_or_huge_files(self, tmp_path: Path) -> None:
        write_tree(
            tmp_path,
            {
                "package.json": "{}",
                "node_modules/left-pad/package.json": "{}",
                "src/vendor/x.go": "package x\n",
                "huge.sql": "x" * (DEFAULT_MAX_PARSE_BYTES + 1),
            },
        )
        os.symlink(tmp_path / "package.json", tmp_path / "link.json")

        assert walk(tmp_path) == ["package.json"] == scan_paths(list_files(tmp_path))
        assert _fs.walk is walk  # one implementation, re-exported for the scanners

    def test_walk_follows_git_when_there_is_a_repository(self, tmp_path: Path) -> None:
        write_tree(tmp_path, {"go.mod": "module x\n"})
        commit_all(tmp_path)
        write_tree(tmp_path, {"untracked/go.mod": "module y\n"})

        assert walk(tmp_path) == ["go.mod"]


class TestReadText:
    def test_reads_text_within_the_limit(self, tmp_path: Path) -> None:
        write_tree(tmp_path, {"a/ok.txt": "héllo\n", "edge.txt": "x" * DEFAULT_MAX_PARSE_BYTES})
        assert read_text(tmp_path, "a/ok.txt") == "héllo\n"
        assert read_text(tmp_path, "edge.txt") is not None

    def test_refuses_oversized_binary_and_minified_files(self, tmp_path: Path) -> None:
        write_tree(
            tmp_path,
            {
                "big.txt": "x" * (DEFAULT_MAX_PARSE_BYTES + 1),
                "blob.bin": b"PK\x03\x04\x00rest",
                "app.min.js": "var a=1;",
            },
        )
        assert [read_text(tmp_path, n) for n in ("big.txt", "blob.bin", "app.min.js", "missing")] == [
            None
        ] * 4
        assert read_text(tmp_path, "big.txt", max_bytes=DEFAULT_MAX_PARSE_BYTES + 1) is not None

    def test_refuses_symlinks_and_paths_leaving_the_tree(self, tmp_path: Path) -> None:
        outside = tmp_path / "outside"
        write_tree(outside, {"secret.txt": "secret"})
        repo = tmp_path / "repo"
        write_tree(repo, {"in.txt": "in"})
        os.symlink(outside / "secret.txt", repo / "leak.txt")
        os.symlink(outside, repo / "leakdir")
        os.symlink(repo / "in.txt", repo / "inner-link.txt")

        for rel in ("leak.txt", "leakdir/secret.txt", "inner-link.txt", "../outside/secret.txt"):
            assert read_text(repo, rel) is None, rel
