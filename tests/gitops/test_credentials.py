"""How git is called: fixed argv, a clean environment, the token only as a header, never in argv or errors."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from tests.gitops.conftest import HEADER, make_bare, message, refuse_pushes
from tests.servers.git_http import GitHttpServer
from timbel.gitops import GitOpsError, PushFailed, RepoCredentials, commit_files, open_repo, push
from timbel.gitops.runner import SshFiles, build_invocation, ssh_command, ssh_files, url_scheme

SECRET = "ghp_s3cr3t-token-value"
BASIC = base64.b64encode(f"x-access-token:{SECRET}".encode()).decode()


class TestToken:
    def test_token_is_a_header_never_in_argv_config_or_messages(
        self, http_server: GitHttpServer, tmp_path: Path
    ) -> None:
        bare = make_bare(http_server.root, "with-token")
        credentials = RepoCredentials(token=SECRET)
        repo = open_repo(url=http_server.url_for("with-token"), cache_dir=tmp_path, credentials=credentials)

        remote = repo.invocation(["push", "--porcelain", "origin", "HEAD:refs/heads/main"], remote=True)
        local = repo.invocation(["status"])
        assert not any(SECRET in word or BASIC in word for word in remote.argv)
        assert remote.env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
        assert remote.env["GIT_CONFIG_VALUE_0"] == f"Authorization: Basic {BASIC}"
        assert "GIT_CONFIG_COUNT" not in local.env  # local commands never carry it
        assert SECRET not in repr(credentials) and SECRET not in repr(repo) and SECRET not in repr(remote)

        commit_files(repo, files={"a/values.yaml": HEADER}, message=message("Add"))
        refuse_pushes(bare, f"denied for {SECRET} / {BASIC}")  # a remote that echoes the secret back
        with pytest.raises(PushFailed) as info:
            push(repo)

        shown = f"{info.value} {info.value.remote_message} {info.value.detail}"
        assert SECRET not in shown and BASIC not in shown and "denied for *** / ***" in shown
        assert any(r["authorization"] == f"Basic {BASIC}" for r in http_server.requests())
        for config in (repo.path / ".git").glob("config*"):
            assert SECRET not in config.read_text() and BASIC not in config.read_text()

    def test_credentials_in_the_url_are_refused(self, tmp_path: Path) -> None:
        with pytest.raises(GitOpsError, match="not in the repository URL") as info:
            open_repo(url=f"https://x:{SECRET}@127.0.0.1/r.git", cache_dir=tmp_path, credentials=None)
        assert SECRET not in str(info.value)


class TestUrls:
    @pytest.mark.parametrize(
        ("url", "scheme"),
        [
            ("https://git.example.com/ops/gitops.git", "https"),
            ("http://127.0.0.1:8080/git/r.git", "http"),
            ("ssh://git@git.example.com:2222/ops/gitops.git", "ssh"),
            ("git@github.com:acme/gitops.git", "ssh"),
            ("git://127.0.0.1:9418/r.git", "git"),
        ],
    )
    def test_remote_urls(self, url: str, scheme: str) -> None:
        assert url_scheme(url, allow_local=False) == scheme

    @pytest.mark.parametrize(
        "url",
        [
            "/var/gitops.git",
            "file:///var/gitops.git",
            "ext::sh -c touch% /tmp/x",
            "-u/x:y",
            "ftp://h/r",
            "host:/a b",
            "fd::17",
            "https://h/r\nx",
            "h::/x",
        ],
    )
    def test_local_and_odd_urls_are_refused(self, url: str) -> None:
        with pytest.raises(GitOpsError):
            url_scheme(url, allow_local=False)

    def test_local_paths_only_when_allowed(self) -> None:
        assert url_scheme("/var/gitops.git", allow_local=True) == "file"
        assert url_scheme("file:///var/gitops.git", allow_local=True) == "file"

    def test_only_the_urls_protocol_is_allowed_and_hooks_are_off(self) -> None:
        invocation = build_invocation(["fetch"], cwd=None, scheme="https", credentials=None, remote=True)
        argv = " ".join(invocation.argv)
        assert "protocol.allow=never" in argv and "protocol.https.allow=always" in argv
        assert "core.hooksPath=/dev/null" in argv and "credential.helper=" in argv
        assert invocation.env["GIT_TERMINAL_PROMPT"] == "0" and invocation.env["GIT_CONFIG_NOSYSTEM"] == "1"
        assert invocation.env["GIT_CONFIG_GLOBAL"] == "/dev/null"


class TestSsh:
    def test_key_file_is_private_and_removed(self, tmp_path: Path) -> None:
        credentials = RepoCredentials(ssh_private_key="-----BEGIN KEY-----\nabc\n-----END KEY-----")
        with ssh_files(credentials, pinned_hosts=tmp_path / "known_hosts") as files:
            assert files.key is not None and files.key.read_text().endswith("-----END KEY-----\n")
            assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
            assert not files.strict and files.known_hosts == tmp_path / "known_hosts"
            key = files.key
        assert not key.exists()
        assert "abc" not in repr(credentials)

    def test_known_hosts_make_host_checking_strict(self, tmp_path: Path) -> None:
        credentials = RepoCredentials(ssh_private_key="k", ssh_known_hosts="git.example.com ssh-ed25519 AAAA")
        with ssh_files(credentials, pinned_hosts=tmp_path / "pinned") as files:
            command = ssh_command(files)
            assert files.known_hosts.read_text() == "git.example.com ssh-ed25519 AAAA\n"
        assert f"-i {files.key} -o IdentitiesOnly=yes" in command
        assert "StrictHostKeyChecking=yes" in command and f"UserKnownHostsFile={files.known_hosts}" in command

    def test_ssh_command_quotes_paths_and_goes_only_to_remote_commands(self, tmp_path: Path) -> None:
        files = SshFiles(Path("/tmp/a dir/key"), Path("/tmp/a dir/hosts"), strict=False)
        command = ssh_command(files)
        assert "-i '/tmp/a dir/key'" in command and "StrictHostKeyChecking=accept-new" in command
        remote = build_invocation(["fetch"], cwd=None, scheme="ssh", credentials=None, remote=True, ssh=files)
        local = build_invocation(
            ["status"], cwd=None, scheme="ssh", credentials=None, remote=False, ssh=files
        )
        assert remote.env["GIT_SSH_COMMAND"] == command and "GIT_SSH_COMMAND" not in local.env
