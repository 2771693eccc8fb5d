"""Per-run workspaces of the local runner: layout, the lock that marks one in use, stage env, cleanup.

Layout: ``<root>/<run_id>/src`` is the checkout, ``.home`` the stage's HOME, ``.tmp`` its TMPDIR and
``.lock`` is held (flock) while the run executes, so ``cleanup_workspaces`` never deletes a live one.
The stage environment is built from scratch: Timbel's own environment (database URL, secret key,
cloud credentials of the worker) never reaches a pipeline script.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
LOCK_NAME = ".lock"


class WorkspaceError(ValueError):
    """A run id, variable name or path that the runner refuses."""


@dataclass(frozen=True)
class Workspace:
    """The directories of one run."""

    root: Path

    @property
    def src(self) -> Path:
        """The checkout."""
        return self.root / "src"

    @property
    def home(self) -> Path:
        """HOME of the stages (caches of npm, pip, Maven land here)."""
        return self.root / ".home"

    @property
    def tmp(self) -> Path:
        """TMPDIR of the stages."""
        return self.root / ".tmp"

    def workdir(self, relative: str) -> Path:
        """A stage's working directory inside the checkout; refuses absolute paths and escapes."""
        if relative.startswith("/") or "\x00" in relative:
            raise WorkspaceError(f"workdir {relative!r} must be relative to the checkout")
        path = (self.src / relative).resolve()
        if not path.is_relative_to(self.src.resolve()):
            raise WorkspaceError(f"workdir {relative!r} leaves the checkout")
        if not path.is_dir():
            raise WorkspaceError(f"workdir {relative!r} does not exist in the checkout")
        return path


def workspace_for(root: Path, run_id: str) -> Workspace:
    """The workspace of ``run_id`` under ``root`` (the id must be a plain name)."""
    if not _RUN_ID.match(run_id):
        raise WorkspaceError(f"run id {run_id!r} is not a plain name")
    return Workspace(root / run_id)


@contextlib.contextmanager
def hold(workspace: Workspace) -> Iterator[None]:
    """Create the workspace directories and hold its lock for the duration of the run."""
    for directory in (workspace.root, workspace.home, workspace.tmp):
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with (workspace.root / LOCK_NAME).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def valid_name(name: str) -> bool:
    """True for an environment variable name the runner accepts."""
    return bool(_NAME.match(name))


def stage_env(
    *,
    workspace: Workspace,
    base: Mapping[str, str],
    parameters: Mapping[str, str],
    stage_env: Mapping[str, str],
    secrets: Mapping[str, str],
) -> dict[str, str]:
    """The environment of a stage: fixed values, run values, ``TIMBEL_PARAM_*``, the stage's, secrets."""
    env = {
        "PATH": SAFE_PATH,
        "HOME": str(workspace.home),
        "TMPDIR": str(workspace.tmp),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "CI": "true",
        "TIMBEL": "true",
        **base,
    }
    for name, value in parameters.items():
        env["TIMBEL_PARAM_" + _checked(name, value, "parameter").upper()] = value
    for source, values in (("stage variable", stage_env), ("secret", secrets)):
        for name, value in values.items():
            env[_checked(name, value, source)] = value
    return env


def _checked(name: str, value: str, what: str) -> str:
    if not valid_name(name):
        raise WorkspaceError(f"{what} name {name!r} is not a valid environment variable name")
    if "\x00" in value:
        raise WorkspaceError(f"{what} {name!r} contains a NUL byte")
    return name


def remove_tree(path: Path) -> None:
    """Delete a directory even when a build left read-only files or directories (Go's module cache)."""

    def make_writable(function: Callable[..., Any], failed: str, _exc: object) -> None:
        parent = os.path.dirname(failed)
        with contextlib.suppress(OSError):
            os.chmod(parent, stat.S_IRWXU)
            os.chmod(failed, stat.S_IRWXU)
        with contextlib.suppress(FileNotFoundError):
            function(failed)

    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, onerror=make_writable)


def cleanup_workspaces(
    root: Path, *, keep_last: int = 20, max_age_hours: float = 24, now: float | None = None
) -> list[Path]:
    """Delete old run workspaces: all but the newest ``keep_last``, and any older than ``max_age_hours``.

    A workspace whose lock is held (its run is executing) is never deleted. Returns what was deleted.
    """
    if not root.is_dir():
        return []
    now = time.time() if now is None else now
    entries = [path for path in root.iterdir() if path.is_dir() and not path.is_symlink()]
    entries.sort(key=lambda path: path.stat().st_mtime, reverse=True)
    removed: list[Path] = []
    for position, path in enumerate(entries):
        too_old = now - path.stat().st_mtime > max_age_hours * 3600
        if (position < keep_last and not too_old) or _in_use(path):
            continue
        remove_tree(path)
        removed.append(path)
    return removed


def _in_use(path: Path) -> bool:
    lock = path / LOCK_NAME
    if not lock.exists():
        return False
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False
