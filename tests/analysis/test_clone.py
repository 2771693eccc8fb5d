"""Shallow clones over real smart HTTP (loopback git http-backend): refs, limits, cleanup, credentials."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from tests.servers import ServerUnavailableError, git_http, pid_alive, port_open
from tests.servers.git_http import GitHttpServer, start_git_http
from timbel.analysis.analyzer import analyze_url
from timbel.analysis.clone import (
    ClonedRepo,
    CloneFailed,
    CloneLimits,
    CloneTimedOut,
    CloneTooLarge,
    NoCredentials,
    Submodule,
    clone_invocation,
    commit_invocations,
    shallow_clone,
)
from timbel.analysis.url_guard import AllowList, CheckedUrl, check_repo_url

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "PATH": os.environ["PATH"],
}
LOOPBACK_ALLOWED = AllowList.from_entries(["127.0.0.0/8"])
SECRET = "ghp_s3cr3t-token-value"


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity and no signing."""
    argv = ["git", "-c", "commit.gpgsign=false", "-C", str(repo), *args]
    return subprocess.run(argv, env=GIT_ENV, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(path: Path, files: dict[str, bytes]) -> Path:
    """Create a one-commit repository on branch ``main`` with ``files``."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for name, content in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(content)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "first")
    return path


class StaticResolver:
    """Resolves every name to fixed loopback addresses, without DNS."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = list(addresses)

    def resolve(self, host: str) -> list[str]:
        return self.addresses


class TokenFor:
    """Hands out one token for one host."""

    def __init__(self, host: str, token: str) -> None:
        self.host, self.token = host, token

    def token_for(self, host: str) -> str | None:
        return self.token if host == self.host else None


def token_for_server(server: GitHttpServer) -> TokenFor:
    """The token for the test server's ``host:port`` (its port is not the scheme's default)."""
    return TokenFor(f"127.0.0.1:{server.port}", SECRET)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHttpServer]:
    """One loopback git server serving ``demo`` (branches, tag, symlink, submodule) and ``big``."""
    base = tmp_path_factory.mktemp("git-http")
    running = start_git_http(base / "srv")
    try:
        demo = make_repo(base / "demo", {"README.md": b"# demo\n", "app/main.py": b"print('hi')\n"})
        os.symlink("/etc/passwd", demo / "escape")
        (demo / ".gitmodules").write_text(
            '[submodule "lib"]\n\tpath = lib\n\turl = https://example.com/lib.git\n'
        )
        git(demo, "add", "-A")
        git(demo, "update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},lib")
        git(demo, "commit", "-q", "-m", "links")
        git(demo, "tag", "v1")
        git(demo, "checkout", "-q", "-b", "feature")
        (demo / "feature.txt").write_text("feature\n")
        git(demo, "add", "-A")
        git(demo, "commit", "-q", "-m", "feature")
        git(demo, "checkout", "-q", "main")
        running.add_repo("demo", demo)
        files = {f"f{i}.txt": f"{i}\n".encode() for i in range(60)} | {
            "blob.bin": os.urandom(3 * 1024 * 1024)
        }
        running.add_repo("big", make_repo(base / "big", files))
        yield running
    finally:
        running.stop()


def checked(url: str) -> CheckedUrl:
    return check_repo_url(url, resolver=StaticResolver("127.0.0.1"), allow=LOOPBACK_ALLOWED)


def clone(url: str, dest_parent: Path, **kwargs: Any) -> ClonedRepo:
    kwargs.setdefault("ref", None)
    kwargs.setdefault("limits", CloneLimits(timeout_seconds=20))
    kwargs.setdefault("credentials", NoCredentials())
    return shallow_clone(checked(url), dest_parent=dest_parent, **kwargs)


def source_sha(server: GitHttpServer, ref: str) -> str:
    return git(server.root / "demo.git", "rev-parse", f"{ref}^{{commit}}")


class TestShallowClone:
    def test_clones_the_default_branch_and_cleans_up(self, server: GitHttpServer, tmp_path: Path) -> None:
        with clone(server.url_for("demo"), tmp_path) as repo:
            assert repo.commit == source_sha(server, "main") and repo.ref == "main"
            assert (repo.path / "app" / "main.py").read_text() == "print('hi')\n"
            assert git(repo.path, "rev-list", "--count", "HEAD") == "1"  # shallow
            assert git(repo.path, "tag") == ""
            assert repo.submodules == (Submodule("lib", "lib", "https://example.com/lib.git"),)
            assert list((repo.path / "lib").iterdir()) == []  # listed, not fetched
            escape = repo.path / "escape"
            assert escape.is_symlink() and os.readlink(escape) == "/etc/passwd"
        assert list(tmp_path.iterdir()) == []

    @pytest.mark.parametrize("ref", ["feature", "v1"])
    def test_selects_a_branch_or_tag(self, server: GitHttpServer, tmp_path: Path, ref: str) -> None:
        with clone(server.url_for("demo"), tmp_path, ref=ref) as repo:
            assert repo.commit == source_sha(server, ref) and repo.ref == ref
            assert (repo.path / "feature.txt").exists() is (ref == "feature")

    @pytest.mark.parametrize("ref", ["missing", "-x", "a..b", "refs/heads/main.lock"])
    def test_unknown_or_malformed_refs_fail_and_leave_nothing(
        self, server: GitHttpServer, tmp_path: Path, ref: str
    ) -> None:
        with pytest.raises(CloneFailed):
            clone(server.url_for("demo"), tmp_path, ref=ref)
        assert list(tmp_path.iterdir()) == []

    def test_connects_only_to_the_pinned_address(self, tmp_path: Path) -> None:
        # The server listens on 127.0.0.2 only; the name would otherwise reach 127.0.0.1.
        other = start_git_http(tmp_path / "srv", host="127.0.0.2")
        try:
            other.add_repo("demo", make_repo(tmp_path / "src", {"a.txt": b"a\n"}))
            url = f"http://repo.localhost:{other.port}/git/demo.git"
            allow = AllowList.from_entries(["repo.localhost"])
            target = check_repo_url(url, resolver=StaticResolver("127.0.0.2"), allow=allow)
            assert target.addresses == ("127.0.0.2",)
            out = tmp_path / "out"
            out.mkdir()
            limits = CloneLimits(timeout_seconds=20)
            with shallow_clone(
                target, ref=None, dest_parent=out, limits=limits, credentials=NoCredentials()
            ) as r:
                assert (r.path / "a.txt").read_text() == "a\n"
        finally:
            other.stop()

    def test_redirects_are_not_followed(self, server: GitHttpServer, tmp_path: Path) -> None:
        seen = len(server.requests())
        with pytest.raises(CloneFailed, match="redirect"):
            clone(server.url_for("demo", route="redirect"), tmp_path)
        paths = [request["path"] for request in server.requests()[seen:]]
        assert paths and all(path.startswith("/redirect/") for path in paths)
        assert list(tmp_path.iterdir()) == []


class TestCommitRefs:
    def test_fetches_a_commit_that_is_no_branch_tip(self, server: GitHttpServer, tmp_path: Path) -> None:
        first = source_sha(server, "main~1")
        with clone(server.url_for("demo"), tmp_path, ref=first.upper()) as repo:
            assert repo.commit == first and repo.ref == first
            assert (repo.path / "app" / "main.py").exists() and not (repo.path / "escape").is_symlink()
            assert git(repo.path, "rev-list", "--count", "HEAD") == "1"  # shallow
            assert not list((repo.path / ".git" / "hooks").glob("*"))  # no template hooks
        assert list(tmp_path.iterdir()) == []

    def test_the_report_names_the_requested_commit(self, server: GitHttpServer, tmp_path: Path) -> None:
        first = source_sha(server, "main~1")
        report = analyze_url(
            server.url_for("demo"),
            ref=first,
            allow=LOOPBACK_ALLOWED,
            resolver=StaticResolver("127.0.0.1"),
            limits=CloneLimits(timeout_seconds=20),
            dest_parent=tmp_path,
        )
        assert (report.source.commit, report.source.ref) == (first, first)
        assert list(tmp_path.iterdir()) == []

    def test_an_abbreviated_sha_asks_for_a_full_one(self, server: GitHttpServer, tmp_path: Path) -> None:
        short = source_sha(server, "main~1")[:7]
        with pytest.raises(CloneFailed, match="use a full commit SHA, a branch or a tag"):
            clone(server.url_for("demo"), tmp_path, ref=short)
        assert list(tmp_path.iterdir()) == []

    def test_an_unknown_commit_fails_and_leaves_nothing(self, server: GitHttpServer, tmp_path: Path) -> None:
        with pytest.raises(CloneFailed, match="git fetch failed"):
            clone(server.url_for("demo"), tmp_path, ref="0" * 40)
        assert list(tmp_path.iterdir()) == []

    def test_a_stalled_commit_fetch_times_out(self, server: GitHttpServer, tmp_path: Path) -> None:
        with pytest.raises(CloneTimedOut):
            clone(
                server.url_for("demo", route="stall"),
                tmp_path,
                ref="a" * 40,
                limits=CloneLimits(timeout_seconds=1),
            )
        assert list(tmp_path.iterdir()) == []

    def test_the_token_reaches_the_server_only_through_the_fetch_environment(
        self, server: GitHttpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        started = spy_popen(monkeypatch)
        seen = len(server.requests())
        first = source_sha(server, "main~1")
        with clone(server.url_for("demo"), tmp_path, ref=first, credentials=token_for_server(server)):
            pass
        headers = {request["authorization"] for request in server.requests()[seen:]}
        assert len(headers) == 1 and headers.pop().startswith("Basic ")
        argv = " ".join(str(arg) for process in started for arg in cast(list[str], process.args))
        assert SECRET not in argv and "Basic" not in argv

    def test_every_step_is_pinned_and_only_the_fetch_carries_the_token(self, tmp_path: Path) -> None:
        target = CheckedUrl(
            "https://h.example/r.git", "https", "h.example", 443, "/r.git", None, ("1.2.3.4",)
        )
        init, fetch, checkout = commit_invocations(target, commit="ab" * 32, dest=tmp_path / "r", token="t")
        assert "--object-format=sha256" in init.argv and "--template=" in init.argv
        assert fetch.argv[-3:] == ("--", "https://h.example/r.git", "ab" * 32)
        for step in (init, fetch, checkout):
            assert "http.curloptResolve=h.example:443:1.2.3.4" in step.argv
            assert "core.hooksPath=/dev/null" in step.argv and "protocol.allow=never" in step.argv
        assert fetch.env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
        assert "GIT_CONFIG_VALUE_0" not in init.env and "GIT_CONFIG_VALUE_0" not in checkout.env


class TestLimits:
    def test_a_stalled_server_times_out_and_git_is_killed(
        self, server: GitHttpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        started = spy_popen(monkeypatch)
        with pytest.raises(CloneTimedOut):
            clone(server.url_for("demo", route="stall"), tmp_path, limits=CloneLimits(timeout_seconds=1))
        assert started and not pid_alive(started[0].pid)
        assert list(tmp_path.iterdir()) == []

    @pytest.mark.parametrize(
        "limits", [CloneLimits(max_bytes=1024 * 1024), CloneLimits(max_files=20)], ids=["bytes", "files"]
    )
    def test_too_large_repositories_are_refused_and_removed(
        self, server: GitHttpServer, tmp_path: Path, limits: CloneLimits
    ) -> None:
        with pytest.raises(CloneTooLarge):
            clone(server.url_for("big"), tmp_path, limits=limits)
        assert list(tmp_path.iterdir()) == []


class TestCredentials:
    def test_the_token_reaches_the_server_but_not_argv(
        self, server: GitHttpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        started = spy_popen(monkeypatch)
        seen = len(server.requests())
        with clone(server.url_for("demo"), tmp_path, credentials=token_for_server(server)):
            pass
        headers = {request["authorization"] for request in server.requests()[seen:]}
        assert len(headers) == 1 and headers.pop().startswith("Basic ")
        argv = " ".join(str(arg) for process in started for arg in cast(list[str], process.args))
        assert SECRET not in argv and "Basic" not in argv

    def test_an_ssh_clone_never_carries_the_token_header(self, tmp_path: Path) -> None:
        target = CheckedUrl(
            "ssh://git@github.com/o/r.git", "ssh", "github.com", 22, "/o/r.git", "git", ("1.2.3.4",)
        )
        invocation = clone_invocation(target, ref=None, dest=tmp_path / "r", token=SECRET)
        assert "GIT_CONFIG_VALUE_0" not in invocation.env
        assert not any(SECRET in value for value in [*invocation.argv, *invocation.env.values()])


class TestInvocation:
    def test_ssh_and_git_urls_dial_the_checked_address(self, tmp_path: Path) -> None:
        ssh = CheckedUrl(
            "git@github.com:o/r.git", "ssh", "github.com", 22, "o/r.git", "git", ("140.82.112.3",)
        )
        invocation = clone_invocation(ssh, ref="main", dest=tmp_path / "r", token=None)
        assert invocation.argv[-3:] == ("--", "git@140.82.112.3:o/r.git", str(tmp_path / "r"))
        assert "HostKeyAlias=github.com" in invocation.env["GIT_SSH_COMMAND"]
        assert "protocol.ssh.allow=always" in invocation.argv and "protocol.allow=never" in invocation.argv
        v6 = CheckedUrl(
            "ssh://h.example:2222/r.git", "ssh", "h.example", 2222, "/r.git", None, ("2606:50c0::1",)
        )
        assert (
            "ssh://[2606:50c0::1]:2222/r.git"
            in clone_invocation(v6, ref=None, dest=tmp_path, token=None).argv
        )
        plain = CheckedUrl(
            "git://h.example/r.git", "git", "h.example", 9418, "/r.git", None, ("2606:50c0::1",)
        )
        argv = clone_invocation(plain, ref=None, dest=tmp_path / "r", token=None).argv
        assert "git://[2606:50c0::1]:9418/r.git" in argv

    def test_https_keeps_the_name_and_pins_every_address(self, tmp_path: Path) -> None:
        target = CheckedUrl(
            "https://h.example/r.git", "https", "h.example", 443, "/r.git", None, ("1.2.3.4", "2001::1")
        )
        invocation = clone_invocation(target, ref=None, dest=tmp_path / "r", token="t")
        assert "http.curloptResolve=h.example:443:1.2.3.4,[2001::1]" in invocation.argv
        assert (
            "https://h.example/r.git" in invocation.argv and "http.followRedirects=false" in invocation.argv
        )
        assert "core.hooksPath=/dev/null" in invocation.argv and "--depth" in invocation.argv
        assert invocation.env["GIT_TERMINAL_PROMPT"] == "0" and "GIT_ASKPASS" not in invocation.env
        assert "t" not in invocation.argv and invocation.env["GIT_CONFIG_KEY_0"] == "http.extraHeader"


def spy_popen(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[bytes]]:
    """Record every process the clone module starts."""
    started: list[subprocess.Popen[bytes]] = []
    real = subprocess.Popen

    def recording(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        process: subprocess.Popen[bytes] = real(*args, **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(subprocess, "Popen", recording)  # the module object the clone code calls through
    return started


class TestGitHttpServer:
    def test_stops_by_pid(self, tmp_path: Path) -> None:
        running = start_git_http(tmp_path)
        running.stop()
        assert not pid_alive(running.pid) and not port_open(running.port)
        running.stop()  # idempotent

    def test_a_missing_backend_names_the_setup_command(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(git_http, "HTTP_BACKEND", tmp_path / "no-git-http-backend")
        with pytest.raises(ServerUnavailableError, match=r"make test.*apt-get install -y git"):
            start_git_http(tmp_path)
