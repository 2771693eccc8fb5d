"""Highlighted snippets for search hits: escape the text first, then wrap each match in ``<mark>``."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

SNIPPET_WIDTH = 160


def _fold(value: str) -> str:
    """Lower-case character by character, keeping every index where it was."""
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in value)


def match_spans(value: str, words: Sequence[str]) -> list[tuple[int, int]]:
    """Return the merged ``[start, end)`` ranges where any of the (lower-case) words occurs."""
    folded = _fold(value)
    spans: list[tuple[int, int]] = []
    for word in words:
        if not word:
            continue
        start = folded.find(word)
        while start != -1:
            spans.append((start, start + len(word)))
            start = folded.find(word, start + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlight(value: str, spans: Sequence[tuple[int, int]]) -> Markup:
    """Escape ``value`` and wrap the given ranges in ``<mark>``."""
    out: list[str] = []
    position = 0
    for start, end in spans:
        out.append(str(escape(value[position:start])))
        out.append(f"<mark>{escape(value[start:end])}</mark>")
        position = end
    out.append(str(escape(value[position:])))
    return Markup("".join(out))  # noqa: S704 - every piece above is escaped


def snippet(body: str, words: Sequence[str], width: int = SNIPPET_WIDTH) -> tuple[str, Markup]:
    """Return a window of ``body`` around its first match as plain text and as highlighted HTML."""
    value = " ".join(body.split())
    spans = match_spans(value, words)
    start = max(0, spans[0][0] - width // 3) if spans else 0
    end = min(len(value), start + width)
    start = max(0, end - width)
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(value) else ""
    piece = value[start:end]
    local = [(max(s, start) - start, min(e, end) - start) for s, e in spans if e > start and s < end]
    html = Markup(str(escape(prefix)) + str(highlight(piece, local)) + str(escape(suffix)))  # noqa: S704
    return prefix + piece + suffix, html
