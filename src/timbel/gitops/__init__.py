"""The GitOps repository: a private working clone, commits that name who and why, safe pushes, history.

A pure library (no database): the deployment flows decide what to write and record the results.
"""

from timbel.gitops.commits import CommitMessage, CommitResult, check_path, commit_files, hand_edited
from timbel.gitops.errors import GitOpsBusy, GitOpsError, HandEditConflict, PushFailed, RebaseConflict
from timbel.gitops.history import log, show_diff
from timbel.gitops.layout import README, ensure_layout, layout_files
from timbel.gitops.push import PushResult, push
from timbel.gitops.records import CommitInfo
from timbel.gitops.repo import GitOpsRepo, Identity, discard_local, ensure_embedded, open_repo, unpushed
from timbel.gitops.runner import RepoCredentials

__all__ = [
    "README",
    "CommitInfo",
    "CommitMessage",
    "CommitResult",
    "GitOpsBusy",
    "GitOpsError",
    "GitOpsRepo",
    "HandEditConflict",
    "Identity",
    "PushFailed",
    "PushResult",
    "RebaseConflict",
    "RepoCredentials",
    "check_path",
    "commit_files",
    "discard_local",
    "ensure_embedded",
    "ensure_layout",
    "hand_edited",
    "layout_files",
    "log",
    "open_repo",
    "push",
    "show_diff",
    "unpushed",
]
