"""Write Prometheus file-based service discovery files atomically.

Why atomically: Prometheus watches the file (inotify plus ``refresh_interval``) and re-reads it on any
change; a half-written file would drop every target in it until the next write. We write a temp file in
the same directory, fsync it, and ``os.replace`` it over the target, so Prometheus only ever sees the
old or the new complete list. The temp name starts with a dot and ends in ``.tmp`` so ``*.json`` globs
in ``file_sd_configs`` never match it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TARGET = re.compile(r"[^\s/]+:[0-9]{1,5}|[^\s/:]+|\[[0-9a-fA-F:.]+\](:[0-9]{1,5})?")
FILE_MODE = 0o644


class TargetGroup(TypedDict):
    """One static group: ``host:port`` targets sharing the same labels."""

    targets: list[str]
    labels: dict[str, str]


def write_file_sd(path: Path | str, groups: Sequence[Mapping[str, Any]]) -> Path:
    """Validate ``groups`` (``{targets, labels}``) and atomically replace the JSON file at ``path``."""
    target_path = Path(path)
    document = [_group(index, group) for index, group in enumerate(groups)]
    payload = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    directory = target_path.parent
    directory.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target_path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as temp:
            temp.write(payload)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, FILE_MODE)
        os.replace(temp_name, target_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_directory(directory)
    return target_path


def read_file_sd(path: Path | str) -> list[TargetGroup]:
    """Read a file written by ``write_file_sd`` (an absent file is an empty list)."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    return [_group(index, group) for index, group in enumerate(raw)]


def _group(index: int, group: Mapping[str, Any]) -> TargetGroup:
    """Validate one group and return a clean copy."""
    if not isinstance(group, Mapping):
        raise ValueError(f"group {index}: expected an object with targets and labels")
    unknown = set(group) - {"targets", "labels"}
    if unknown:
        raise ValueError(f"group {index}: unknown keys {sorted(unknown)}")
    targets = group.get("targets")
    if not isinstance(targets, Sequence) or isinstance(targets, str | bytes):
        raise ValueError(f"group {index}: targets must be a list of host:port strings")
    for target in targets:
        if not isinstance(target, str) or not _TARGET.fullmatch(target):
            raise ValueError(f"group {index}: not a host[:port] target: {target!r}")
    labels = group.get("labels") or {}
    if not isinstance(labels, Mapping):
        raise ValueError(f"group {index}: labels must be an object")
    for name, value in labels.items():
        if not isinstance(name, str) or not _LABEL_NAME.fullmatch(name):
            raise ValueError(f"group {index}: not a valid label name: {name!r}")
        if not isinstance(value, str):
            raise ValueError(f"group {index}: label {name} must be a string")
    return TargetGroup(targets=list(targets), labels=dict(labels))


def _fsync_directory(directory: Path) -> None:
    """Persist the rename itself (best effort on filesystems that refuse directory fsync)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
