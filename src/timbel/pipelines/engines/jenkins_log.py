"""Split a Jenkins progressive log into whole lines, attributed to the stage whose block they are in."""

from __future__ import annotations

import re
from collections.abc import Mapping

MAX_PARTIAL_LINE = 64 * 1024  # a line longer than this without a newline is passed on as it is
_STAGE_OPEN = re.compile(r"\[Pipeline\] \{ \((.*)\)")


class LogSplitter:
    """Turn raw log bytes into ``(text, stage_index)`` pieces of whole lines.

    Only whole lines are passed on and ``offset`` is where the next unread line starts, so reading again from
    ``offset`` (after a worker restart too) neither loses nor splits a line or a UTF-8 character.
    """

    def __init__(self, stage_names: Mapping[str, int], *, stage: int | None = None, depth: int = 0) -> None:
        self.names = dict(stage_names)
        self.stage, self.depth = stage, depth
        self.offset = 0
        self.tail = b""

    def feed(self, data: bytes, *, start: int, next_start: int) -> list[tuple[str, int | None]]:
        """The whole lines of ``data`` (read from byte ``start``); the rest is read again next time."""
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) > MAX_PARTIAL_LINE:
            cut = len(data)
        self.offset = start + cut
        self.tail = data[cut:]
        if cut == 0:
            return []
        return self._pieces(data[:cut].decode("utf-8", errors="replace"))

    def flush(self) -> list[tuple[str, int | None]]:
        """The last, unterminated line once the log is complete."""
        tail, self.tail = self.tail, b""
        if not tail:
            return []
        self.offset += len(tail)
        return self._pieces(tail.decode("utf-8", errors="replace") + "\n")

    def _pieces(self, text: str) -> list[tuple[str, int | None]]:
        pieces: list[tuple[str, int | None]] = []
        for line in text.splitlines(keepends=True):
            index = self._attribute(line.rstrip("\r\n"))
            if pieces and pieces[-1][1] == index:
                pieces[-1] = (pieces[-1][0] + line, index)
            else:
                pieces.append((line, index))
        return pieces

    def _attribute(self, line: str) -> int | None:
        """The stage a line belongs to, following ``[Pipeline] {`` / ``[Pipeline] }`` nesting."""
        if self.stage is None:
            match = _STAGE_OPEN.fullmatch(line)
            if match and match.group(1) in self.names:
                self.stage, self.depth = self.names[match.group(1)], 1
            return self.stage
        current = self.stage
        if line.startswith("[Pipeline] {"):
            self.depth += 1
        elif line == "[Pipeline] }":
            self.depth -= 1
            if self.depth <= 0:
                self.stage, self.depth = None, 0
        return current
