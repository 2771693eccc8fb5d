"""The embedded bare repository and the per-repository lock (threads and processes)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.gitops.conftest import HEADER, git, message
from timbel.gitops import (
    GitOpsBusy,
    GitOpsError,
    commit_files,
    ensure_embedded,
    ensure_layout,
    log,
    open_repo,
    push,
)
from timbel.gitops.locking import repo_lock, url_key


class TestEmbedded:
    def test_embedded_repository_end_to_end(self, tmp_path: Path) -> None:
        url = ensure_embedded(tmp_path / "var" / "gitops.git")
        assert url == str((tmp_path / "var" / "gitops.git").resolve())
        assert ensure_embedded(tmp_path / "var" / "gitops.git") == url  # idempotent
        assert git(Path(url), "rev-parse", "--is-bare-repository") == "true"

        repo = open_repo(url=url, cache_dir=tmp_path / "cache", credentials=None, allow_local=True)
        ensure_layout(repo, message=message("Create GitOps layout"))
        commit_files(repo, files={"acme/shop/envs/dev/values.yaml": HEADER}, message=message("Add"))
        assert push(repo).pushed

        assert [c.subject for c in log(repo)] == ["Add", "Create GitOps layout"]
        assert git(Path(url), "symbolic-ref", "HEAD") == "refs/heads/main"

    def test_a_local_path_needs_the_embedded_permission(self, tmp_path: Path) -> None:
        url = ensure_embedded(tmp_path / "gitops.git")
        with pytest.raises(GitOpsError, match="embedded"):
            open_repo(url=url, cache_dir=tmp_path / "cache", credentials=None)

    def test_bad_branch_names(self, tmp_path: Path) -> None:
        url = ensure_embedded(tmp_path / "gitops.git")
        for branch in ("-x", "a..b", "a b", ""):
            with pytest.raises(GitOpsError, match="branch"):
                open_repo(
                    url=url, cache_dir=tmp_path / "c", credentials=None, allow_local=True, branch=branch
                )


HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


class TestLock:
    def test_another_process_holding_the_lock_makes_us_wait(self, tmp_path: Path) -> None:
        url = "https://git.example.com/ops/gitops.git"
        lock_file = tmp_path / f"{url_key(url)}.lock"
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(lock_file), "1.0"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            with pytest.raises(GitOpsBusy), repo_lock(url=url, cache_dir=tmp_path, timeout=0.2):
                pass
            started = time.monotonic()
            with repo_lock(url=url, cache_dir=tmp_path, timeout=10):
                waited = time.monotonic() - started
            assert waited > 0.3
        finally:
            holder.wait(timeout=10)

    def test_threads_take_turns_and_the_lock_is_reentrant(self, tmp_path: Path) -> None:
        url = "https://git.example.com/ops/gitops.git"
        inside: list[str] = []
        overlap: list[bool] = []

        def work(name: str) -> None:
            outer = repo_lock(url=url, cache_dir=tmp_path, timeout=10)
            inner = repo_lock(url=url, cache_dir=tmp_path, timeout=0.1)  # re-entrant in the same thread
            with outer, inner:
                overlap.append(bool(inside))
                inside.append(name)
                time.sleep(0.05)
                inside.remove(name)

        threads = [threading.Thread(target=work, args=(str(i),)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert overlap == [False] * 4

    def test_a_busy_repository_in_this_process_times_out(self, tmp_path: Path) -> None:
        url = "https://git.example.com/ops/gitops.git"
        held = threading.Event()
        release = threading.Event()

        def hold() -> None:
            with repo_lock(url=url, cache_dir=tmp_path, timeout=10):
                held.set()
                release.wait(10)

        thread = threading.Thread(target=hold)
        thread.start()
        try:
            assert held.wait(10)
            with pytest.raises(GitOpsBusy), repo_lock(url=url, cache_dir=tmp_path / "other", timeout=0.1):
                pass
        finally:
            release.set()
            thread.join(10)
