"""Language breakdown of a repository, following github-linguist's rules.

Why: users compare our report with the bar GitHub shows, so the same data decides: a file counts
when it is not vendored, documentation, generated or binary and its language is of type
programming or markup (or `linguist-detectable` says otherwise). Detection runs linguist's
strategies in order - modeline, filename, shebang, extension, XML, man page, heuristics - on the first 50 KiB.
Linguist's last step, a Bayesian classifier trained on its samples, is replaced by a fixed choice:
the candidate that comes first in linguist's `popular.yml` (e.g. `.h` -> C), else the first by name.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from timbel.analysis import linguist_tables as tables
from timbel.analysis.files import FileKind, RepoFile
from timbel.analysis.generated import generated_by_path, is_generated
from timbel.analysis.gitattributes import AttrValue, GitAttributes
from timbel.analysis.modelines import modeline_alias

HEURISTICS_BYTES = 50 * 1024
BINARY_SNIFF_BYTES = 8000
TAIL_BYTES = 1024
LARGE_BYTES = 1024 * 1024
MAX_CONTENT_BYTES = 1024 * 1024
COUNTED_TYPES = frozenset({"p", "m"})

_ANY_DIR = "(^|/)"
# Most vendor patterns start with `(^|/)`; matching their bodies at each path component start is
# ~50x faster than searching the whole union through Python's backtracking engine.
_VENDOR_COMPONENT = re.compile(
    "|".join(f"(?:{p[len(_ANY_DIR) :]})" for p in tables.VENDOR_PATTERNS if p.startswith(_ANY_DIR))
)
_VENDOR_OTHER = re.compile("|".join(p for p in tables.VENDOR_PATTERNS if not p.startswith(_ANY_DIR)))
_MANPAGE = re.compile(r"\.(?:[1-9](?![0-9])[a-z_0-9]*|0p|n|man|mdoc)(?:\.in)?$", re.IGNORECASE)
_DOCUMENTATION = re.compile("|".join(tables.DOCUMENTATION_PATTERNS))
_SHEBANG_ENV_OPTIONS = re.compile(r"\s+|(?:(?:-[i0uCSv]*|--\S+)\s+)+|(?:\S+=\S+\s+)+")
_SH_EXEC = re.compile(r"exec (\w+).+\$0.+\$@")


@dataclass(frozen=True, slots=True)
class LanguageShare:
    """One language's part of the repository: bytes and files counted, share of all counted bytes."""

    name: str
    bytes: int
    files: int
    share: float


@cache
def _heuristic_rules() -> tuple[
    tuple[tuple[str, ...], tuple[tuple[tuple[str, ...], Callable[[str], bool]], ...]], ...
]:
    """Compile linguist's disambiguation rules once."""

    def matcher(conjuncts: tuple[tuple[str, str], ...]) -> Callable[[str], bool]:
        with warnings.catch_warnings():  # linguist's Ruby classes like `[[` warn under Python
            warnings.simplefilter("ignore", FutureWarning)
            compiled = [(sign == "+", re.compile(regex, re.MULTILINE)) for sign, regex in conjuncts]
        return lambda text: all((rx.search(text) is not None) == positive for positive, rx in compiled)

    return tuple(
        (exts, tuple((langs, matcher(conjuncts)) for langs, conjuncts in rules))
        for exts, rules in tables.HEURISTICS
    )


def is_vendored(path: str) -> bool:
    """Say whether linguist's vendor.yml marks the path as vendored."""
    if _VENDOR_OTHER.search(path) is not None or _VENDOR_COMPONENT.match(path) is not None:
        return True
    position = path.find("/")
    while position != -1:
        if _VENDOR_COMPONENT.match(path, position + 1) is not None:
            return True
        position = path.find("/", position + 1)
    return False


def is_documentation(path: str) -> bool:
    """Say whether linguist's documentation.yml marks the path as documentation."""
    return _DOCUMENTATION.search(path) is not None


def language_type(name: str) -> str | None:
    """Return linguist's type for a language: programming, markup, data or prose."""
    code = tables.TYPES.get(name)
    return {"p": "programming", "m": "markup", "d": "data", "t": "prose"}.get(code or "")


def find_language(alias: str) -> str | None:
    """Return the language a `linguist-language` value names (by name or alias, any case)."""
    lowered = alias.strip().lower()
    return tables.ALIASES.get(lowered) or tables.ALIASES.get(lowered.replace("-", " "))


def _interpreter(text: str) -> str | None:
    """Return the interpreter a `#!` line names, the way linguist's Shebang strategy reads it."""
    if not text.startswith("#!"):
        return None
    line = text.split("\n", 1)[0]
    match = re.match(r"#!\s*(\S+)", line)
    if match is None:
        return None
    script: str | None = match.group(1).rsplit("/", 1)[-1]
    if script == "env":
        rest = line[match.end() :]
        position = 0
        while True:
            skip = _SHEBANG_ENV_OPTIONS.match(rest, position)
            if skip is None or skip.end() == position:
                break
            position = skip.end()
        found = re.match(r"\S+", rest[position:])
        script = found.group(0) if found else None
    if not script:
        return None
    script = re.sub(r"\.\d+$", "", script)
    if script == "sh":
        for head_line in text.split("\n", 5)[:5]:
            exec_match = _SH_EXEC.search(head_line)
            if exec_match:
                script = exec_match.group(1)
                break
    return script.rsplit("/", 1)[-1]


def _by_modeline(text: str, tail: str) -> tuple[str, ...]:
    """Return the language an Emacs or Vim modeline names, if linguist knows it."""
    alias = modeline_alias(text, tail)
    found = find_language(alias) if alias else None
    return (found,) if found else ()


def _by_extension(name: str) -> tuple[str, ...]:
    """Return the languages of the longest known extension of a file name (linguist's order)."""
    lowered = name.lower()
    if lowered.endswith(tables.GENERIC_EXTENSIONS):
        return ()
    segments = lowered.split(".")[1:]
    for index in range(len(segments)):
        found = tables.EXTENSIONS.get("." + ".".join(segments[index:]))
        if found:
            return found
    return ()


def _by_heuristics(name: str, text: str) -> tuple[str, ...]:
    """Return the languages of the first matching disambiguation rule for the file's extension."""
    lowered = name.lower()
    for extensions, rules in _heuristic_rules():
        if lowered.endswith(extensions):
            for languages, matches in rules:
                if matches(text):
                    return languages
            return ()
    return ()


def detect_language(path: str, text: str, tail: str = "", *, large: bool = False) -> str | None:
    """Detect a file's language from its path and text (the first 50 KiB; `tail` ends a longer file).

    `large` (over 1 MiB) skips the line-based modeline check, as linguist does.
    """
    name = path.rpartition("/")[2]
    strategies: tuple[Callable[[], tuple[str, ...]], ...] = (
        lambda: () if large else _by_modeline(text, tail),
        lambda: tables.FILENAMES.get(name, ()),
        lambda: tables.INTERPRETERS.get(_interpreter(text) or "", ()),
        lambda: _by_extension(name),
        lambda: ("XML",) if text.startswith("<?xml") else (),
        lambda: ("Roff Manpage", "Roff") if _MANPAGE.search(name) else (),
        lambda: _by_heuristics(name, text[:HEURISTICS_BYTES]),
    )
    candidates: tuple[str, ...] = ()
    for index, strategy in enumerate(strategies):
        if index in (4, 5) and candidates:  # XML and man-page strategies answer only when nothing did
            continue
        found = strategy()
        narrowed = tuple(c for c in candidates if c in found) if candidates and index < 4 else found
        if len(narrowed) == 1:
            return narrowed[0]
        if narrowed:
            candidates = narrowed
    if not candidates:
        return None
    popular = [c for c in tables.POPULAR if c in candidates]
    return popular[0] if popular else sorted(candidates)[0]


def _flag(attrs: dict[str, AttrValue], name: str) -> bool | None:
    """Read a linguist boolean attribute: None when unspecified, False for unset or "false"."""
    if name not in attrs:
        return None
    value = attrs[name]
    return value is not False and value != "false"


def _read_text(root: Path, item: RepoFile, limit: int) -> tuple[str, str] | None:
    """Read the head (up to `limit` bytes) and, for longer files, the last 1 KiB as text.

    None means binary data: a NUL byte in the first 8000 bytes, as git decides.
    """
    try:
        descriptor = os.open(root / item.path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(descriptor, "rb") as handle:
            data = handle.read(limit)
            tail = b""
            if item.size > limit:
                handle.seek(max(limit, item.size - TAIL_BYTES))
                tail = handle.read(TAIL_BYTES)
    except OSError:
        return None
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        return None
    return data.decode("utf-8", errors="replace"), tail.decode("utf-8", errors="replace")


def classify(root: Path, item: RepoFile, attrs: dict[str, AttrValue]) -> str | None:
    """Return the language group a file counts for in the breakdown, or None if it is excluded."""
    if item.kind is not FileKind.FILE or item.size == 0:
        return None
    path = item.path
    vendored = _flag(attrs, "linguist-vendored")
    if vendored if vendored is not None else is_vendored(path):
        return None
    documentation = _flag(attrs, "linguist-documentation")
    if documentation if documentation is not None else is_documentation(path):
        return None
    generated = _flag(attrs, "linguist-generated")
    if generated is None and generated_by_path(path):
        return None
    detectable = _flag(attrs, "linguist-detectable")
    lowered = path.lower()
    needs_all = generated is None and lowered.endswith((".js", ".css")) and not item.too_large
    content = _read_text(root, item, MAX_CONTENT_BYTES if needs_all else HEURISTICS_BYTES)
    if content is None:
        return None
    text, tail = content
    forced = attrs.get("linguist-language")
    large = item.size > LARGE_BYTES
    if isinstance(forced, str):
        language = find_language(forced)
    else:
        language = detect_language(path, text, tail, large=large)
    if language is None:
        return None
    if detectable is False or (detectable is None and tables.TYPES.get(language) not in COUNTED_TYPES):
        return None
    # Linguist reads no lines of files over 1 MiB, so its content checks never fire for them.
    if generated if generated is not None else is_generated(path, "" if large else text):
        return None
    return tables.GROUPS.get(language, language)


def _shares(totals: dict[str, list[int]]) -> list[LanguageShare]:
    """Turn byte/file totals into shares rounded to 4 places that sum to exactly 1."""
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1][0], kv[0]))
    grand = sum(size for size, _ in totals.values())
    if grand == 0:
        return []
    shares = [round(size / grand, 4) for _, (size, _) in ordered]
    shares[0] = round(1.0 - sum(shares[1:]), 4)
    return [
        LanguageShare(name, size, count, share)
        for (name, (size, count)), share in zip(ordered, shares, strict=True)
    ]


def language_breakdown(root: Path, files: list[RepoFile]) -> list[LanguageShare]:
    """Return the languages of the listed files, largest first, with shares summing to 1."""
    attributes = GitAttributes.load(root, files)
    totals: dict[str, list[int]] = {}
    for item in files:
        language = classify(root, item, attributes.lookup(item.path))
        if language is None:
            continue
        entry = totals.setdefault(language, [0, 0])
        entry[0] += item.size
        entry[1] += 1
    return _shares(totals)
