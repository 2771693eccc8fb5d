"""The checkout of the local runner: a cached bare mirror per repository, a cheap clone per run.

Why: cloning the whole repository for every run is slow and loads the git server. The mirror
(``<mirrors>/<sha256 of the URL>``) is cloned once (``git clone --mirror``) and updated after
(``git remote update --prune``) under an flock, so two runs never fetch into it at once; each run then
clones it with ``--shared`` (objects borrowed, nothing copied) and checks out the commit detached.
The mirror never garbage-collects (``gc.auto=0``), so a workspace that borrows its objects stays valid.
Git runs with ``timbel.gitops.runner``'s rules: no shell, no user or system config, hooks off, one
protocol, no prompts, the clone token as an ``http.extraHeader`` in ``GIT_CONFIG_*`` variables.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from timbel.gitops.runner import RepoCredentials, build_invocation, ssh_files
from timbel.pipelines.engines.local_process import ProcessResult
from timbel.pipelines.engines.workspace import remove_tree

_SCP_LIKE = re.compile(r"^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9][A-Za-z0-9.-]*:[A-Za-z0-9._~/+-]\S*$")
_SHA = re.compile(r"^[0-9a-f]{7,64}$")
_REF = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)(?!.*@\{)[A-Za-z0-9._/+-]{1,255}(?<![./])$")
_NO_GC = ["-c", "gc.auto=0", "-c", "maintenance.auto=false"]


class CheckoutError(RuntimeError):
    """The checkout failed; the message is safe to show (no token)."""


class CheckoutStopped(RuntimeError):
    """A git command was stopped by a cancel or the run's timeout (the result says which)."""

    def __init__(self, result: ProcessResult) -> None:
        super().__init__("stopped")
        self.result = result


class GitRun(Protocol):
    """Runs one git command for the checkout stage (streaming its output, or into ``capture``)."""

    def __call__(
        self, argv: list[str], *, env: dict[str, str], capture: list[str] | None = None
    ) -> ProcessResult:
        """Run it and say how it ended."""
        ...


@dataclass(frozen=True)
class Source:
    """Where to check out from."""

    url: str
    token: str | None
    allow_local: bool = False


def scheme_of(url: str, *, allow_local: bool) -> str:
    """The git transport of ``url`` (https, http, ssh; file only with ``allow_local``) or CheckoutError."""
    if not url or url.startswith("-") or "::" in url or any(c.isspace() or ord(c) < 32 for c in url):
        raise CheckoutError("the repository URL is empty or has whitespace or a remote-helper prefix")
    if "://" in url:
        scheme, rest = url.split("://", 1)
        scheme = scheme.lower()
        if scheme == "file" and allow_local:
            return "file"
        if scheme not in ("https", "http", "ssh"):
            raise CheckoutError(f"the repository URL scheme {scheme!r} is not allowed on this runner")
        if scheme != "ssh" and "@" in rest.split("/", 1)[0]:
            raise CheckoutError("the repository URL must not contain credentials")
        return scheme
    if url.startswith("/") and allow_local:
        return "file"
    if _SCP_LIKE.match(url):
        return "ssh"
    raise CheckoutError("the repository URL is not an https or ssh URL")


def mirror_path(mirrors: Path, url: str) -> Path:
    """The mirror directory of a repository URL."""
    return mirrors / hashlib.sha256(url.encode()).hexdigest()[:32]


@contextmanager
def mirror_lock(
    mirror: Path, *, should_stop: Callable[[], bool], poll: float = 0.2
) -> Iterator[None]:  # fmt: skip
    """Hold the mirror's flock; while another run holds it, wait (checking ``should_stop``)."""
    mirror.parent.mkdir(parents=True, exist_ok=True)
    with mirror.with_name(mirror.name + ".lock").open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if should_stop():
                    raise CheckoutError("stopped while waiting for the repository mirror") from None
                time.sleep(poll)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def update_mirror(source: Source, mirror: Path, *, git: GitRun) -> bool:
    """Clone the mirror the first time, else fetch into it; True when it was cloned now."""
    scheme = scheme_of(source.url, allow_local=source.allow_local)
    credentials = RepoCredentials(token=source.token) if source.token else None
    fresh = not (mirror / "HEAD").exists()
    with ssh_files(None, pinned_hosts=mirror.parent / "known_hosts") as ssh:
        if fresh:
            partial = mirror.with_name(mirror.name + ".partial")
            remove_tree(partial)
            args = [*_NO_GC, "clone", "--mirror", "--quiet", "--", source.url, str(partial)]
            invocation = build_invocation(args, cwd=None, scheme=scheme, credentials=credentials,
                                          remote=True, ssh=ssh)  # fmt: skip
            _check(git(list(invocation.argv), env=invocation.env), "clone the repository")
            _check(
                git([*_git(partial, "file"), "config", "gc.auto", "0"], env=_env()), "configure the mirror"
            )
            remove_tree(mirror)
            partial.rename(mirror)
            return True
        args = [*_NO_GC, "remote", "update", "--prune"]
        invocation = build_invocation(args, cwd=mirror, scheme=scheme, credentials=credentials,
                                      remote=True, ssh=ssh)  # fmt: skip
        _check(git(list(invocation.argv), env=invocation.env), "update the repository mirror")
    return False


def resolve(mirror: Path, *, ref: str, commit: str | None, git: GitRun) -> str:
    """The full SHA to build: ``commit`` when given (it must exist), else what ``ref`` points to."""
    if commit is not None:
        if not _SHA.match(commit):
            raise CheckoutError(f"{commit!r} is not a commit SHA")
        candidates = [commit]
    else:
        if not _REF.match(ref):
            raise CheckoutError(f"{ref!r} is not a valid git ref")
        candidates = [ref] if ref.startswith("refs/") else [f"refs/heads/{ref}", f"refs/tags/{ref}", ref]
    for candidate in candidates:
        output: list[str] = []
        argv = [*_git(mirror, "file"), "rev-parse", "--verify", "--quiet", "--end-of-options",
                f"{candidate}^{{commit}}"]  # fmt: skip
        result = git(argv, env=_env(), capture=output)
        _stopped(result)
        if result.exit_code == 0 and output and _SHA.match(output[0].strip()):
            return output[0].strip()
    raise CheckoutError(f"commit {commit} was not found" if commit else f"ref {ref!r} was not found")


def clone_workspace(mirror: Path, target: Path, sha: str, *, git: GitRun) -> None:
    """Clone the mirror into ``target`` sharing its objects and check out ``sha`` (detached)."""
    remove_tree(target)
    argv = [*_git(None, "file"), *_NO_GC, "clone", "--shared", "--no-checkout", "--quiet", "--",
            str(mirror), str(target)]  # fmt: skip
    _check(git(argv, env=_env()), "clone the mirror into the workspace")
    argv = [*_git(target, "file"), "checkout", "--quiet", "--detach", sha, "--"]
    _check(git(argv, env=_env()), f"check out {sha[:12]}")


def _git(cwd: Path | None, scheme: str) -> list[str]:
    return list(build_invocation([], cwd=cwd, scheme=scheme, credentials=None, remote=False).argv)


def _env() -> dict[str, str]:
    return build_invocation([], cwd=None, scheme="file", credentials=None, remote=False).env


def _stopped(result: ProcessResult) -> None:
    if result.cancelled or result.timed_out:
        raise CheckoutStopped(result)


def _check(result: ProcessResult, what: str) -> None:
    _stopped(result)
    if result.exit_code != 0:
        raise CheckoutError(f"could not {what} (git exited with {result.exit_code})")
