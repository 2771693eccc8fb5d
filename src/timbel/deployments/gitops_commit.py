"""The GitOps half of a deployment: one readable commit of the environment's values, pushed, found again.

Why the search before committing: a worker can die between the push and the database write; the commit
then already names this deployment in its ``Timbel-Operation`` trailer, so a resumed execution adopts it
instead of committing twice. A push the remote refuses drops our unpushed commit again (it must not go out
later with someone else's push), unless other operations' commits are waiting in the clone too.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.auth.models import User
from timbel.catalog.models import Domain, System
from timbel.core.settings import Settings
from timbel.deployments import service
from timbel.deployments.models import ApprovalRequest, ApprovalState, Deployment, DeploymentKind, Release
from timbel.deployments.values import apply_release
from timbel.gitops import (
    CommitMessage,
    GitOpsError,
    GitOpsRepo,
    commit_files,
    discard_local,
    layout_files,
    log,
    push,
    unpushed,
)
from timbel.gitops import service as gitops
from timbel.gitops.records import read_commits


@dataclass(frozen=True)
class Committed:
    """Where the deployment's values commit is: repository name, commit, path, and the open clone."""

    repository: str
    sha: str
    path: str
    changed: bool
    repo: GitOpsRepo


def values_path(domain: Domain, system: System, env: str) -> str:
    """The environment's values file of a system in the GitOps layout."""
    return f"{gitops.system_prefix(domain, system)}/envs/{env}/values.yaml"


def open_clone(session: Session, *, settings: Settings, deployment: Deployment) -> tuple[str, GitOpsRepo]:
    """The repository holding the deployment's environment (its name) and its working clone."""
    row = gitops.repository_for(
        session, settings=settings, domain_id=deployment.domain_id, env=deployment.environment
    )
    return row.name, gitops.open_row(row, settings=settings)


def _username(session: Session, user_id: str | None) -> str | None:
    return session.scalar(select(User.username).where(User.id == user_id)) if user_id else None


def commit_message(
    session: Session, *, deployment: Deployment, system: System, release: Release
) -> CommitMessage:
    """What, who and why of the deployment's commit (approval and previous release included)."""
    d, slug, env, version = deployment, system.slug, deployment.environment, release.version
    if d.kind == DeploymentKind.promote.value:
        before = service.previous_environment(session, domain_id=d.domain_id, name=env)
        what = (
            f"Promote {slug} {version} from {before.name if before else 'the previous environment'} to {env}"
        )
    elif d.kind == DeploymentKind.rollback.value:
        what = f"Roll back {slug} {env} to {version}"
    elif d.kind == DeploymentKind.auto_rollback.value:
        what = f"Automatic rollback of {slug} {env} to {version}"
    else:
        what = f"Deploy {slug} {version} to {env}"
    why = [d.reason.strip() or "No reason given."]
    facts = [f"Release {version} (source {release.source_commit[:12]})"]
    if d.previous_release_id:
        previous = session.get(Release, d.previous_release_id)
        facts.append(f"Replaces {previous.version if previous else d.previous_release_id}")
    approval = session.scalar(select(ApprovalRequest).where(ApprovalRequest.deployment_id == d.id))
    if approval is not None and approval.state == ApprovalState.approved.value:
        who = _username(session, approval.decided_by_id) or "an approver"
        facts.append(
            f"Approved by {who}" + (f": {approval.comment.strip()}" if approval.comment.strip() else "")
        )
    elif d.approved_by_id and d.approved_by_id != d.requested_by_id:
        facts.append(f"Approved by {_username(session, d.approved_by_id) or d.approved_by_id}")
    if d.emergency:
        facts.append("Emergency deployment")
    why.append("\n".join(facts))
    requester = (d.requested_by or "timbel").replace("\n", " ").strip()[:200] or "timbel"
    return CommitMessage(what=what[:200], who=requester, why="\n\n".join(why), operation_id=d.id)


def find_commit(repo: GitOpsRepo, *, prefix: str, deployment_id: str) -> str | None:
    """The pushed commit this deployment already made under ``prefix`` (None when there is none)."""
    for info in log(repo, path_prefix=prefix, limit=200, refresh=False):
        if info.operation_id == deployment_id:
            return info.sha
    return None


def commit_release(
    session: Session, *, settings: Settings, deployment: Deployment, system: System, release: Release
) -> Committed:
    """Commit and push the release's values for the environment (or adopt the commit made before a crash)."""
    domain = session.get(Domain, system.domain_id)
    if domain is None:
        raise GitOpsError("the system's domain no longer exists")
    name, repo = open_clone(session, settings=settings, deployment=deployment)
    path = values_path(domain, system, deployment.environment)
    found = find_commit(repo, prefix=path.rsplit("/", 1)[0], deployment_id=deployment.id)
    if found is not None:
        return Committed(name, found, path, True, repo)
    target = repo.path / path
    current = target.read_text(encoding="utf-8") if target.is_file() and not target.is_symlink() else None
    text = apply_release(current, release=release, system=system.slug)
    message = commit_message(session, deployment=deployment, system=system, release=release)
    result = commit_files(repo, files={**layout_files(repo), path: text}, message=message, owned={path})
    try:
        pushed = push(repo, attempts=settings.gitops.push_attempts)
    except GitOpsError:
        drop_own_commits(repo, deployment_id=deployment.id)
        raise
    sha = pushed.sha or result.sha or repo.head()
    if sha is None:
        raise GitOpsError("the GitOps repository has no commit after pushing")
    return Committed(name, sha, path, result.committed, repo)


def drop_own_commits(repo: GitOpsRepo, *, deployment_id: str) -> bool:
    """Discard unpushed local commits when every one of them is this deployment's; tell whether it did."""
    shas = unpushed(repo)
    if not shas:
        return False
    revisions = ["HEAD"] if repo.remote_head() is None else ["HEAD", f"^{repo.remote_ref}"]
    if any(c.operation_id != deployment_id for c in read_commits(repo, revisions=revisions)):
        return False
    discard_local(repo)
    return True


def contains(repo: GitOpsRepo, ours: str, theirs: str) -> bool:
    """Whether commit ``theirs`` includes ``ours`` (fetching once when the clone does not know it yet)."""
    if ours == theirs:
        return True
    for attempt in range(2):
        result = repo.git(["merge-base", "--is-ancestor", ours, theirs], check=False)
        if result.returncode in (0, 1):
            return result.returncode == 0
        if attempt == 0:
            log(repo, limit=1)  # fetches
    return False
