"""Shallow-clone a checked repository URL with the git CLI, bounded by time, size and file count.

Why this shape: git runs with a fixed argv, an environment built from scratch (no user/system
config, so no ``url.insteadOf`` rewrite, proxy or credential helper can reroute it), only the
URL's own protocol allowed, HTTP redirects off, hooks off and submodules not fetched. The
connection is pinned to the addresses ``check_repo_url`` approved: for http(s) with
``http.curloptResolve=host:port:addr`` (git >= 2.37; the URL keeps its host name so TLS still
verifies it), for ssh and git:// by putting the checked address in the URL (ssh keeps checking the
host key under the real name through ``HostKeyAlias``). Tokens travel as an ``http.extraHeader``
passed through ``GIT_CONFIG_COUNT`` variables, never argv. Symlinks are checked out as symlinks
(``core.symlinks`` stays true) so the analyzer sees them with ``lstat`` and never follows them;
git itself does not follow them while writing. ``--filter=blob:limit`` is not used: checkout
would lazily fetch the omitted blobs again, so it bounds nothing; the size limit is enforced by
polling the destination instead.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol

from timbel.analysis.url_guard import CheckedUrl
from timbel.core.errors import IntegrationError
from timbel.core.gitproc import kill_group, verb

_REF = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)(?!.*@\{)[A-Za-z0-9._/+-]+(?<![./])(?<!\.lock)$")
# A full object name: SHA-1 (40 hex) or SHA-256 (64 hex). Shorter hex strings may be branch or tag
# names ("2024", "cafe"), so they are tried as refs and only the failure message mentions SHAs.
_FULL_SHA = re.compile(r"^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$")
_HEXISH = re.compile(r"^[0-9a-fA-F]{4,63}$")
_MIB = 1024 * 1024


class CloneFailed(IntegrationError):
    """git could not clone the repository (unreachable, not found, refused, bad ref)."""

    code = "clone-failed"
    title = "Repository clone failed"


class CloneTimedOut(CloneFailed):
    """The clone took longer than ``CloneLimits.timeout_seconds``."""

    code = "clone-timed-out"
    title = "Repository clone timed out"


class CloneTooLarge(CloneFailed):
    """The clone exceeded ``CloneLimits.max_bytes`` or ``max_files``."""

    code = "clone-too-large"
    title = "Repository too large"


class CredentialLookup(Protocol):
    """Find the token for a git host (filled later by the integrations, e.g. a GitHub token)."""

    def token_for(self, host: str) -> str | None:
        """Return the token to send to ``host`` (``name`` or ``name:port`` off the default port), or None."""
        ...


class NoCredentials:
    """Clone anonymously."""

    def token_for(self, host: str) -> str | None:
        """Return no token."""
        return None


@dataclass(frozen=True)
class CloneLimits:
    """Bounds for one clone; bytes count ``.git`` too, files count the working tree."""

    timeout_seconds: float = 120.0
    max_bytes: int = 512 * _MIB
    max_files: int = 100_000
    poll_seconds: float = 0.25


@dataclass(frozen=True)
class Submodule:
    """A submodule declared in ``.gitmodules``; reported, never fetched."""

    name: str
    path: str
    url: str


@dataclass
class ClonedRepo:
    """A checked-out shallow clone in a private temp dir; use it as a context manager to remove it."""

    path: Path
    commit: str
    ref: str | None
    submodules: tuple[Submodule, ...]
    temp_dir: Path = field(repr=False)

    def cleanup(self) -> None:
        """Delete the clone and its temp dir; idempotent."""
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> ClonedRepo:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cleanup()


@dataclass(frozen=True)
class GitInvocation:
    """The exact argv and environment of a clone (built separately so it can be inspected)."""

    argv: tuple[str, ...]
    env: dict[str, str] = field(repr=False)


def shallow_clone(
    checked: CheckedUrl,
    *,
    ref: str | None,
    dest_parent: Path,
    limits: CloneLimits,
    credentials: CredentialLookup,
    git: str = "git",
) -> ClonedRepo:
    """Clone ``checked`` at ``ref`` (branch, tag or full commit SHA; None: default branch) into a temp dir."""
    if ref is not None and not _REF.match(ref):
        raise CloneFailed(f"{ref!r} is not a valid branch or tag name")
    if not checked.addresses:
        raise CloneFailed("the URL has no checked address; pass it through check_repo_url first")
    temp_dir = Path(tempfile.mkdtemp(prefix="timbel-clone-", dir=dest_parent))
    dest = temp_dir / "repo"
    token = credentials.token_for(_host_key(checked)) if checked.scheme in ("https", "http") else None
    is_commit = ref is not None and _FULL_SHA.match(ref) is not None
    ref = ref.lower() if ref is not None and is_commit else ref
    try:
        _fetch_tree(checked, ref=ref, is_commit=is_commit, dest=dest, token=token, limits=limits, git=git)
        _check_size(dest, limits)
        local_env = _base_env()  # without the token
        commit = _git_output([git, "-C", str(dest), "rev-parse", "HEAD"], local_env)
        branch = _git_output([git, "-C", str(dest), "symbolic-ref", "-q", "--short", "HEAD"], local_env)
        if is_commit and commit != ref:
            raise CloneFailed(f"the server sent commit {commit or 'nothing'} instead of {ref}")
        submodules = _submodules(dest, git, local_env)
    except BaseException:
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    return ClonedRepo(dest, commit, ref or branch or None, submodules, temp_dir)


def _fetch_tree(
    checked: CheckedUrl,
    *,
    ref: str | None,
    is_commit: bool,
    dest: Path,
    token: str | None,
    limits: CloneLimits,
    git: str,
) -> None:
    """Put ``ref`` into ``dest``: a commit by init + fetch + checkout, a branch or tag by one clone."""
    deadline = time.monotonic() + limits.timeout_seconds  # one time budget for every step
    if is_commit and ref is not None:
        for step in commit_invocations(checked, commit=ref, dest=dest, token=token, git=git):
            _run_bounded(step, dest=dest, limits=limits, secret=token, deadline=deadline)
        return
    invocation = clone_invocation(checked, ref=ref, dest=dest, token=token, git=git)
    try:
        _run_bounded(invocation, dest=dest, limits=limits, secret=token, deadline=deadline)
    except CloneFailed as exc:
        if type(exc) is CloneFailed and ref is not None and _HEXISH.match(ref):
            hint = "it looks like an abbreviated commit SHA: use a full commit SHA, a branch or a tag"
            raise CloneFailed(f"{exc.detail}; {ref!r} is not a branch or tag here, {hint}") from exc
        raise


def clone_invocation(
    checked: CheckedUrl, *, ref: str | None, dest: Path, token: str | None, git: str = "git"
) -> GitInvocation:
    """Build the fixed argv and clean environment for cloning ``checked`` into ``dest``."""
    config, env, url = _remote(checked, token)
    argv = [git, *config, "clone", "--depth", "1", "--single-branch", "--no-tags", "--no-recurse-submodules"]
    if ref is not None:
        argv += ["--branch", ref]
    argv += ["--", url, str(dest)]
    return GitInvocation(tuple(argv), env)


def commit_invocations(
    checked: CheckedUrl, *, commit: str, dest: Path, token: str | None, git: str = "git"
) -> tuple[GitInvocation, ...]:
    """Build the three steps that check out one commit: init, fetch it at depth 1, check out FETCH_HEAD.

    ``git clone`` only takes branch and tag names, so a commit is fetched by its full name; the
    server must allow that (protocol v2 does; v0 needs ``uploadpack.allowReachableSHA1InWant``).
    Only the fetch talks to the server and only it carries the token.
    """
    config, env, url = _remote(checked, token)
    local_env = _base_env()
    object_format = "sha256" if len(commit) == 64 else "sha1"
    # An empty template directory: no sample hooks or other files from the host's git installation.
    init = [git, *config, "init", "-q", "--template=", f"--object-format={object_format}", "--", str(dest)]
    fetch = [git, *config, "-C", str(dest), "fetch", "-q", "--depth", "1", "--no-tags"]
    fetch += ["--no-recurse-submodules", "--", url, commit]
    checkout = [git, *config, "-c", "advice.detachedHead=false", "-C", str(dest)]
    checkout += ["checkout", "-q", "--detach", "FETCH_HEAD"]
    return (
        GitInvocation(tuple(init), local_env),
        GitInvocation(tuple(fetch), env),
        GitInvocation(tuple(checkout), local_env),
    )


def _remote(checked: CheckedUrl, token: str | None) -> tuple[list[str], dict[str, str], str]:
    """Return the ``-c`` options, environment and URL that pin and restrict every talk with the server."""
    config = [
        "protocol.allow=never",
        f"protocol.{checked.scheme}.allow=always",
        "http.followRedirects=false",
        "http.proxy=",
        "core.hooksPath=/dev/null",
        "core.fsmonitor=false",
        "submodule.recurse=false",
        "fetch.recurseSubmodules=false",
        "credential.helper=",
    ]
    env = _base_env()
    if checked.scheme in ("https", "http"):
        url = checked.url
        addresses = ",".join(f"[{a}]" if ":" in a else a for a in checked.addresses)
        config.append(f"http.curloptResolve={checked.host}:{checked.port}:{addresses}")
        if token is not None:
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            env |= {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
            }
    else:
        address = checked.addresses[0]
        netloc = f"[{address}]" if ":" in address else address
        user = f"{checked.user}@" if checked.user else ""
        if "://" in checked.url:
            url = f"{checked.scheme}://{user}{netloc}:{checked.port}{checked.path}"
        else:  # scp-like paths are relative to the remote home; keep that syntax (always port 22)
            url = f"{user}{netloc}:{checked.path}"
        if checked.scheme == "ssh":
            # HostKeyAlias keeps known_hosts checks on the real name while ssh dials the checked address.
            env["GIT_SSH_COMMAND"] = f"ssh -o BatchMode=yes -o HostKeyAlias={checked.host}"
            env["GIT_SSH_VARIANT"] = "ssh"
    options: list[str] = []
    for entry in config:
        options += ["-c", entry]
    return options, env, url


def _base_env() -> dict[str, str]:
    """An environment without inherited git, proxy or askpass settings."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/nonexistent"),
        "LANG": "C",
        "LC_ALL": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_PROTOCOL_FROM_USER": "0",
        "GIT_LFS_SKIP_SMUDGE": "1",
    }


def _run_bounded(
    invocation: GitInvocation, *, dest: Path, limits: CloneLimits, secret: str | None, deadline: float
) -> None:
    """Run git in its own process group; kill the group past ``deadline`` or when the tree grows too big."""
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(  # noqa: S603 - fixed argv from clone_invocation/commit_invocations
            invocation.argv,
            env=invocation.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            while process.poll() is None:
                if time.monotonic() >= deadline:
                    raise CloneTimedOut(f"the clone took longer than {limits.timeout_seconds:g} s")
                _check_size(dest, limits)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=limits.poll_seconds)
        finally:
            if process.poll() is None:
                kill_group(process)
        if process.returncode != 0:
            raise CloneFailed(f"git {verb(invocation.argv)} failed: {_tail(stderr, secret)}")


def _tail(stream: IO[bytes], secret: str | None) -> str:
    """Return git's last stderr lines with any secret removed."""
    stream.seek(0)
    text = stream.read()[-2000:].decode("utf-8", "replace").strip()
    if secret:
        text = text.replace(secret, "***")
    return text or "no message"


def _check_size(dest: Path, limits: CloneLimits) -> None:
    """Raise ``CloneTooLarge`` when the destination holds too many bytes or working-tree files."""
    total_bytes = files = 0
    stack = [dest]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue  # git is still creating or renaming it
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
                continue
            total_bytes += info.st_size
            if ".git" not in Path(entry.path).relative_to(dest).parts[:1]:
                files += 1
    if total_bytes > limits.max_bytes:
        raise CloneTooLarge(f"the clone exceeds {limits.max_bytes} bytes")
    if files > limits.max_files:
        raise CloneTooLarge(f"the clone exceeds {limits.max_files} files")


def _git_output(argv: list[str], env: dict[str, str]) -> str:
    """Run a read-only git command in the clone and return its trimmed stdout ('' on failure)."""
    result = subprocess.run(argv, env=env, capture_output=True, timeout=30, check=False)  # noqa: S603 - fixed argv
    return result.stdout.decode("utf-8", "replace").strip() if result.returncode == 0 else ""


def _submodules(dest: Path, git: str, env: dict[str, str]) -> tuple[Submodule, ...]:
    """List ``.gitmodules`` entries without fetching anything (includes are not followed)."""
    gitmodules = dest / ".gitmodules"
    if gitmodules.is_symlink() or not gitmodules.is_file():
        return ()
    argv = [git, "config", "--no-includes", "-z", "--file", str(gitmodules), "--list"]
    result = subprocess.run(argv, env=env, capture_output=True, timeout=30, check=False)  # noqa: S603 - fixed argv
    found: dict[str, dict[str, str]] = {}
    for record in result.stdout.decode("utf-8", "replace").split("\0"):
        key, _, value = record.partition("\n")
        if key.startswith("submodule.") and key.rsplit(".", 1)[-1] in ("path", "url"):
            name, attribute = key[len("submodule.") :].rsplit(".", 1)
            found.setdefault(name, {})[attribute] = value
    return tuple(
        Submodule(name, values.get("path", ""), values.get("url", ""))
        for name, values in sorted(found.items())
    )


def _host_key(checked: CheckedUrl) -> str:
    """The host a token is looked up for: ``name`` on the scheme's default port, else ``name:port``."""
    default = {"https": 443, "http": 80}.get(checked.scheme)
    host = f"[{checked.host}]" if ":" in checked.host else checked.host
    return host if checked.port in (default, 0) else f"{host}:{checked.port}"
