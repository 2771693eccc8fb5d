"""Build Alertmanager matcher strings (``filter=`` parameters) with escaped values.

Why its own escaping: Alertmanager parses a matcher value between double quotes and only understands
``\\\\``, ``\\"`` and ``\\n`` (any other backslash is kept literally), unlike PromQL's Go-style escapes.
"""

from __future__ import annotations

import re

_LABEL_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n"}
OPERATORS = ("=", "!=", "=~", "!~")


def escape_matcher_value(value: str) -> str:
    """Escape ``value`` for use between double quotes in an Alertmanager matcher."""
    if not isinstance(value, str):
        raise TypeError(f"a matcher value must be a string, not {type(value).__name__}")
    if any(0xD800 <= ord(char) <= 0xDFFF for char in value):
        raise ValueError("a matcher value must be valid Unicode (it contains a lone surrogate)")
    return "".join(_ESCAPES.get(char, char) for char in value)


def matcher(name: str, value: str, *, operator: str = "=") -> str:
    """Build ``name="value"`` (or with ``!=``, ``=~``, ``!~``); the name is validated, the value escaped."""
    if not _LABEL_NAME.fullmatch(name):
        raise ValueError(f"not a valid label name: {name!r}")
    if operator not in OPERATORS:
        raise ValueError(f"operator must be one of {OPERATORS}, not {operator!r}")
    return f'{name}{operator}"{escape_matcher_value(value)}"'
