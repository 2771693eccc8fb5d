"""Push local commits to the remote branch, rebasing and retrying when someone pushed first; never force.

Why rebase and not merge: the GitOps history is read by people and by Argo CD; a straight line of commits,
each naming who and why, is what an operator wants to scan. A rejected push (the remote moved on) is
expected under concurrency, so it is retried a few times; any other refusal is final and reported with the
remote's own message. A commit that could not be pushed stays in the working clone for the next attempt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from timbel.gitops.errors import PushFailed
from timbel.gitops.repo import GitOpsRepo, operation, unpushed
from timbel.gitops.runner import GitResult
from timbel.gitops.sync import catch_up

_RETRYABLE = ("(fetch first)", "(non-fast-forward)", "cannot lock ref", "failed to update ref")


@dataclass(frozen=True)
class PushResult:
    """The commit the remote branch now points at, how many push attempts it took, and whether we rebased."""

    sha: str | None
    pushed: bool
    attempts: int
    rebased: bool


def push(repo: GitOpsRepo, *, attempts: int = 5, allow_overwrite_hand_edits: bool = False) -> PushResult:
    """Push the branch; on a non-fast-forward rejection fetch, rebase and retry up to ``attempts`` times.

    Raises ``PushFailed`` with the remote's message (local commits kept), ``RebaseConflict`` when the
    rebase conflicts (aborted, local commits kept) and ``HandEditConflict`` when fetched commits made
    outside Timbel touch the files being pushed.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    rebased = False
    with operation(repo):
        for attempt in range(1, attempts + 1):
            if not unpushed(repo):
                return PushResult(repo.head(), pushed=False, attempts=attempt - 1, rebased=rebased)
            refspec = f"HEAD:refs/heads/{repo.branch}"
            result = repo.git(
                ["push", "--porcelain", "--no-verify", "origin", refspec], remote=True, check=False
            )
            if result.returncode == 0:
                repo.git(["update-ref", repo.remote_ref, "HEAD"])
                return PushResult(repo.head(), pushed=True, attempts=attempt, rebased=rebased)
            message = remote_message(result)
            if attempt == attempts or not any(
                marker in result.stdout + result.stderr for marker in _RETRYABLE
            ):
                raise PushFailed(message)
            time.sleep(0.05 * attempt)
            rebased = catch_up(repo, allow_overwrite_hand_edits=allow_overwrite_hand_edits) or rebased
    raise AssertionError("unreachable")  # pragma: no cover


def remote_message(result: GitResult) -> str:
    """The useful part of a failed push: the remote's ``remote:`` lines, rejections and git's errors."""
    lines = []
    for line in (result.stderr + "\n" + result.stdout).splitlines():
        stripped = line.strip()
        if stripped.startswith(("remote:", "error:", "fatal:", "!")):
            lines.append(stripped.replace("\t", " "))
    return "\n".join(lines) or result.stderr.strip() or "no message"
