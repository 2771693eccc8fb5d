"""Tables extracted from github-linguist (MIT licence), read from the generated ``linguist_tables.json``.

Regenerate the data with ``python scripts/gen_linguist_tables.py``. The data is JSON rather than Python
source because loading it is faster than running a 4,000-line module, and JSON lists become the tuples the
analyzers expect here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast


def _tuples(value: Any) -> Any:
    """Turn JSON lists into tuples, recursively (the tables are immutable)."""
    return tuple(_tuples(item) for item in value) if isinstance(value, list) else value


_DATA: dict[str, Any] = json.loads((Path(__file__).with_name("linguist_tables.json")).read_text("utf-8"))

LINGUIST_VERSION: str = _DATA["linguist_version"]
# language -> type code: p programming, m markup, d data, t prose
TYPES: dict[str, str] = _DATA["types"]
GROUPS: dict[str, str] = _DATA["groups"]
ALIASES: dict[str, str] = _DATA["aliases"]
EXTENSIONS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _DATA["extensions"].items()}
FILENAMES: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _DATA["filenames"].items()}
INTERPRETERS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _DATA["interpreters"].items()}
GENERIC_EXTENSIONS: tuple[str, ...] = tuple(_DATA["generic_extensions"])
POPULAR: tuple[str, ...] = tuple(_DATA["popular"])
# (extensions, ((languages, ((sign, regex), ...)), ...)); sign '+' must match, '-' must not
HEURISTICS = cast(
    "tuple[tuple[tuple[str, ...], tuple[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], ...]], ...]",
    _tuples(_DATA["heuristics"]),
)
VENDOR_PATTERNS: tuple[str, ...] = tuple(_DATA["vendor_patterns"])
DOCUMENTATION_PATTERNS: tuple[str, ...] = tuple(_DATA["documentation_patterns"])
del _DATA
