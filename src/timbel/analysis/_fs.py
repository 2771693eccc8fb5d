"""Small, safe file listing and reading for the analyzers: no symlinks, no huge, binary or minified files."""

from __future__ import annotations

import os
from pathlib import Path

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
MAX_BYTES = 1 << 20
MAX_FILES = 50_000


def walk(root: Path) -> list[str]:
    """List regular files under root as sorted POSIX paths; skip vendored dirs, symlinks, huge files."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not os.path.islink(os.path.join(dirpath, d))
        )
        rel_dir = os.path.relpath(dirpath, root)
        for name in filenames:
            full = os.path.join(dirpath, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            if os.path.islink(full) or st.st_size > MAX_BYTES or not os.path.isfile(full):
                continue
            out.append(name if rel_dir == "." else f"{rel_dir.replace(os.sep, '/')}/{name}")
            if len(out) >= MAX_FILES:
                return sorted(out)
    return sorted(out)


def read_text(root: Path, rel: str) -> str | None:
    """Return a file's text, or None for symlinks, huge, binary or minified files."""
    if ".min." in rel.rsplit("/", 1)[-1]:
        return None
    path = root / rel
    try:
        # Refuse a path that leaves the repository through a symlinked file or directory.
        if path.is_symlink() or not path.resolve().is_relative_to(root.resolve()):
            return None
        if path.stat().st_size > MAX_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")
