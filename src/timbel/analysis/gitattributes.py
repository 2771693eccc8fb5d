"""Read `.gitattributes` files and answer which attributes apply to a path.

Why: github-linguist honours `linguist-*` attributes (not git's `binary`, which 7.22 ignores) from every
`.gitattributes` in the tree; deeper files and later lines win, as in git. Only the attributes
named in TRACKED are kept, so a large attributes file costs little.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from timbel.analysis.files import RepoFile

TRACKED = frozenset(
    {
        "linguist-vendored",
        "linguist-generated",
        "linguist-documentation",
        "linguist-detectable",
        "linguist-language",
    }
)
MAX_ATTRIBUTES_BYTES = 256 * 1024

# An attribute value: True (set), False (unset, `-attr`) or a string (`attr=value`).
AttrValue = bool | str


@dataclass(frozen=True, slots=True)
class _Rule:
    base: str
    basename_only: bool
    regex: re.Pattern[str]
    attrs: tuple[tuple[str, AttrValue | None], ...]


def glob_to_regex(pattern: str) -> str:
    """Translate a gitattributes glob (`*`, `?`, `[...]`, `**`) to an anchored regex."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i) and (i == 0 or pattern[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i) and i + 2 == len(pattern) and (i == 0 or pattern[i - 1] == "/"):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out) + r"\Z"


def _parse_attrs(tokens: Iterable[str]) -> tuple[tuple[str, AttrValue | None], ...]:
    """Parse attribute tokens, keeping only the tracked ones; `!attr` maps to None (unspecified)."""
    parsed: list[tuple[str, AttrValue | None]] = []
    for token in tokens:
        value: AttrValue | None
        if token.startswith("-"):
            name, value = token[1:], False
        elif token.startswith("!"):
            name, value = token[1:], None
        elif "=" in token:
            name, _, value = token.partition("=")
        else:
            name, value = token, True
        if name in TRACKED:
            parsed.append((name, value))
    return tuple(parsed)


def parse(text: str, base: str = "") -> list[_Rule]:
    """Parse one `.gitattributes` file found in directory `base` ("" for the root)."""
    rules: list[_Rule] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("[attr]"):
            continue
        pattern, *tokens = line.split()
        attrs = _parse_attrs(tokens)
        if not attrs or pattern.endswith("/"):  # directory-only patterns never match files
            continue
        basename_only = "/" not in pattern
        regex = re.compile(glob_to_regex(pattern.lstrip("/")))
        rules.append(_Rule(base, basename_only, regex, attrs))
    return rules


class GitAttributes:
    """The attributes of a tree, as the ordered rules of all its `.gitattributes` files."""

    def __init__(self, rules: list[_Rule]) -> None:
        self._rules = rules

    @classmethod
    def load(cls, root: Path, files: list[RepoFile]) -> GitAttributes:
        """Read every parseable `.gitattributes` of the listing, shallowest first."""
        found = [f for f in files if f.parseable and f.path.rpartition("/")[2] == ".gitattributes"]
        found.sort(key=lambda f: (f.path.count("/"), f.path))
        rules: list[_Rule] = []
        for item in found:
            if item.size > MAX_ATTRIBUTES_BYTES:
                continue
            try:
                text = (root / item.path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            rules.extend(parse(text, item.path.rpartition("/")[0]))
        return cls(rules)

    def lookup(self, path: str) -> dict[str, AttrValue]:
        """Return the tracked attributes that apply to `path` (relative, POSIX)."""
        result: dict[str, AttrValue] = {}
        if not self._rules:
            return result
        basename = path.rpartition("/")[2]
        for rule in self._rules:
            if rule.base:
                if not path.startswith(rule.base + "/"):
                    continue
                relative = path[len(rule.base) + 1 :]
            else:
                relative = path
            if not rule.regex.match(basename if rule.basename_only else relative):
                continue
            for name, value in rule.attrs:
                if value is None:
                    result.pop(name, None)
                else:
                    result[name] = value
        return result
