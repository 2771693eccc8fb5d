"""Test and coverage reports a stage left in the checkout: JUnit XML and Cobertura/istanbul coverage.

Why bounded and careful: the files are written by the pipeline's own code, so they are untrusted input.
At most ``MAX_FILES`` files of ``MAX_BYTES`` each are read; XML with a DOCTYPE or ENTITY declaration (entity
expansion, external entities) or in a non-ASCII-compatible encoding is refused, and what remains is parsed
by ``xml.etree.ElementTree`` (without a DTD, expat expands no entities). Only files that are new or changed
since the last look are reported, so a later stage does not repeat an earlier stage's results.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_FILES = 200
MAX_BYTES = 20 * 1024 * 1024
MAX_CASES = 100
MAX_ENTRIES = 100_000  # directory entries walked per search
_SKIP_DIRS = frozenset({".git", "node_modules", ".home", ".tmp", ".venv", "venv", "__pycache__"})
_JUNIT = ("junit*.xml", "TEST-*.xml")
_UNSAFE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_MESSAGE = 500


class ReportError(ValueError):
    """A report file that is refused or cannot be parsed."""


@dataclass
class ReportScanner:
    """Remembers which report files were already reported (path → (mtime, size))."""

    root: Path
    seen: dict[str, tuple[float, int]] = field(default_factory=dict)

    def new_files(self) -> tuple[list[Path], list[Path], list[Path]]:
        """JUnit XML, Cobertura XML and istanbul summary files that appeared or changed since last time."""
        junit: list[Path] = []
        cobertura: list[Path] = []
        istanbul: list[Path] = []
        for path, relative in _walk(self.root):
            name = path.name
            if _is_junit(name, relative):
                bucket = junit
            elif name == "coverage.xml":
                bucket = cobertura
            elif name == "coverage-summary.json" and path.parent.name == "coverage":
                bucket = istanbul
            else:
                continue
            try:
                info = path.stat()
            except OSError:
                continue
            key = (info.st_mtime, info.st_size)
            if self.seen.get(relative) == key or len(junit) + len(cobertura) + len(istanbul) >= MAX_FILES:
                continue
            self.seen[relative] = key
            bucket.append(path)
        return junit, cobertura, istanbul


def _is_junit(name: str, relative: str) -> bool:
    if not name.endswith(".xml"):
        return False
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in _JUNIT):
        return True
    return "test-results/" in f"/{relative}" and name != "coverage.xml"


def _walk(root: Path) -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    visited = 0
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for filename in sorted(filenames):
            visited += 1
            if visited > MAX_ENTRIES:
                return found
            path = Path(directory) / filename
            if path.is_symlink():
                continue
            found.append((path, path.relative_to(root).as_posix()))
    return found


def read_xml(path: Path) -> ET.Element:
    """Parse a bounded, DTD-free XML file."""
    if path.stat().st_size > MAX_BYTES:
        raise ReportError(f"{path.name} is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    data = path.read_bytes()
    if b"\x00" in data:
        raise ReportError(f"{path.name} is not UTF-8 or ASCII XML")
    if _UNSAFE.search(data):
        raise ReportError(f"{path.name} declares a DOCTYPE or ENTITY; refused")
    try:
        return ET.fromstring(data)  # noqa: S314 - no DTD (checked above), bounded size
    except ET.ParseError as exc:
        raise ReportError(f"{path.name} is not well-formed XML: {exc}") from None


def junit_summary(paths: list[Path]) -> dict[str, Any]:
    """Totals over JUnit files and the failed or errored cases (at most ``MAX_CASES``)."""
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    cases: list[dict[str, str]] = []
    for path in paths:
        root = read_xml(path)
        for case in root.iter("testcase"):
            totals["tests"] += 1
            outcome = _outcome(case)
            if outcome is None:
                continue
            kind, element = outcome
            totals[kind] += 1
            if kind != "skipped" and len(cases) < MAX_CASES:
                message = element.get("message") or (element.text or "").strip().splitlines()[:1]
                text = message if isinstance(message, str) else (message[0] if message else "")
                cases.append({
                    "class": case.get("classname", ""),
                    "name": case.get("name", ""),
                    "message": text[:_MESSAGE],
                })  # fmt: skip
    return {**totals, "cases": cases}


def _outcome(case: ET.Element) -> tuple[str, ET.Element] | None:
    for tag, kind in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        element = case.find(tag)
        if element is not None:
            return kind, element
    return None


def cobertura_percent(path: Path) -> float:
    """Line coverage of a Cobertura ``coverage.xml`` in percent."""
    rate = read_xml(path).get("line-rate")
    if rate is None:
        raise ReportError(f"{path.name} has no line-rate")
    try:
        return round(float(rate) * 100, 2)
    except ValueError:
        raise ReportError(f"{path.name} has no numeric line-rate") from None


def istanbul_percent(path: Path) -> float:
    """Line coverage of an istanbul ``coverage/coverage-summary.json`` in percent."""
    if path.stat().st_size > MAX_BYTES:
        raise ReportError(f"{path.name} is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        pct = json.loads(path.read_text(encoding="utf-8"))["total"]["lines"]["pct"]
    except (ValueError, KeyError, TypeError):
        raise ReportError(f"{path.name} has no total.lines.pct") from None
    if not isinstance(pct, int | float) or isinstance(pct, bool):
        raise ReportError(f"{path.name} has no numeric total.lines.pct")
    return float(pct)
