"""Shared context, port-evidence ranking and source-scanning helpers for the stack detectors."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from timbel.analysis._fs import read_text
from timbel.analysis.report import Dependency, Evidence, PortEvidence, Problem, ServiceKind

# Port evidence strength, strongest first.
RANK_EXPOSE, RANK_CONFIG, RANK_LISTEN, RANK_ENV, RANK_DEPLOY, RANK_PROCFILE, RANK_DEFAULT = range(7)

# Quoted with ' or " only: a path in backticks is prose (docs, messages), not a route declaration.
_HEALTH = re.compile(r"""["']((?:/[\w.-]+)*/(?:health|healthz|ready|readyz|livez|live))["']""")
# Folders whose code is not the service's own (tests, benchmarks, examples): their routes don't count.
_AUXILIARY = frozenset(
    {"test", "tests", "testdata", "fixtures", "bench", "benchmarks", "example", "examples"}
)
_ROUTE_HINT = re.compile(r"get|route|handle|mapping|path|app\.|router", re.IGNORECASE)


@dataclass
class PortHit:
    """Hold one port candidate with its strength and evidence."""

    rank: int
    port: int
    evidence: PortEvidence


@dataclass
class StackContext:
    """Give a detector one candidate directory: its own files and a way to report problems."""

    root: Path
    path: str
    files: list[str]
    problems: list[Problem] = field(default_factory=list)
    _texts: dict[str, str | None] = field(default_factory=dict, repr=False)

    def rel(self, name: str) -> str:
        """Return a repository-relative path for a name inside this directory."""
        return name if self.path == "." else f"{self.path}/{name}"

    def has(self, name: str) -> bool:
        """Tell whether this directory contains the given relative file."""
        path = self.root / self.rel(name)
        return path.is_file() and not path.is_symlink() and path.resolve().is_relative_to(self.root.resolve())

    def read(self, name: str) -> str | None:
        """Read a file of this directory by its name relative to the directory."""
        return self.read_repo(self.rel(name))

    def read_repo(self, rel: str) -> str | None:
        """Read a file by its repository-relative path (cached: detectors scan the same sources)."""
        if rel not in self._texts:
            self._texts[rel] = read_text(self.root, rel)
        return self._texts[rel]

    def problem(self, name: str, message: str) -> None:
        """Record that a file of this directory could not be understood."""
        self.problems.append(Problem(file=self.rel(name), message=message))

    def sources(self, *suffixes: str, limit: int = 400) -> list[str]:
        """List this directory's own source files with the given suffixes, tests excluded, shallowest first.

        Entry points (main.go, app.py, index.js) sit near the top, so a limit never hides them.
        """
        out = [
            f
            for f in self.files
            if f.endswith(suffixes)
            and "/test" not in f"/{f}"
            and not f.rsplit("/", 1)[-1].startswith("test_")
        ]
        out.sort(key=lambda f: (f.count("/"), f))
        return out[:limit]


@dataclass
class Detected:
    """Carry what one stack detector learned about a candidate directory."""

    name: str
    language: str
    build_tool: str | None
    kind: ServiceKind | None = None  # None means "not deployable": a library
    framework: str | None = None
    runtime_version: str | None = None
    start_command: str | None = None
    build_command: str | None = None
    test_command: str | None = None
    health_path: str | None = None
    health_evidence: list[Evidence] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    # Requirements that are not packages but reveal datastores: PHP extensions such as `ext-redis`.
    platform_requirements: list[Dependency] = field(default_factory=list)
    # Cargo features enabled per dependency (`sqlx` -> `postgres`), which pick a crate's datastore.
    dependency_features: dict[str, tuple[str, ...]] = field(default_factory=dict)
    manifest: str = ""
    hits: list[PortHit] = field(default_factory=list)


def line_at(text: str, index: int) -> int:
    """Return the 1-based line number of a character offset."""
    return text.count("\n", 0, index) + 1


def line_of(text: str, needle: str) -> int | None:
    """Return the 1-based line of the first occurrence of needle, or None."""
    idx = text.find(needle)
    return None if idx < 0 else line_at(text, idx)


def valid_port(value: str) -> int | None:
    """Parse a TCP port number, refusing 0 and values above 65535."""
    try:
        port = int(value)
    except ValueError:
        return None
    return port if 0 < port < 65536 else None


def scan_ports(
    ctx: StackContext, files: Iterable[str], pattern: re.Pattern[str], rank: int, reason: str
) -> list[PortHit]:
    """Find ports in files with a one-group pattern; reason may use {port} and {match}."""
    hits: list[PortHit] = []
    for rel in files:
        text = ctx.read_repo(rel)
        if not text:
            continue
        for m in pattern.finditer(text):
            port = valid_port(m.group(1))
            if port is None:
                continue
            snippet = " ".join(m.group(0).split())[:80]
            ev = PortEvidence(
                file=rel, line=line_at(text, m.start()), reason=reason.format(port=port, match=snippet)
            )
            hits.append(PortHit(rank, port, ev))
    return hits


def default_hit(ctx: StackContext, file: str, port: int, framework: str) -> PortHit:
    """Return the weakest evidence: the framework's documented default port."""
    reason = f"{framework} default port {port} (no explicit port found)"
    return PortHit(RANK_DEFAULT, port, PortEvidence(file=ctx.rel(file), line=None, reason=reason))


def find_health(ctx: StackContext, files: Iterable[str]) -> tuple[str | None, list[Evidence]]:
    """Find health-check routes (/health, /healthz, /ready, /livez …) declared in source."""
    found: list[tuple[str, Evidence]] = []
    for rel in files:
        if _AUXILIARY.intersection(rel.split("/")[:-1]):
            continue
        text = ctx.read_repo(rel)
        if not text:
            continue
        for m in _HEALTH.finditer(text):
            start = text.rfind("\n", 0, m.start()) + 1
            end = text.find("\n", m.end())
            line_text = text[start : end if end >= 0 else len(text)]
            if _ROUTE_HINT.search(line_text):
                ev = Evidence(file=rel, line=line_at(text, m.start()), reason=f"route {m.group(1)}")
                found.append((m.group(1), ev))
    if not found:
        return None, []
    # Prefer liveness-style paths over readiness ones for the single health_path.
    order = ("health", "healthz", "livez", "live", "ready", "readyz")
    found.sort(key=lambda pe: order.index(pe[0].rsplit("/", 1)[-1]))
    return found[0][0], [ev for _, ev in found]
