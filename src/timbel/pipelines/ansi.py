"""Terminal output to safe HTML: SGR colours and bold become ``<span class="ansi-…">``, all else is text.

Build tools colour their output with ANSI escape sequences. Only the select-graphic-rendition subset that
matters for reading a log is kept (foreground 30–37 and 90–97, bold, resets); every other escape sequence
(cursor moves, OSC titles and links, 256-colour and RGB arguments, backgrounds) is dropped. Text is escaped
before it is wrapped, and the result is passed through nh3 allowing only ``<span class>``, so nothing a
build prints can become markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nh3
from markupsafe import Markup, escape

COLOURS = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
CSS_CLASSES = frozenset(
    {"ansi-bold"} | {f"ansi-{c}" for c in COLOURS} | {f"ansi-bright-{c}" for c in COLOURS}
)
_ESCAPES = re.compile(
    r"\x1b\[(?P<sgr>[0-9;:]*)m"  # SGR: kept
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # any other CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC (titles, hyperlinks), BEL or ST terminated
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[ -/]*[0-~]?"  # two-byte escapes (charset selection, keypad modes) or a lone ESC
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass
class _Style:
    colour: str | None = None
    bold: bool = False

    def classes(self) -> str:
        names = (["ansi-bold"] if self.bold else []) + ([f"ansi-{self.colour}"] if self.colour else [])
        return " ".join(names)

    def apply(self, params: str) -> None:
        codes = [int(p) if p.isdigit() else 0 for p in params.replace(":", ";").split(";")]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code == 0:
                self.colour, self.bold = None, False
            elif code == 1:
                self.bold = True
            elif code == 22:
                self.bold = False
            elif code == 39:
                self.colour = None
            elif 30 <= code <= 37:
                self.colour = COLOURS[code - 30]
            elif 90 <= code <= 97:
                self.colour = f"bright-{COLOURS[code - 90]}"
            elif code in (38, 48, 58) and i + 1 < len(codes):
                i += 2 if codes[i + 1] == 5 else 4 if codes[i + 1] == 2 else 0  # skip extended colour args
            i += 1


def strip(text: str) -> str:
    """Remove every escape sequence and stray control character (keeps tabs, newlines, carriage returns)."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def to_html(text: str) -> Markup:
    """Render terminal text as escaped HTML with ``<span class="ansi-…">`` for colours and bold."""
    out: list[str] = []
    style = _Style()
    position = 0

    def emit(piece: str) -> None:
        piece = _CONTROLS.sub("", piece)
        if not piece:
            return
        classes = style.classes()
        escaped = str(escape(piece))
        out.append(f'<span class="{classes}">{escaped}</span>' if classes else escaped)

    for match in _ESCAPES.finditer(text):
        emit(text[position : match.start()])
        if match.group("sgr") is not None:
            style.apply(match.group("sgr"))
        position = match.end()
    emit(text[position:])
    cleaned = nh3.clean("".join(out), tags={"span"}, attributes={"span": {"class"}}, link_rel=None)
    return Markup(cleaned)  # noqa: S704 - escaped piece by piece above, then allowlisted by nh3
