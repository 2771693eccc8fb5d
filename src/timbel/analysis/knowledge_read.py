"""Safe, bounded reads and path rules shared by the knowledge extractors."""

from __future__ import annotations

import os
import re
from pathlib import Path

from timbel.analysis.files import RepoFile
from timbel.analysis.generated import generated_by_path
from timbel.analysis.languages import is_vendored

MAX_READ_BYTES = 256 * 1024
_TEST_PATH = re.compile(
    r"(?:^|/)(?:tests?|__tests__|__mocks__|spec|testdata|fixtures?)/"
    r"|(?:^|/)(?:test_[^/]*|[^/]*_test\.(?:py|go)|conftest\.py)$"
    r"|\.(?:test|spec)\.[a-z]+$|(?:^|/)src/test/|Tests?\.(?:java|kt)$"
)


def read_text(root: Path, item: RepoFile, limit: int = MAX_READ_BYTES) -> str | None:
    """Return up to `limit` bytes of a parseable file as text; None for binary, links or errors."""
    if not item.parseable:
        return None
    try:
        descriptor = os.open(root / item.path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(descriptor, "rb") as handle:
            data = handle.read(limit)
    except OSError:
        return None
    if b"\0" in data[:8000]:
        return None
    return data.decode("utf-8", errors="replace")


def is_test_path(path: str) -> bool:
    """Say whether the path looks like a test file or test folder."""
    return _TEST_PATH.search(path) is not None


def is_excluded(path: str) -> bool:
    """Say whether the path is vendored or generated and so never a knowledge item."""
    return is_vendored(path) or generated_by_path(path)


def first_paragraph(text: str, limit: int = 300) -> str:
    """Return the first paragraph of free text, whitespace-collapsed and cut to `limit` characters."""
    paragraph = " ".join(text.strip().split("\n\n", 1)[0].split())
    return paragraph if len(paragraph) <= limit else paragraph[: limit - 1].rstrip() + "…"


def size_points(value: int, sweet: tuple[int, int], ok: tuple[int, int], full: int) -> int:
    """Score a size: `full` inside the sweet range, half inside the acceptable range, else 0."""
    if sweet[0] <= value <= sweet[1]:
        return full
    if ok[0] <= value <= ok[1]:
        return full // 2
    return 0
