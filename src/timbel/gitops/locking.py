"""Serialise operations on one GitOps repository: a process-local lock per URL plus an fcntl file lock.

Why both: threads of one process share file locks badly (``flock`` is per open file, and the GIL does not
order threads), so a ``threading.RLock`` keyed by the URL orders them; the ``flock`` on a file in the cache
dir orders separate processes (API servers and workers) that share the cache dir. The lock is re-entrant
within a thread, so one public operation may call another.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from timbel.gitops.errors import GitOpsBusy

_REGISTRY_GUARD = threading.Lock()
_LOCKS: dict[str, threading.RLock] = {}
_DEPTH = threading.local()


def url_key(url: str) -> str:
    """A short, file-name-safe key for a repository URL."""
    return hashlib.sha256(url.encode()).hexdigest()[:24]


@contextlib.contextmanager
def repo_lock(*, url: str, cache_dir: Path, timeout: float) -> Iterator[None]:
    """Hold the repository's lock for one operation; raise ``GitOpsBusy`` after ``timeout`` seconds."""
    key = url_key(url)
    with _REGISTRY_GUARD:
        local = _LOCKS.setdefault(key, threading.RLock())
    if not local.acquire(timeout=timeout):
        raise GitOpsBusy(f"another operation on this GitOps repository did not finish within {timeout:g} s")
    try:
        depth: dict[str, int] = _DEPTH.__dict__.setdefault("depth", {})
        if depth.get(key, 0) > 0:
            depth[key] += 1
            try:
                yield
            finally:
                depth[key] -= 1
            return
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(cache_dir / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _flock(fd, timeout)
            depth[key] = 1
            try:
                yield
            finally:
                depth[key] = 0
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        local.release()


def _flock(fd: int, timeout: float) -> None:
    """Take an exclusive ``flock`` on ``fd``, polling so the wait is bounded."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise GitOpsBusy(
                    f"another process held this GitOps repository for longer than {timeout:g} s"
                ) from None
            time.sleep(0.05)
