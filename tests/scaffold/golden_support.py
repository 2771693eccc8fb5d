"""Golden-file comparison for generated text: reviewed fixtures under ``tests/scaffold/golden/``.

Run the tests with ``TIMBEL_UPDATE_GOLDEN=1`` to (re)write the fixtures from the current output, then
read the diff (``git diff tests/scaffold/golden``) before committing: a golden is only as good as its review.
Without the variable a missing or different fixture fails the test.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE_ENV = "TIMBEL_UPDATE_GOLDEN"


def golden_path(name: str) -> Path:
    """Return the fixture path of a golden name, refusing names that leave the golden directory."""
    path = (GOLDEN_DIR / name).resolve()
    if not path.is_relative_to(GOLDEN_DIR.resolve()) or path == GOLDEN_DIR.resolve():
        raise ValueError(f"golden name must be a relative file path inside {GOLDEN_DIR}: {name!r}")
    return path


def assert_golden(name: str, text: str) -> None:
    """Assert ``text`` equals the golden file ``tests/scaffold/golden/<name>`` (rewrite it when updating)."""
    path = golden_path(name)
    if os.environ.get(UPDATE_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != text.encode("utf-8"):
            path.write_bytes(text.encode("utf-8"))
        return
    if not path.exists():
        raise AssertionError(f"missing golden file {path}; run with {UPDATE_ENV}=1, then review it")
    expected = path.read_bytes().decode("utf-8")
    if expected != text:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"golden/{name}",
                tofile="generated",
            )
        )
        hint = f"{UPDATE_ENV}=1 rewrites it"
        raise AssertionError(f"generated text differs from golden/{name} ({hint}):\n{diff}")
