"""Read repository files safely for the analyzers: no symlinks, no huge, binary or minified files.

Listing lives in ``files.py``; ``walk`` is re-exported here for the scanners that import it from
this module.
"""

from __future__ import annotations

from pathlib import Path

from timbel.analysis.files import DEFAULT_MAX_PARSE_BYTES, walk

__all__ = ["read_text", "walk"]


def read_text(root: Path, rel: str, *, max_bytes: int = DEFAULT_MAX_PARSE_BYTES) -> str | None:
    """Return a file's text, or None for symlinks, paths leaving the tree, huge, binary or minified files."""
    if ".min." in rel.rsplit("/", 1)[-1]:
        return None
    path = root / rel
    try:
        # Refuse a path that leaves the repository through a symlinked file or directory.
        if path.is_symlink() or not path.resolve().is_relative_to(root.resolve()):
            return None
        if path.stat().st_size > max_bytes:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")
