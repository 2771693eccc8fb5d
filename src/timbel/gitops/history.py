"""The GitOps repository's history: commits per folder (system, environment) and the diff of one commit."""

from __future__ import annotations

import re

from timbel.core.errors import NotFound
from timbel.gitops.commits import check_path
from timbel.gitops.records import CommitInfo, read_commits
from timbel.gitops.repo import GitOpsRepo, operation
from timbel.gitops.sync import fetch

_SHA = re.compile(r"^[0-9a-fA-F]{4,64}$")
MAX_DIFF_BYTES = 512 * 1024


def log(
    repo: GitOpsRepo, *, path_prefix: str | None = None, limit: int = 50, refresh: bool = True
) -> list[CommitInfo]:
    """The remote branch's commits, newest first, optionally only those touching ``path_prefix``.

    ``refresh`` fetches first; commits not pushed yet are not shown.
    """
    if not 1 <= limit <= 1000:
        raise ValueError("limit must be between 1 and 1000")
    paths = [check_path(path_prefix.strip("/"))] if path_prefix else None
    with operation(repo):
        if refresh:
            fetch(repo)
        if repo.remote_head() is None:
            return []
        return read_commits(repo, revisions=[repo.remote_ref], paths=paths, limit=limit)


def show_diff(repo: GitOpsRepo, sha: str, *, max_bytes: int = MAX_DIFF_BYTES) -> str:
    """The commit's header and unified diff as text, cut at ``max_bytes`` with a note when longer."""
    if not _SHA.match(sha):
        raise NotFound(f"{sha!r} is not a commit id")
    with operation(repo):
        found = repo.git(["rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}"], check=False)
        if found.returncode != 0:
            raise NotFound(f"no commit {sha} in the GitOps repository")
        full = found.stdout.strip()
        args = ["show", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "--format=fuller"]
        args += ["--patch", "--stat", full, "--"]
        result = repo.git(args, max_output=max_bytes)
    text = result.stdout
    if len(text.encode()) > max_bytes:
        text = text.encode()[:max_bytes].decode("utf-8", "ignore")
        text = text[: text.rfind("\n") + 1] + f"\n... diff cut at {max_bytes} bytes ...\n"
    return text
