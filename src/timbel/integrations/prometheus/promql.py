"""Build PromQL selectors so user text never reaches a query unescaped.

Why: a label value pasted into ``{job="..."}`` can close the string and inject arbitrary PromQL (or
simply break the query on a quote, backslash or newline). Prometheus lexes double-quoted strings like Go
string literals: ``\\``, ``\"`` and the usual ``\n``-style escapes, ``\\uXXXX``/``\\UXXXXXXXX`` for any code
point; a raw newline or a raw U+FFFD is an error. We escape the two delimiters, name the common controls
and write every non-printable character (and U+FFFD) as a ``\\u``/``\\U`` escape, keeping printable text
(Korean included) readable.
"""

from __future__ import annotations

import re

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_NAMED_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_label_value(value: str) -> str:
    """Escape ``value`` for use between double quotes in a PromQL string literal."""
    if not isinstance(value, str):
        raise TypeError(f"a label value must be a string, not {type(value).__name__}")
    parts: list[str] = []
    for char in value:
        code = ord(char)
        if char in _NAMED_ESCAPES:
            parts.append(_NAMED_ESCAPES[char])
        elif 0xD800 <= code <= 0xDFFF:
            raise ValueError("a label value must be valid Unicode (it contains a lone surrogate)")
        elif char.isprintable() and char != "\ufffd":
            parts.append(char)
        elif code <= 0xFFFF:
            parts.append(f"\\u{code:04x}")
        else:
            parts.append(f"\\U{code:08x}")
    return "".join(parts)


def quote_label_value(value: str) -> str:
    """Return ``value`` as a complete double-quoted PromQL string literal."""
    return f'"{escape_label_value(value)}"'


def selector(metric: str | None, /, **labels: str) -> str:
    """Build ``metric{name="value",…}`` with every value escaped; names are validated, not escaped."""
    if metric is not None and not _METRIC_NAME.fullmatch(metric):
        raise ValueError(f"not a valid metric name: {metric!r}")
    if not metric and not labels:
        raise ValueError("a selector needs a metric name or at least one label")
    for name in labels:
        if not _LABEL_NAME.fullmatch(name):
            raise ValueError(f"not a valid label name: {name!r}")
    matchers = ",".join(f"{name}={quote_label_value(value)}" for name, value in sorted(labels.items()))
    if not labels:
        return metric or ""
    return f"{metric or ''}{{{matchers}}}"
