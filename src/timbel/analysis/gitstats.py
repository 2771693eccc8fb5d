"""Commit activity of a repository from a bounded ``git log``: recency, contributors, bus factor, churn.

Why: how alive a repository is and how many people know it matter before deploying it. Two ``git log``
calls with fixed argv (no pager, no external diff or textconv, fsmonitor off) read at most
``max_commits`` commits. A shallow clone has no history, so only its last commit time is given and
``shallow`` says why the rest is empty.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, Field

MAX_COMMITS = 200_000
WEEKS = 13
_GIT = ["git", "-c", "core.fsmonitor=false", "-c", "core.pager=cat", "-c", "log.showSignature=false"]
_RECORD = "\x1e"
_FIELD = "\x1f"
_TIMEOUT = 60.0


class WeekCount(BaseModel):
    """Commits in the week starting on ``week_start`` (a Monday, UTC)."""

    week_start: date
    commits: int


class GitStats(BaseModel):
    """The report's ``git`` section; every metric is None (or empty) for a non-git or shallow checkout."""

    is_git: bool = False
    shallow: bool = False
    commits_30d: int | None = None
    commits_90d: int | None = None
    contributors: int | None = None
    top_author_share: float | None = None
    first_commit: datetime | None = None
    last_commit: datetime | None = None
    weekly_commits: list[WeekCount] = Field(default_factory=list)
    lines_added_90d: int | None = None
    lines_deleted_90d: int | None = None
    truncated: bool = False


def _git(root: Path, *args: str) -> str | None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [*_GIT, "-C", str(root), *args],
            capture_output=True,
            env=env,
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", errors="replace")


def head_commit(root: Path) -> str | None:
    """Return the full SHA of HEAD when ``root`` is the top of a git work tree, else None."""
    if not (root / ".git").exists():
        return None
    out = _git(root, "rev-parse", "--verify", "-q", "HEAD")
    return out.strip() or None if out is not None else None


def current_branch(root: Path) -> str | None:
    """Return the checked-out branch name, or None (detached HEAD or not git)."""
    if not (root / ".git").exists():
        return None
    out = _git(root, "symbolic-ref", "-q", "--short", "HEAD")
    return out.strip() or None if out is not None else None


def _monday(moment: datetime) -> date:
    day = moment.date()
    return day - timedelta(days=day.weekday())


def git_stats(root: Path, *, now: datetime | None = None, max_commits: int = MAX_COMMITS) -> GitStats:
    """Compute commit activity of the git work tree at ``root`` as of ``now`` (UTC, default: current time)."""
    if head_commit(root) is None:
        return GitStats()
    now = now or datetime.now(UTC)
    shallow = (_git(root, "rev-parse", "--is-shallow-repository") or "").strip() == "true"
    fmt = f"--format={_RECORD}%at{_FIELD}%aE{_FIELD}%aN"
    log = _git(root, "log", "--no-color", f"--max-count={max_commits + 1}", fmt, "HEAD")
    if log is None:
        return GitStats(is_git=True, shallow=shallow)
    commits: list[tuple[datetime, str]] = []
    for record in log.split(_RECORD)[1:]:
        parts = record.strip().split(_FIELD)
        if len(parts) >= 2 and parts[0].isdigit():
            commits.append((datetime.fromtimestamp(int(parts[0]), UTC), (parts[1] or parts[-1]).lower()))
    if not commits:
        return GitStats(is_git=True, shallow=shallow)
    truncated = len(commits) > max_commits
    commits = commits[:max_commits]
    last = max(moment for moment, _ in commits)
    if shallow:
        return GitStats(is_git=True, shallow=True, last_commit=last)
    authors = Counter(author for _, author in commits)
    this_week = _monday(now)
    weeks = [this_week - timedelta(weeks=WEEKS - 1 - i) for i in range(WEEKS)]
    per_week = Counter(_monday(moment) for moment, _ in commits)
    added, deleted = _churn(root, now - timedelta(days=90), max_commits)
    return GitStats(
        is_git=True,
        commits_30d=sum(1 for moment, _ in commits if now - timedelta(days=30) <= moment <= now),
        commits_90d=sum(1 for moment, _ in commits if now - timedelta(days=90) <= moment <= now),
        contributors=len(authors),
        top_author_share=round(authors.most_common(1)[0][1] / len(commits), 4),
        first_commit=min(moment for moment, _ in commits),
        last_commit=last,
        weekly_commits=[WeekCount(week_start=week, commits=per_week.get(week, 0)) for week in weeks],
        lines_added_90d=added,
        lines_deleted_90d=deleted,
        truncated=truncated,
    )


def _churn(root: Path, since: datetime, max_commits: int) -> tuple[int | None, int | None]:
    """Sum ``--numstat`` lines added and deleted by non-merge commits since ``since``."""
    out = _git(
        root,
        "log",
        "--no-color",
        "--no-merges",
        "--no-renames",
        "--no-ext-diff",
        "--no-textconv",
        "--numstat",
        "--format=",
        f"--since={int(since.timestamp())}",
        f"--max-count={max_commits}",
        "HEAD",
    )
    if out is None:
        return None, None
    added = deleted = 0
    for line in out.splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():  # binary files show "-"
            added += int(parts[0])
            deleted += int(parts[1])
    return added, deleted
