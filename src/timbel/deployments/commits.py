"""The source commits a deployment brings: ``git log old..new`` in the local runner's cached bare mirror.

Why the runner's mirror: it is already there for pipeline runs (same URL guard, same lock, same token
rules), so listing commits costs a local ``git log`` and, only when a commit is missing, one fetch.
Failures raise ``IntegrationError`` with a message safe to show; callers decide to degrade.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy.orm import Session, sessionmaker

from timbel.catalog.models import System
from timbel.core.errors import IntegrationError
from timbel.core.settings import Settings
from timbel.gitops.errors import GitOpsError
from timbel.gitops.runner import GitInvocation, build_invocation, run
from timbel.pipelines.engines.local_process import ProcessResult
from timbel.pipelines.engines.mirror import (
    CheckoutError,
    Source,
    mirror_lock,
    mirror_path,
    scheme_of,
    update_mirror,
)

_SHA = re.compile(r"^[0-9a-f]{7,64}$")
_SEP = "\x1f"
GIT_TIMEOUT_SECONDS = 120.0


class CommitsUnavailable(IntegrationError):
    """The commits between two releases cannot be listed (unknown commit, unreachable repository)."""

    code = "commits-unavailable"
    title = "Commits unavailable"


def mirrors_dir(settings: Settings) -> Path:
    """Where the local runner keeps its repository mirrors (next to the run workspaces)."""
    root = settings.pipelines.workspace_dir or settings.data_dir / "workspaces"
    return root.parent / "mirrors"


def _git_run(argv: list[str], *, env: dict[str, str], capture: list[str] | None = None) -> ProcessResult:
    """Run one git command (fixed argv, own process group, timeout); lines into ``capture``."""
    try:
        result = run(GitInvocation(tuple(argv), env), timeout=GIT_TIMEOUT_SECONDS, max_output=4_000_000)
    except GitOpsError:
        return ProcessResult(None, timed_out=True)
    if capture is not None:
        capture.extend(result.stdout.splitlines())
    return ProcessResult(result.returncode)


def _check_url(url: str, *, settings: Settings, allow_local: bool) -> None:
    """The analyses' guard: no way into the server's own network (file URLs only when allowed)."""
    from timbel.analysis.url_guard import AllowList, SystemResolver, UnsafeRepositoryUrl, check_repo_url

    try:
        if scheme_of(url, allow_local=allow_local) == "file":
            return
        check_repo_url(
            url, resolver=SystemResolver(), allow=AllowList.from_entries(settings.analysis.allowed_hosts)
        )
    except (CheckoutError, UnsafeRepositoryUrl) as exc:
        raise CommitsUnavailable(f"The repository URL is refused: {exc}") from exc


def _token(session: Session, *, settings: Settings, system: System) -> str | None:
    from timbel.integrations.github.credentials import InstanceCredentials

    host = urlparse(system.repo_url or "").hostname
    if not host:
        return None
    factory = sessionmaker(bind=session.get_bind())
    return InstanceCredentials(
        session_factory=factory, settings=settings, domain_id=system.domain_id
    ).token_for(host)


def _has(mirror: Path, sha: str, git: Callable[..., ProcessResult]) -> bool:
    if not (mirror / "HEAD").exists():
        return False
    argv = [*_local(mirror), "cat-file", "-e", f"{sha}^{{commit}}"]
    return git(argv, env=_env()).exit_code == 0


def _local(mirror: Path) -> list[str]:
    return list(build_invocation([], cwd=mirror, scheme="file", credentials=None, remote=False).argv)


def _env() -> dict[str, str]:
    return build_invocation([], cwd=None, scheme="file", credentials=None, remote=False).env


def parse_log(lines: list[str]) -> list[dict[str, str]]:
    """``{sha, subject, author, at}`` from ``git log --format=%H%x1f%an%x1f%cI%x1f%s`` lines."""
    found: list[dict[str, str]] = []
    for line in lines:
        parts = line.split(_SEP, 3)
        if len(parts) != 4:
            continue
        sha, author, at, subject = parts
        try:
            when = datetime.fromisoformat(at).astimezone(UTC).isoformat()
        except ValueError:
            when = at
        found.append({"sha": sha, "subject": subject[:300], "author": author[:200], "at": when})
    return found


def log_between(
    mirror: Path, *, old: str | None, new: str, limit: int, git: Callable[..., ProcessResult] = _git_run
) -> list[dict[str, str]]:
    """``git log`` of ``old..new`` (or only ``new``) in a local repository, newest first."""
    fmt = f"--format=%H{_SEP}%an{_SEP}%cI{_SEP}%s"
    span = [f"{old}..{new}"] if old else ["-1", new]
    argv = [*_local(mirror), "log", "--no-color", f"--max-count={max(1, limit)}", fmt, *span, "--"]
    lines: list[str] = []
    result = git(argv, env=_env(), capture=lines)
    if result.exit_code != 0:
        raise CommitsUnavailable("git log failed in the repository mirror.")
    return parse_log(lines)


def commits_between(
    session: Session,
    *,
    settings: Settings,
    system: System,
    old: str | None,
    new: str,
    limit: int = 200,
    allow_local: bool = False,
    git: Callable[..., ProcessResult] = _git_run,
) -> list[dict[str, str]]:
    """Commits in ``new`` but not in ``old``, newest first (``old`` None: only ``new``)."""
    wanted = [c.lower() for c in (old, new) if c]
    for sha in wanted:
        if not _SHA.match(sha):
            raise CommitsUnavailable(f"'{sha[:64]}' is not a commit SHA.")
    url = system.repo_url or ""
    if not url:
        raise CommitsUnavailable("The system has no repository URL.")
    _check_url(url, settings=settings, allow_local=allow_local)
    mirror = mirror_path(mirrors_dir(settings), url)
    deadline = time.monotonic() + GIT_TIMEOUT_SECONDS
    try:
        with mirror_lock(mirror, should_stop=lambda: time.monotonic() > deadline):
            return _listed(session, settings=settings, system=system, mirror=mirror, wanted=wanted,
                           old=old, new=new, limit=limit, allow_local=allow_local, git=git)  # fmt: skip
    except CheckoutError as exc:  # only the wait for the lock raises it here
        raise CommitsUnavailable(f"The repository mirror is busy: {exc}") from exc


def _listed(
    session: Session, *, settings: Settings, system: System, mirror: Path, wanted: list[str], old: str | None,
    new: str, limit: int, allow_local: bool, git: Callable[..., ProcessResult],
) -> list[dict[str, str]]:  # fmt: skip
    """Inside the mirror's lock: fetch when a commit is missing, then log."""
    if not all(_has(mirror, sha, git) for sha in wanted):
        source = Source(
            system.repo_url, _token(session, settings=settings, system=system), allow_local=allow_local
        )
        try:
            update_mirror(source, mirror, git=git)
        except CheckoutError as exc:
            raise CommitsUnavailable(f"The repository could not be fetched: {exc}") from exc
    missing = [sha[:12] for sha in wanted if not _has(mirror, sha, git)]
    if missing:
        raise CommitsUnavailable(f"Unknown commit(s) in {system.slug}'s repository: {', '.join(missing)}.")
    return log_between(mirror, old=old.lower() if old else None, new=new.lower(), limit=limit, git=git)
