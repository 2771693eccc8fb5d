"""Catch the working clone up with the remote branch: fetch, then fast-forward or rebase local commits.

Why the hand-edit check here: Timbel's local commits were checked against the clone's history when they were
made; commits that arrive with the fetch were not. A commit made outside Timbel that touches a file Timbel is
about to push is a hand edit Timbel must not silently rebase over.
"""

from __future__ import annotations

from timbel.gitops.errors import GitOpsError, HandEditConflict, RebaseConflict
from timbel.gitops.records import read_commits
from timbel.gitops.repo import GitOpsRepo, discard_uncommitted


def fetch(repo: GitOpsRepo) -> bool:
    """Fetch the remote branch; False when the remote has no such branch (an empty repository)."""
    refspec = f"+refs/heads/{repo.branch}:{repo.remote_ref}"
    result = repo.git(
        ["fetch", "-q", "--no-tags", "--no-recurse-submodules", "origin", refspec], remote=True, check=False
    )
    if result.returncode == 0:
        return True
    if "couldn't find remote ref" in result.stderr:
        if repo.remote_head() is not None:
            repo.git(["update-ref", "-d", repo.remote_ref])
        return False
    raise GitOpsError(f"git fetch failed: {result.stderr.strip() or 'no message'}")


def catch_up(repo: GitOpsRepo, *, allow_overwrite_hand_edits: bool) -> bool:
    """Fetch and bring the local branch onto the remote one; True when local commits were rebased."""
    fetch(repo)
    remote = repo.remote_head()
    if remote is None:
        return False
    head = repo.head()
    if head is None:
        repo.git(["checkout", "-q", "-B", repo.branch, remote])
        return False
    if head == remote or _is_ancestor(repo, remote, head):
        return False
    if _is_ancestor(repo, head, remote):
        repo.git(["reset", "-q", "--hard", remote])
        return False
    if not allow_overwrite_hand_edits:
        _refuse_incoming_hand_edits(repo)
    result = repo.git(["rebase", "-q", "--no-autostash", repo.remote_ref], check=False)
    if result.returncode != 0:
        conflicted = repo.git(["diff", "--name-only", "--diff-filter=U"], check=False).stdout.split()
        repo.git(["rebase", "--abort"], check=False)
        discard_uncommitted(repo)
        raise RebaseConflict(conflicted)
    return True


def _refuse_incoming_hand_edits(repo: GitOpsRepo) -> None:
    """Raise ``HandEditConflict`` when a fetched commit not by Timbel touches a file of our local commits."""
    ours = {name for c in read_commits(repo, revisions=["HEAD", f"^{repo.remote_ref}"]) for name in c.files}
    incoming = read_commits(repo, revisions=[repo.remote_ref, "^HEAD"])
    touched = {name for c in incoming if not c.by_timbel for name in c.files if name in ours}
    if touched:
        raise HandEditConflict(touched)


def _is_ancestor(repo: GitOpsRepo, ancestor: str, descendant: str) -> bool:
    result = repo.git(["merge-base", "--is-ancestor", ancestor, descendant], check=False)
    if result.returncode not in (0, 1):
        raise GitOpsError(f"git merge-base failed: {result.stderr.strip()}")
    return result.returncode == 0
