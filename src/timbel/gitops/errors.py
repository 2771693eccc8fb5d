"""Errors of the GitOps repository library, on the shared hierarchy of ``core/errors.py``."""

from __future__ import annotations

from collections.abc import Iterable

from timbel.core.errors import Conflict, IntegrationError


class GitOpsError(IntegrationError):
    """git failed on the GitOps repository (unreachable, refused, bad URL); the message is secret-free."""

    code = "gitops-error"
    title = "GitOps repository error"


class GitOpsBusy(GitOpsError):
    """Another operation held the repository lock for longer than the wait allowed."""

    status = 503
    code = "gitops-busy"
    title = "GitOps repository busy"


class PushFailed(GitOpsError):
    """The remote did not accept the push; the local commit is kept for a retry."""

    code = "gitops-push-failed"
    title = "GitOps push failed"

    def __init__(self, remote_message: str) -> None:
        super().__init__(f"the GitOps repository refused the push: {remote_message}")
        self.remote_message = remote_message


class RebaseConflict(PushFailed):
    """Rebasing the local commit onto the remote branch conflicted; the rebase was aborted."""

    code = "gitops-rebase-conflict"
    title = "GitOps rebase conflict"

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = tuple(sorted(set(paths)))
        listed = ", ".join(self.paths) or "unknown files"
        super().__init__(f"the remote branch changed the same lines in {listed}; rebase aborted")


class HandEditConflict(Conflict):
    """Files Timbel would change were edited by hand since Timbel last wrote them (or never were Timbel's)."""

    code = "gitops-hand-edit"
    title = "GitOps files edited by hand"

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = tuple(sorted(set(paths)))
        super().__init__(
            "these files were edited outside Timbel; confirm to overwrite them: " + ", ".join(self.paths)
        )
