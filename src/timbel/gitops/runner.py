"""Run the git CLI for the GitOps working clone: fixed argv, an environment from scratch, no secrets out.

Why this shape (the same rules as ``analysis/clone.py``): no shell; no user or system git config, so no
``url.insteadOf``, proxy or credential helper can reroute a push; hooks off; only the remote URL's own
protocol allowed; no terminal prompts. An https token travels as an ``http.extraHeader`` in
``GIT_CONFIG_COUNT`` variables, never in argv, the URL or an error message. An ssh key is written to a
private 0600 temp file for the duration of one remote command and named in ``GIT_SSH_COMMAND``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from timbel.core.gitproc import kill_group, verb
from timbel.gitops.errors import GitOpsError

_SCP_LIKE = re.compile(
    r"^(?P<user>[A-Za-z0-9._-]+@)?(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*):(?P<path>[A-Za-z0-9._~/+-]\S*)$"
)
_SCHEMES = ("https", "http", "ssh", "git")
_MAX_MESSAGE = 2000


@dataclass(frozen=True)
class RepoCredentials:
    """How Timbel authenticates to a GitOps remote: an https token or an ssh private key."""

    token: str | None = field(default=None, repr=False)
    username: str = "x-access-token"  # GitHub's convention; GitLab accepts "oauth2"
    ssh_private_key: str | None = field(default=None, repr=False)
    # known_hosts lines; when given, host keys are checked strictly against them only.
    ssh_known_hosts: str | None = None

    def secrets(self) -> tuple[str, ...]:
        """Every string that must never appear in a message (the token and its Basic encoding)."""
        if not self.token:
            return ()
        return (self.token, _basic(self.username, self.token))


@dataclass(frozen=True)
class GitInvocation:
    """The exact argv and environment of one git command (built separately so tests can inspect it)."""

    argv: tuple[str, ...]
    env: dict[str, str] = field(repr=False)


@dataclass(frozen=True)
class GitResult:
    """Exit status and decoded output of one git command."""

    returncode: int
    stdout: str
    stderr: str


def url_scheme(url: str, *, allow_local: bool) -> str:
    """Return the git transport of ``url`` (https, http, ssh, git, file) or refuse it."""
    if "::" in url or any(c.isspace() or ord(c) < 32 for c in url):
        raise GitOpsError("the GitOps repository URL has a remote-helper prefix or whitespace")
    if "://" in url:
        scheme = url.split("://", 1)[0].lower()
        if scheme == "file" and allow_local:
            return "file"
        if scheme not in _SCHEMES:
            raise GitOpsError(f"unsupported GitOps repository URL scheme {scheme!r}")
        authority = url.split("://", 1)[1].split("/", 1)[0]
        if scheme in ("https", "http") and "@" in authority:
            raise GitOpsError("put credentials in the integration settings, not in the repository URL")
        return scheme
    if url.startswith("/"):
        if not allow_local:
            raise GitOpsError("a local repository path is allowed only for the embedded GitOps repository")
        return "file"
    if _SCP_LIKE.match(url) and not url.startswith("-"):
        return "ssh"
    raise GitOpsError("the GitOps repository URL is not an https, ssh or git URL")


def config_options(scheme: str) -> list[str]:
    """The ``-c`` options on every command: one protocol, no hooks, no redirects, proxies or helpers."""
    entries = [
        "protocol.allow=never",
        f"protocol.{scheme}.allow=always",
        "http.followRedirects=false",
        "http.proxy=",
        "credential.helper=",
        "core.hooksPath=/dev/null",
        "core.fsmonitor=false",
        "core.autocrlf=false",
        "commit.gpgsign=false",
        "tag.gpgsign=false",
        "submodule.recurse=false",
        "fetch.recurseSubmodules=false",
        "advice.detachedHead=false",
        "init.defaultBranch=main",
    ]
    options: list[str] = []
    for entry in entries:
        options += ["-c", entry]
    return options


def base_env() -> dict[str, str]:
    """An environment without inherited git, proxy or askpass settings."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/nonexistent",
        "LANG": "C",
        "LC_ALL": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_PROTOCOL_FROM_USER": "0",
        "GIT_LFS_SKIP_SMUDGE": "1",
        "GIT_ASKPASS": "/bin/false",
        "SSH_ASKPASS": "/bin/false",
    }


@dataclass(frozen=True)
class SshFiles:
    """Files for one ssh command: the private key (if any) and the known_hosts file to check against."""

    key: Path | None
    known_hosts: Path
    strict: bool  # False: trust on first use, pinned in ``known_hosts`` (kept in the cache dir)


def build_invocation(
    args: list[str],
    *,
    cwd: Path | None,
    scheme: str,
    credentials: RepoCredentials | None,
    remote: bool,
    ssh: SshFiles | None = None,
    git: str = "git",
) -> GitInvocation:
    """Build argv and env for ``git args``; only ``remote`` commands carry credentials."""
    argv = [git, *config_options(scheme)]
    if cwd is not None:
        argv += ["-C", str(cwd)]
    argv += args
    env = base_env()
    if remote and credentials is not None and credentials.token and scheme in ("https", "http"):
        env |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {_basic(credentials.username, credentials.token)}",
        }
    if remote and scheme == "ssh" and ssh is not None:
        env["GIT_SSH_VARIANT"] = "ssh"
        env["GIT_SSH_COMMAND"] = ssh_command(ssh)
    return GitInvocation(tuple(argv), env)


def ssh_command(files: SshFiles) -> str:
    """The ``GIT_SSH_COMMAND`` for a key and known_hosts file (paths shell-quoted: git runs it via sh)."""
    words = ["ssh", "-o", "BatchMode=yes", "-o", "IdentityAgent=none"]
    if files.key is not None:
        words += ["-i", shlex.quote(str(files.key)), "-o", "IdentitiesOnly=yes"]
    words += ["-o", f"StrictHostKeyChecking={'yes' if files.strict else 'accept-new'}"]
    words += ["-o", f"UserKnownHostsFile={shlex.quote(str(files.known_hosts))}"]
    return " ".join(words)


@contextlib.contextmanager
def ssh_files(credentials: RepoCredentials | None, *, pinned_hosts: Path) -> Iterator[SshFiles]:
    """Write the ssh key (0600) and known_hosts into a private temp dir for one command, then delete them.

    Without configured known_hosts, the first host key seen is pinned in ``pinned_hosts`` and checked after.
    """
    with tempfile.TemporaryDirectory(prefix="timbel-ssh-") as directory:
        key: Path | None = None
        if credentials is not None and credentials.ssh_private_key:
            key = Path(directory) / "key"
            fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(credentials.ssh_private_key.rstrip("\n") + "\n")
        if credentials is not None and credentials.ssh_known_hosts:
            known_hosts = Path(directory) / "known_hosts"
            known_hosts.write_text(credentials.ssh_known_hosts.rstrip("\n") + "\n")
            yield SshFiles(key, known_hosts, strict=True)
        else:
            yield SshFiles(key, pinned_hosts, strict=False)


def run(
    invocation: GitInvocation,
    *,
    timeout: float,
    secrets: tuple[str, ...] = (),
    stdin: bytes | None = None,
    max_output: int | None = None,
) -> GitResult:
    """Run git in its own process group; kill the group on timeout; scrub ``secrets`` from the output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(  # noqa: S603 - fixed argv from build_invocation
            invocation.argv,
            env=invocation.env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            process.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            kill_group(process)
            raise GitOpsError(f"git {verb(invocation.argv)} took longer than {timeout:g} s") from exc
        out.seek(0)
        err.seek(0)
        stdout = out.read(max_output + 1 if max_output is not None else -1)
        stderr = err.read()[-_MAX_MESSAGE:]
    return GitResult(process.returncode, _scrub(_decode(stdout), secrets), _scrub(_decode(stderr), secrets))


def _basic(username: str, token: str) -> str:
    return base64.b64encode(f"{username}:{token}".encode()).decode()


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
