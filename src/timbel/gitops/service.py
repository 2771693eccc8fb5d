"""GitOps with the database: which repository holds which environment, operations that commit a delivery
bundle and record the result, and the history of a system's files.

Why operations are rows: a commit request names who and why (its id goes into every commit as the
``Timbel-Operation`` trailer), and its outcome — commits made, or the remote's refusal — must outlive the
request. A failed push keeps the local commit in Timbel's working clone for the next attempt.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.catalog.models import Domain, System
from timbel.core.crypto import SecretBox
from timbel.core.db import utcnow
from timbel.core.settings import Settings
from timbel.core.states import Transition, set_state
from timbel.gitops import (
    CommitInfo,
    CommitMessage,
    GitOpsError,
    GitOpsRepo,
    HandEditConflict,
    RepoCredentials,
    commit_files,
    ensure_embedded,
    layout_files,
    log,
    open_repo,
    push,
    show_diff,
)
from timbel.gitops.models import (
    OPERATION_MACHINE,
    GitOpsOperation,
    GitOpsOperationChange,
    GitOpsRepository,
    GitOpsTarget,
    OperationState,
)
from timbel.scaffold.plan import ENVIRONMENTS

DEFAULT_NAME = "default"


def embedded_path(settings: Settings) -> Path:
    """Where the embedded GitOps repository lives."""
    return (settings.gitops.embedded_path or settings.data_dir / "gitops.git").resolve()


def cache_dir(settings: Settings) -> Path:
    """Where Timbel keeps its working clones."""
    return (settings.gitops.cache_dir or settings.data_dir / "gitops-cache").resolve()


def secret_box(settings: Settings) -> SecretBox:
    """The box that encrypts repository credentials at rest."""
    return SecretBox(settings.secret())


def default_repository(session: Session, *, settings: Settings) -> GitOpsRepository:
    """Return the default repository, creating the embedded one on first use."""
    row = session.scalar(select(GitOpsRepository).where(GitOpsRepository.name == DEFAULT_NAME))
    if row is None:
        row = GitOpsRepository(name=DEFAULT_NAME, url=ensure_embedded(embedded_path(settings)), branch="main")
        session.add(row)
        session.flush()
    return row


def repository_for(session: Session, *, settings: Settings, domain_id: str, env: str) -> GitOpsRepository:
    """Return the repository holding one environment of a domain (its own, else the default)."""
    row = session.scalar(
        select(GitOpsRepository)
        .join(GitOpsTarget, GitOpsTarget.repository_id == GitOpsRepository.id)
        .where(GitOpsTarget.domain_id == domain_id, GitOpsTarget.env == env)
    )
    return row or default_repository(session, settings=settings)


def credentials_of(row: GitOpsRepository, *, settings: Settings) -> RepoCredentials | None:
    """Decrypt a repository's credentials (None when it needs none)."""
    if row.auth == "none" or not row.secret:
        return None
    secret = secret_box(settings).decrypt(row.secret, context=row.id)
    if row.auth == "ssh":
        return RepoCredentials(ssh_private_key=secret)
    return RepoCredentials(token=secret, username=row.username or "x-access-token")


def open_row(row: GitOpsRepository, *, settings: Settings) -> GitOpsRepo:
    """Open (clone or fetch) a repository's working clone; only the embedded one may be a local path."""
    local = Path(row.url).is_absolute() and Path(row.url).resolve() == embedded_path(settings)
    return open_repo(
        url=row.url,
        cache_dir=cache_dir(settings),
        credentials=credentials_of(row, settings=settings),
        branch=row.branch,
        allow_local=local,
    )


def _holding(session: Session, *, settings: Settings, domain: Domain, env: str | None) -> GitOpsRepository:
    """The repository holding ``env`` of a domain, or the default one when no environment is named."""
    if env:
        return repository_for(session, settings=settings, domain_id=domain.id, env=env)
    return default_repository(session, settings=settings)


def system_prefix(domain: Domain, system: System) -> str:
    """The folder of a system in the GitOps layout: ``<domain>/<system>``."""
    from timbel.scaffold.plan import to_label

    return f"{to_label(domain.code)}/{to_label(system.slug)}"


@dataclass(frozen=True)
class Placement:
    """One repository of a delivery and the environments it holds for the domain."""

    repository: GitOpsRepository
    envs: tuple[str, ...]


FilesFor = Callable[[GitOpsRepository], dict[str, str]]


def placements(
    session: Session, *, settings: Settings, domain: Domain, envs: Iterable[str]
) -> list[Placement]:
    """Group a delivery's environments by the repository that holds each of them (in first-seen order)."""
    by_repo: dict[str, tuple[GitOpsRepository, list[str]]] = {}
    for env in envs:
        row = repository_for(session, settings=settings, domain_id=domain.id, env=env)
        by_repo.setdefault(row.id, (row, []))[1].append(env)
    return [Placement(row, tuple(repo_envs)) for row, repo_envs in by_repo.values()]


def files_of(place: Placement, files: dict[str, str]) -> dict[str, str]:
    """The files for one repository: shared ones (chart, project) and those of its environments."""
    return {path: text for path, text in files.items() if _env_of(path) in (None, *place.envs)}


def _env_of(path: str) -> str | None:
    """The environment a GitOps file belongs to (``…/envs/<env>/…`` or ``…/argocd/<env>.yaml``), or None."""
    if path.startswith("argocd/projects/"):
        return None
    parts = path.split("/")
    for env in ENVIRONMENTS:
        if f"/envs/{env}/" in path or (
            len(parts) >= 2 and parts[-2] == "argocd" and parts[-1] == f"{env}.yaml"
        ):
            return env
    return None


def _move(session: Session, operation_id: str, to: OperationState, reason: str, **values: Any) -> Transition:
    return set_state(
        session,
        machine=OPERATION_MACHINE,
        model=GitOpsOperation,
        row_id=operation_id,
        to=to,
        values={"finished_at": utcnow(), **values},
        history=lambda old, new: GitOpsOperationChange(
            operation_id=operation_id, from_state=old, to_state=new, reason=reason[:500]
        ),
    )


def deliver(
    session: Session,
    *,
    settings: Settings,
    system: System,
    domain: Domain,
    files_for: FilesFor,
    envs: Iterable[str],
    what: str,
    why: str,
    who: str,
    actor_id: str | None,
    draft_id: str | None = None,
    allow_overwrite_hand_edits: bool = False,
) -> GitOpsOperation:
    """Commit and push a delivery's GitOps files to every repository holding one of its environments.

    ``files_for(repository)`` returns the full GitOps file set as generated for that repository (its URL
    goes into the Argo CD objects); each repository receives the shared files and its environments' files.
    The operation ends ``succeeded`` with its commits, or ``failed`` with the reason (a hand-edit conflict
    names the files in ``conflicts``; a refused push carries the remote's message). Nothing is force-pushed.
    """
    operation = GitOpsOperation(
        system_id=system.id, draft_id=draft_id, what=what[:300], why=why, created_by=actor_id
    )
    session.add(operation)
    session.flush()
    message = CommitMessage(what=what, who=who, why=why or what, operation_id=operation.id)
    commits: list[dict[str, Any]] = []
    try:
        for place in placements(session, settings=settings, domain=domain, envs=envs):
            ours = files_of(place, files_for(place.repository))
            repo = open_row(place.repository, settings=settings)
            result = commit_files(
                repo,
                files={**layout_files(repo), **ours},
                message=message,
                owned=set(ours),
                allow_overwrite_hand_edits=allow_overwrite_hand_edits,
            )
            pushed = push(
                repo,
                attempts=settings.gitops.push_attempts,
                allow_overwrite_hand_edits=allow_overwrite_hand_edits,
            )
            commits.append(
                {
                    "repository": place.repository.name,
                    "url": place.repository.url,
                    "envs": list(place.envs),
                    "sha": pushed.sha or result.sha,
                    "changed": bool(result.sha),
                    "files": sorted(result.written),
                }
            )
    except HandEditConflict as exc:
        _move(
            session,
            operation.id,
            OperationState.failed,
            exc.detail,
            commits=commits,
            conflicts=list(exc.paths),
            error=exc.detail,
        )
        return operation
    except GitOpsError as exc:
        _move(session, operation.id, OperationState.failed, exc.detail, commits=commits, error=exc.detail)
        return operation
    _move(session, operation.id, OperationState.succeeded, "pushed", commits=commits)
    return operation


def history(
    session: Session, *, settings: Settings, domain: Domain, system: System, env: str | None, limit: int
) -> list[CommitInfo]:
    """Commits touching a system's folder (or one environment of it) in the repository holding ``env``."""
    row = _holding(session, settings=settings, domain=domain, env=env)
    prefix = system_prefix(domain, system) + (f"/envs/{env}" if env else "")
    return log(open_row(row, settings=settings), path_prefix=prefix, limit=limit)


def commit_diff(session: Session, *, settings: Settings, domain: Domain, env: str | None, sha: str) -> str:
    """The unified diff of one commit of the repository holding ``env`` (the default one when None)."""
    row = _holding(session, settings=settings, domain=domain, env=env)
    return show_diff(open_row(row, settings=settings), sha)


_FETCHED: dict[tuple[str, str, str], tuple[float, GitOpsRepo]] = {}  # (url, branch, cache) → last fetch here
_FETCHED_LOCK = threading.Lock()


def _recent_clone(row: GitOpsRepository, *, settings: Settings, max_age: float) -> GitOpsRepo:
    """The working clone, fetched unless this process fetched it less than ``max_age`` seconds ago."""
    key = (row.url, row.branch, str(cache_dir(settings)))
    with _FETCHED_LOCK:
        seen = _FETCHED.get(key)
    if seen is not None and time.monotonic() - seen[0] < max_age and seen[1].path.is_dir():
        return seen[1]
    repo = open_row(row, settings=settings)
    with _FETCHED_LOCK:
        _FETCHED[key] = (time.monotonic(), repo)
    return repo


def current_files(
    session: Session,
    *,
    settings: Settings,
    domain: Domain,
    paths: Iterable[str],
    env: str | None = None,
    max_age: float = 0.0,
) -> dict[str, str]:
    """Read the current text of some paths in a repository's working clone (missing files are left out).

    ``max_age`` > 0 lets a read-only page skip the fetch when this process fetched the clone that recently.
    """
    row = _holding(session, settings=settings, domain=domain, env=env)
    repo = _recent_clone(row, settings=settings, max_age=max_age)
    found: dict[str, str] = {}
    for path in paths:
        target = repo.path / path
        if target.is_file() and not target.is_symlink():
            found[path] = target.read_text(encoding="utf-8", errors="replace")
    return found


def store_secret(row: GitOpsRepository, *, settings: Settings, secret: str | None) -> None:
    """Encrypt and store (or clear) a repository's secret; it is never readable through the API."""
    row.secret = secret_box(settings).encrypt(secret, context=row.id) if secret else None


def secrets_json(values: dict[str, dict[str, str]], *, settings: Settings, context: str) -> str | None:
    """Encrypt the secret environment values of a draft (``{service: {NAME: value}}``)."""
    return (
        secret_box(settings).encrypt(json.dumps(values, sort_keys=True), context=context) if values else None
    )
