"""Commit activity from git history: windows, contributors, bus factor, weekly counts, churn, shallow."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

from tests.analysis._git_fixture import write_tree
from timbel.analysis.gitstats import git_stats, head_commit

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # a Wednesday


def _commit(root: Path, author: str, when: str, name: str, text: str) -> None:
    write_tree(root, {name: text})
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": f"{author.lower()}@example.invalid",
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": f"{author.lower()}@example.invalid",
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": "/nonexistent",
    }
    for argv in (["add", "-A"], ["commit", "-q", "-m", f"change {name}"]):
        subprocess.run(["git", "-c", "commit.gpgsign=false", *argv], cwd=root, env=env, check=True)


def _history(root: Path) -> Path:
    root.mkdir()
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q"], cwd=root, check=True)
    _commit(root, "Ana", "2025-01-15T10:00:00Z", "a.txt", "one\n")  # long ago
    _commit(root, "Ana", "2026-04-01T10:00:00Z", "b.txt", "1\n2\n3\n")  # 70 days before NOW
    _commit(root, "Ben", "2026-05-20T10:00:00Z", "a.txt", "uno\n")  # 21 days
    _commit(root, "Ana", "2026-06-09T10:00:00Z", "c.txt", "x\ny\n")  # yesterday
    return root


def test_windows_contributors_bus_factor_and_churn(tmp_path: Path) -> None:
    stats = git_stats(_history(tmp_path / "repo"), now=NOW)
    assert stats.is_git and not stats.shallow and not stats.truncated
    assert (stats.commits_30d, stats.commits_90d) == (2, 3)
    assert stats.contributors == 2
    assert stats.top_author_share == 0.75
    assert stats.first_commit == datetime(2025, 1, 15, 10, tzinfo=UTC)
    assert stats.last_commit == datetime(2026, 6, 9, 10, tzinfo=UTC)
    assert len(stats.weekly_commits) == 13
    assert stats.weekly_commits[-1].week_start == date(2026, 6, 8)
    assert stats.weekly_commits[-1].commits == 1
    assert sum(w.commits for w in stats.weekly_commits) == 3  # 2026-04-01 is within 13 weeks
    # 90 days: b.txt +3, a.txt +1 -1, c.txt +2
    assert (stats.lines_added_90d, stats.lines_deleted_90d) == (6, 1)


def test_shallow_clone_has_only_the_last_commit_time(tmp_path: Path) -> None:
    origin = _history(tmp_path / "origin")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{origin}", str(clone)],
        check=True,
        capture_output=True,
    )
    stats = git_stats(clone, now=NOW)
    assert stats.shallow and stats.is_git
    assert stats.last_commit == datetime(2026, 6, 9, 10, tzinfo=UTC)
    assert stats.commits_30d is None and stats.contributors is None and stats.weekly_commits == []


def test_non_git_directory_gives_empty_stats(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": "x = 1\n"})
    stats = git_stats(tmp_path, now=NOW)
    assert not stats.is_git and stats.commits_90d is None and stats.last_commit is None
    assert head_commit(tmp_path) is None


def test_history_is_bounded(tmp_path: Path) -> None:
    stats = git_stats(_history(tmp_path / "repo"), now=NOW, max_commits=2)
    assert stats.truncated and stats.contributors is not None
    assert stats.last_commit == datetime(2026, 6, 9, 10, tzinfo=UTC)
