"""Commits and pushes against real git servers on loopback (git http-backend and git daemon)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.gitops.conftest import (
    HEADER,
    Remote,
    allow_pushes,
    git,
    hand_commit,
    make_bare,
    message,
    refuse_pushes,
    remote_file,
)
from tests.servers.git_daemon import start_git_daemon
from tests.servers.git_http import GitHttpServer
from timbel.gitops import (
    README,
    PushFailed,
    PushResult,
    RebaseConflict,
    commit_files,
    discard_local,
    ensure_layout,
    open_repo,
    push,
    unpushed,
)
from timbel.gitops.repo import GitOpsRepo

VALUES = "acme/shop/envs/dev/values.yaml"


def open_at(remote: Remote, cache: Path) -> GitOpsRepo:
    return open_repo(url=remote.url, cache_dir=cache, credentials=None)


def seeded(remote: Remote, cache: Path) -> GitOpsRepo:
    """Open the remote and push the layout commit."""
    repo = open_at(remote, cache)
    ensure_layout(repo, message=message("Create GitOps layout", op="op-layout"))
    push(repo)
    return repo


class TestFirstCommit:
    def test_empty_remote_gets_the_layout_and_the_files(self, remote: Remote, tmp_path: Path) -> None:
        repo = open_at(remote, tmp_path / "cache")
        assert repo.head() is None
        layout = ensure_layout(repo, message=message("Create GitOps layout", op="op-layout"))
        assert layout is not None and layout.written == ("README.md",)
        files = {VALUES: HEADER + "replicas: 1\n", "argocd/projects/acme.yaml": HEADER + "kind: AppProject\n"}
        result = commit_files(repo, files=files, message=message("Add shop to dev"))
        assert result.written == ("acme/shop/envs/dev/values.yaml", "argocd/projects/acme.yaml")

        pushed = push(repo)

        assert pushed == PushResult(result.sha, pushed=True, attempts=1, rebased=False)
        assert git(remote.bare, "rev-parse", "main") == result.sha
        assert remote_file(remote.bare, "README.md") == README
        assert remote_file(remote.bare, VALUES) == HEADER + "replicas: 1\n"
        body = git(remote.bare, "log", "-1", "--format=%B", "main")
        assert body == "Add shop to dev\n\nwizard step 4\n\nRequested-by: alice\nTimbel-Operation: op-1"
        people = git(remote.bare, "log", "-1", "--format=%an <%ae>|%cn <%ce>", "main")
        assert people == "Timbel <timbel@localhost>|Timbel <timbel@localhost>"
        assert ensure_layout(repo, message=message("again")) is None
        assert unpushed(repo) == []

    def test_a_second_commit_from_a_fresh_working_clone(self, remote: Remote, tmp_path: Path) -> None:
        first = seeded(remote, tmp_path / "a")
        commit_files(first, files={VALUES: HEADER + "replicas: 1\n"}, message=message("Add shop"))
        push(first)

        second = open_at(remote, tmp_path / "b")
        assert second.head() == first.head()
        result = commit_files(
            second, files={VALUES: HEADER + "replicas: 2\n"}, message=message("Scale", op="op-2")
        )
        unchanged = commit_files(second, files={VALUES: HEADER + "replicas: 2\n"}, message=message("Again"))
        assert push(second).pushed

        assert unchanged.sha is None and not unchanged.committed
        assert remote_file(remote.bare, VALUES) == HEADER + "replicas: 2\n"
        assert git(remote.bare, "rev-list", "--count", "main") == "3"
        assert git(remote.bare, "rev-parse", "main") == result.sha


class TestConcurrency:
    def test_two_threads_on_two_working_clones_both_land(self, remote: Remote, tmp_path: Path) -> None:
        seeded(remote, tmp_path / "seed")
        clones = {"a": open_at(remote, tmp_path / "a"), "b": open_at(remote, tmp_path / "b")}
        both_committed = threading.Barrier(2, timeout=30)
        results: dict[str, PushResult] = {}
        errors: list[BaseException] = []

        def work(name: str) -> None:
            try:
                path = f"acme/{name}/envs/dev/values.yaml"
                commit_files(
                    clones[name], files={path: HEADER + f"name: {name}\n"}, message=message(name, op=name)
                )
                both_committed.wait()  # both commits sit on the same parent before either pushes
                results[name] = push(clones[name])
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(name,)) for name in clones]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        assert errors == []
        assert all(r.pushed for r in results.values())
        assert sorted(r.rebased for r in results.values()) == [False, True]
        assert sorted(r.attempts for r in results.values()) == [1, 2]
        history = git(remote.bare, "log", "--format=%s", "main").splitlines()
        assert sorted(history[:2]) == ["a", "b"] and history[2] == "Create GitOps layout"
        assert git(remote.bare, "rev-list", "--merges", "main") == ""  # rebased, never merged
        for name in clones:
            assert remote_file(remote.bare, f"acme/{name}/envs/dev/values.yaml") == HEADER + f"name: {name}\n"


class TestRejectedPushes:
    def test_a_non_fast_forward_is_rebased_and_retried(self, remote: Remote, tmp_path: Path) -> None:
        repo = seeded(remote, tmp_path / "cache")
        ours = commit_files(repo, files={VALUES: HEADER + "replicas: 1\n"}, message=message("Add shop"))
        theirs = hand_commit(remote.url, tmp_path / "person", {"docs/notes.md": "unrelated note\n"})

        result = push(repo)

        assert result.pushed and result.rebased and result.attempts == 2
        assert result.sha != ours.sha  # rebased onto the person's commit
        assert git(remote.bare, "rev-parse", "main~1") == theirs
        assert remote_file(remote.bare, "docs/notes.md") == "unrelated note\n"
        assert remote_file(remote.bare, VALUES) == HEADER + "replicas: 1\n"

    def test_retries_run_out_with_the_rejection_and_the_commit_is_kept(
        self, remote: Remote, tmp_path: Path
    ) -> None:
        repo = seeded(remote, tmp_path / "cache")
        ours = commit_files(repo, files={VALUES: HEADER + "replicas: 1\n"}, message=message("Add shop"))
        hand_commit(remote.url, tmp_path / "person", {"docs/notes.md": "note\n"})

        with pytest.raises(PushFailed) as info:
            push(repo, attempts=1)

        assert "fetch first" in info.value.remote_message or "non-fast-forward" in info.value.remote_message
        assert unpushed(repo) == [ours.sha]

    def test_a_refusing_remote_fails_with_its_message_and_keeps_the_commit(
        self, remote: Remote, tmp_path: Path
    ) -> None:
        repo = seeded(remote, tmp_path / "cache")
        ours = commit_files(repo, files={VALUES: HEADER + "replicas: 1\n"}, message=message("Add shop"))
        refuse_pushes(remote.bare, "frozen for audit: ask the release manager")

        with pytest.raises(PushFailed) as info:
            push(repo)

        assert "frozen for audit: ask the release manager" in info.value.remote_message
        assert "frozen for audit" in str(info.value)
        assert unpushed(repo) == [ours.sha]
        # Later (another process, same cache dir): the kept commit is pushed once the remote accepts it.
        allow_pushes(remote.bare)
        again = open_at(remote, tmp_path / "cache")
        assert unpushed(again) == [ours.sha]
        assert push(again).pushed
        assert git(remote.bare, "rev-parse", "main") == ours.sha

    def test_conflicting_timbel_commits_abort_the_rebase(self, remote: Remote, tmp_path: Path) -> None:
        seeded(remote, tmp_path / "seed")
        a, b = open_at(remote, tmp_path / "a"), open_at(remote, tmp_path / "b")
        commit_files(a, files={VALUES: HEADER + "replicas: 2\n"}, message=message("A", op="op-a"))
        mine = commit_files(b, files={VALUES: HEADER + "replicas: 3\n"}, message=message("B", op="op-b"))
        push(a)

        with pytest.raises(RebaseConflict) as info:
            push(b)

        assert info.value.paths == (VALUES,)
        assert unpushed(b) == [mine.sha]
        assert git(b.path, "status", "--porcelain") == ""
        discard_local(b)
        assert unpushed(b) == [] and b.head() == a.head()


class TestReadOnlyRemotes:
    def test_http_without_receive_pack(self, http_server: GitHttpServer, tmp_path: Path) -> None:
        bare = make_bare(http_server.root, "read-only-http")
        git(bare, "config", "http.receivepack", "false")
        repo = open_repo(url=http_server.url_for("read-only-http"), cache_dir=tmp_path, credentials=None)
        sha = commit_files(repo, files={VALUES: HEADER}, message=message("Add shop")).sha

        with pytest.raises(PushFailed) as info:
            push(repo)

        assert "403" in info.value.remote_message
        assert unpushed(repo) == [sha]

    def test_git_daemon_without_receive_pack(self, tmp_path: Path) -> None:
        daemon = start_git_daemon(tmp_path / "srv", receive_pack=False)
        try:
            make_bare(daemon.root, "read-only")
            repo = open_repo(url=daemon.url_for("read-only"), cache_dir=tmp_path / "cache", credentials=None)
            sha = commit_files(repo, files={VALUES: HEADER}, message=message("Add shop")).sha

            with pytest.raises(PushFailed) as info:
                push(repo, attempts=3)

            assert "service not enabled" in info.value.remote_message.lower()
            assert unpushed(repo) == [sha]
        finally:
            daemon.stop()
