"""List a repository's files safely: git's tracked files when possible, a plain walk otherwise.

Why: every analysis step needs the same bounded, symlink-safe file list. Symlinks are reported but
never read or followed, so nothing outside the repository root can leak into a report; the file
count is bounded so a hostile repository cannot exhaust memory or time. This is the only listing:
``scan_paths`` narrows it to what the manifest scanners read, ``walk`` lists and narrows in one go,
and ``_fs.read_text`` reads with the same size limit.
"""

from __future__ import annotations

import os
import stat
import subprocess
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

DEFAULT_MAX_FILES = 100_000
DEFAULT_MAX_PARSE_BYTES = 1024 * 1024  # larger files are listed but never read (``_fs.read_text``)
# Dependency, build-output and tool-cache folders: listed (a repository may commit them) but never
# scanned for manifests, Dockerfiles or routes.
SKIP_DIRS = frozenset(
    {
        ".git",
        "node_modules",
        "vendor",
        "dist",
        "build",
        ".venv",
        "venv",
        "__pycache__",
        "target",
        ".next",
        ".nuxt",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".gradle",
        ".idea",
    }
)
GIT_TIMEOUT_SECONDS = 60.0
# Neutralise repository-controlled config that could run programs (fsmonitor hooks).
_GIT_ARGV = ["git", "-c", "core.fsmonitor=false", "-c", "core.untrackedCache=false"]


class FileKind(StrEnum):
    """What a listed path is."""

    FILE = "file"
    SYMLINK = "symlink"
    SUBMODULE = "submodule"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class RepoFile:
    """One path of the repository, relative to its root in POSIX form."""

    path: str
    size: int
    kind: FileKind = FileKind.FILE
    too_large: bool = False

    @property
    def parseable(self) -> bool:
        """Say whether the file may be read for analysis (a regular file within the size limit)."""
        return self.kind is FileKind.FILE and not self.too_large


class TooManyFilesError(Exception):
    """The repository holds more files than the configured limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"repository has more than {limit} files")
        self.limit = limit


def list_files(
    root: Path, *, max_files: int = DEFAULT_MAX_FILES, max_parse_bytes: int = DEFAULT_MAX_PARSE_BYTES
) -> list[RepoFile]:
    """Return the repository's files sorted by path; raise TooManyFilesError past max_files."""
    root = root.resolve()
    tracked = _git_tracked(root) if (root / ".git").exists() else None
    if tracked is not None:
        files = _from_git(root, tracked, max_files, max_parse_bytes)
    else:
        files = _walk(root, max_files, max_parse_bytes)
    files.sort(key=lambda f: f.path)
    return files


def scan_paths(files: list[RepoFile]) -> list[str]:
    """Return the regular, parseable files outside dependency/build folders, for the manifest scanners."""
    return [f.path for f in files if f.parseable and not SKIP_DIRS.intersection(f.path.split("/")[:-1])]


def walk(root: Path, *, max_files: int = DEFAULT_MAX_FILES) -> list[str]:
    """List and narrow a tree for the scanners in one go (when no listing is handed to them)."""
    return scan_paths(list_files(root, max_files=max_files))


def _git_tracked(root: Path) -> list[tuple[str, str]] | None:
    """Return (mode, path) for each tracked path, or None when git cannot list them."""
    argv = [*_GIT_ARGV, "-C", str(root), "ls-files", "-z", "--stage"]
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
    try:
        done = subprocess.run(argv, capture_output=True, timeout=GIT_TIMEOUT_SECONDS, env=env, check=False)  # noqa: S603 - fixed argv
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    entries: list[tuple[str, str]] = []
    seen: set[str] = set()
    for record in done.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        path = os.fsdecode(raw_path)
        if path in seen:  # unmerged paths appear once per stage
            continue
        seen.add(path)
        entries.append((meta.split(b" ", 1)[0].decode("ascii", "replace"), path))
    return entries


def _from_git(root: Path, tracked: list[tuple[str, str]], max_files: int, max_parse: int) -> list[RepoFile]:
    """Turn git index entries into RepoFiles, sizing them from the work tree without following links."""
    files: list[RepoFile] = []
    safe_dirs: set[str] = {""}
    for mode, path in tracked:
        if len(files) >= max_files:
            raise TooManyFilesError(max_files)
        if mode == "160000":
            files.append(RepoFile(path, 0, FileKind.SUBMODULE))
            continue
        if mode == "120000":
            files.append(RepoFile(path, 0, FileKind.SYMLINK))
            continue
        if ".." in path.split("/") or not _inside(root, path.rpartition("/")[0], safe_dirs):
            continue
        try:
            info = os.lstat(root / path)
        except OSError:  # deleted in the work tree
            continue
        files.append(_entry(path, info, max_parse))
    return files


def _inside(root: Path, directory: str, safe_dirs: set[str]) -> bool:
    """Say whether every component of directory is a real directory (no symlink hop out of root)."""
    if directory in safe_dirs:
        return True
    parent = directory.rpartition("/")[0]
    if not _inside(root, parent, safe_dirs):
        return False
    try:
        if not stat.S_ISDIR(os.lstat(root / directory).st_mode):
            return False
    except OSError:
        return False
    safe_dirs.add(directory)
    return True


def _walk(root: Path, max_files: int, max_parse: int) -> list[RepoFile]:
    """Walk the directory tree without following symlinks, skipping .git directories."""
    files: list[RepoFile] = []
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != ".git":
                    stack.append(Path(entry.path))
                continue
            if len(files) >= max_files:
                raise TooManyFilesError(max_files)
            rel = Path(entry.path).relative_to(root).as_posix()
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            files.append(_entry(rel, info, max_parse))
    return files


def _entry(path: str, info: os.stat_result, max_parse: int) -> RepoFile:
    """Build a RepoFile from lstat data."""
    if stat.S_ISLNK(info.st_mode):
        return RepoFile(path, 0, FileKind.SYMLINK)
    if not stat.S_ISREG(info.st_mode):
        return RepoFile(path, 0, FileKind.SUBMODULE if stat.S_ISDIR(info.st_mode) else FileKind.OTHER)
    return RepoFile(path, info.st_size, FileKind.FILE, info.st_size > max_parse)
