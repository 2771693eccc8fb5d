"""The GitOps working clone: where it lives, how git runs in it, how it opens and catches up with the remote.

Why a persistent private clone under a cache dir (not a fresh clone per operation): GitOps repositories grow
with every deployment, and a commit that could not be pushed must survive for a retry. The clone is Timbel's
alone; anything not committed in it is discarded when it opens.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from timbel.core.gitproc import verb
from timbel.gitops import runner
from timbel.gitops.errors import GitOpsError, HandEditConflict, RebaseConflict
from timbel.gitops.locking import repo_lock, url_key
from timbel.gitops.runner import GitInvocation, GitResult, RepoCredentials

LOCAL_TIMEOUT = 60.0
REMOTE_TIMEOUT = 180.0
LOCK_TIMEOUT = 300.0


@dataclass(frozen=True)
class Identity:
    """Author and committer of Timbel's commits."""

    name: str = "Timbel"
    email: str = "timbel@localhost"


@dataclass
class GitOpsRepo:
    """An open working clone of one branch of a GitOps remote."""

    url: str
    branch: str
    path: Path
    cache_dir: Path
    scheme: str
    credentials: RepoCredentials | None = field(default=None, repr=False)
    author: Identity = field(default_factory=Identity)
    lock_timeout: float = LOCK_TIMEOUT
    remote_timeout: float = REMOTE_TIMEOUT

    @property
    def remote_ref(self) -> str:
        """The remote-tracking ref of the branch in the working clone."""
        return f"refs/remotes/origin/{self.branch}"

    def invocation(
        self, args: list[str], *, remote: bool = False, ssh: runner.SshFiles | None = None
    ) -> GitInvocation:
        """Build (without running) the git command for ``args`` in this clone."""
        return runner.build_invocation(
            args, cwd=self.path, scheme=self.scheme, credentials=self.credentials, remote=remote, ssh=ssh
        )

    def git(
        self,
        args: list[str],
        *,
        remote: bool = False,
        check: bool = True,
        stdin: bytes | None = None,
        max_output: int | None = None,
    ) -> GitResult:
        """Run git in the clone; with ``check``, a failure raises ``GitOpsError`` (message scrubbed)."""
        secrets = self.credentials.secrets() if self.credentials else ()
        ssh_context: contextlib.AbstractContextManager[runner.SshFiles | None] = contextlib.nullcontext()
        if remote and self.scheme == "ssh":
            ssh_context = runner.ssh_files(self.credentials, pinned_hosts=self.cache_dir / "known_hosts")
        with ssh_context as ssh:
            invocation = self.invocation(args, remote=remote, ssh=ssh)
            env = invocation.env | _identity_env(self.author)
            result = runner.run(
                GitInvocation(invocation.argv, env),
                timeout=self.remote_timeout if remote else LOCAL_TIMEOUT,
                secrets=secrets,
                stdin=stdin,
                max_output=max_output,
            )
        if check and result.returncode != 0:
            message = result.stderr.strip() or "no message"
            raise GitOpsError(f"git {verb(invocation.argv)} failed: {message}")
        return result

    def head(self) -> str | None:
        """The commit the branch points at in the clone, or None while the branch has no commit."""
        result = self.git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def remote_head(self) -> str | None:
        """The last fetched commit of the remote branch, or None when the remote has no such branch."""
        result = self.git(["rev-parse", "--verify", "--quiet", f"{self.remote_ref}^{{commit}}"], check=False)
        return result.stdout.strip() if result.returncode == 0 else None


@contextlib.contextmanager
def operation(repo: GitOpsRepo) -> Iterator[None]:
    """Hold the repository's lock (threads and processes) for one operation."""
    with repo_lock(url=repo.url, cache_dir=repo.cache_dir, timeout=repo.lock_timeout):
        yield


def open_repo(
    *,
    url: str,
    cache_dir: Path,
    credentials: RepoCredentials | None,
    branch: str = "main",
    allow_local: bool = False,
    author: Identity | None = None,
) -> GitOpsRepo:
    """Clone or fetch ``url`` into a private working clone and bring ``branch`` up to date with the remote.

    An empty remote starts ``branch`` with no commit. Local unpushed commits are kept and rebased onto the
    remote branch; when that would conflict (or overwrite a hand edit) they are left unrebased, and ``push``
    raises the conflict. ``allow_local`` admits a local bare repository path: pass it only for the embedded
    repository from ``ensure_embedded`` (never for a user-supplied URL).
    """
    from timbel.gitops.sync import catch_up  # sync uses this module's types

    scheme = runner.url_scheme(url, allow_local=allow_local)
    _check_branch(branch)
    cache_dir = cache_dir.resolve()
    path = cache_dir / f"{url_key(url)}-{url_key(branch)[:8]}"
    repo = GitOpsRepo(url, branch, path, cache_dir, scheme, credentials, author or Identity())
    with operation(repo):
        if not (path / ".git").is_dir():
            shutil.rmtree(path, ignore_errors=True)  # a partial clone from a crash
            path.mkdir(parents=True)
            repo.git(["init", "-q", "--template=", f"--initial-branch={branch}"])
        repo.git(["config", "remote.origin.url", url])
        repo.git(["config", "remote.origin.fetch", f"+refs/heads/{branch}:{repo.remote_ref}"])
        discard_uncommitted(repo)
        # On a conflict unpushed commits stay as they are: ``push`` reports it, ``discard_local`` resolves it.
        with contextlib.suppress(HandEditConflict, RebaseConflict):
            catch_up(repo, allow_overwrite_hand_edits=False)
    return repo


def ensure_embedded(path: Path, *, branch: str = "main") -> str:
    """Create the embedded bare GitOps repository at ``path`` (``var/gitops.git``) if missing; return its URL.

    The URL is a local path: open it with ``open_repo(..., allow_local=True)``.
    """
    path = path.resolve()
    if not (path / "HEAD").is_file():
        path.mkdir(parents=True, exist_ok=True)
        invocation = runner.build_invocation(
            ["init", "-q", "--bare", "--template=", f"--initial-branch={branch}", str(path)],
            cwd=None,
            scheme="file",
            credentials=None,
            remote=False,
        )
        result = runner.run(invocation, timeout=LOCAL_TIMEOUT)
        if result.returncode != 0:
            raise GitOpsError(f"could not create the embedded GitOps repository: {result.stderr.strip()}")
    return str(path)


def discard_uncommitted(repo: GitOpsRepo) -> None:
    """Throw away anything uncommitted in the clone (a crashed operation's half-written files)."""
    if repo.head() is not None:
        repo.git(["reset", "-q", "--hard", "HEAD"])
    else:
        repo.git(["read-tree", "--empty"])
    repo.git(["clean", "-q", "-f", "-f", "-d", "-x"])


def unpushed(repo: GitOpsRepo) -> list[str]:
    """The local commits the remote branch does not have yet, newest first."""
    if repo.head() is None:
        return []
    revisions = ["HEAD"] if repo.remote_head() is None else ["HEAD", f"^{repo.remote_ref}"]
    output = repo.git(["rev-list", *revisions, "--"]).stdout
    return output.split()


def discard_local(repo: GitOpsRepo) -> None:
    """Drop unpushed local commits and reset the clone to the remote branch (before a confirmed retry)."""
    with operation(repo):
        remote = repo.remote_head()
        if remote is None:
            repo.git(["update-ref", "-d", f"refs/heads/{repo.branch}"])
            discard_uncommitted(repo)
        else:
            repo.git(["reset", "-q", "--hard", remote])
            repo.git(["clean", "-q", "-f", "-f", "-d", "-x"])


def _check_branch(branch: str) -> None:
    """Refuse branch names git would not accept or that could be read as options."""
    invocation = runner.build_invocation(
        ["check-ref-format", "--branch", branch], cwd=None, scheme="file", credentials=None, remote=False
    )
    if branch.startswith("-") or runner.run(invocation, timeout=LOCAL_TIMEOUT).returncode != 0:
        raise GitOpsError(f"{branch!r} is not a valid branch name")


def _identity_env(author: Identity) -> dict[str, str]:
    return {
        "GIT_AUTHOR_NAME": author.name,
        "GIT_AUTHOR_EMAIL": author.email,
        "GIT_COMMITTER_NAME": author.name,
        "GIT_COMMITTER_EMAIL": author.email,
    }
