"""Plain-text rendering of an analysis report for ``timbel analyze --format table`` (no Rich needed)."""

from __future__ import annotations

import re
import sys

from timbel.analysis.schema import AnalysisReport

_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|[^/@:\s]+@[^/:\s]+:)")


def looks_like_url(target: str) -> bool:
    """Tell whether a CLI target is meant as a URL (scheme:// or scp-like ``user@host:path``)."""
    return bool(_URL.match(target)) or "::" in target


def stderr_progress(phase: str, done: int, total: int) -> None:
    """Rewrite one progress line on stderr."""
    sys.stderr.write(f"\ranalyzing: {phase:<10} {done}/{total}")
    sys.stderr.flush()


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)
    return lines


def _text(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


def render_table(report: AnalysisReport) -> str:
    """Return a readable multi-section summary of the report."""
    src = report.source
    out = [f"Source: {src.url or src.path}  ref {_text(src.ref)}  commit {_text(src.commit)}", ""]
    out.append("Languages")
    out += _table(
        ["language", "share", "files", "bytes"],
        [
            [lang.name, f"{lang.share * 100:.1f}%", str(lang.files), str(lang.bytes)]
            for lang in report.languages[:10]
        ],
    )
    out += ["", f"Services ({len(report.services)})"]
    rows = []
    for s in report.services:
        why = s.port_evidence[0].reason if s.port_evidence else ""
        rows.append(
            [s.name, s.path, s.kind, s.framework or s.language, _text(s.port), _text(s.health_path), why]
        )
    out += _table(["name", "path", "kind", "framework", "port", "health", "port evidence"], rows)
    if report.libraries:
        out += ["", f"Libraries ({len(report.libraries)})"]
        out += _table(
            ["name", "path", "language"], [[lib.name, lib.path, lib.language] for lib in report.libraries]
        )
    assets = [(k, v) for k, v in report.delivery.model_dump().items() if v]
    out += ["", "Delivery assets"] + ([f"  {k}: {', '.join(v[:5])}" for k, v in assets] or ["  none"])
    out += ["", f"Readiness: {report.readiness.score}/100"]
    out += _table(
        ["check", "ok", "detail / hint"],
        [
            [c.id, "yes" if c.ok else "NO", c.detail if c.ok else f"{c.detail} {c.hint or ''}"]
            for c in report.readiness.checks
        ],
    )
    k = report.knowledge
    out += ["", f"Knowledge: {len(k.components)} components, {len(k.apis)} APIs, "
            f"{len(k.documents)} documents, {len(k.design_assets)} design assets"]  # fmt: skip
    g = report.git
    if g.is_git and not g.shallow:
        out.append(
            f"Git: {g.commits_30d} commits in 30 days, {g.commits_90d} in 90, {g.contributors} contributors, "
            f"top author {(g.top_author_share or 0) * 100:.0f}%, last commit {_text(g.last_commit)}"
        )
    else:
        out.append("Git: shallow clone, no history" if g.shallow else "Git: not a git repository")
    for problem in report.problems:
        out.append(f"Problem: {problem.file}: {problem.message}")
    st = report.stats
    out.append(f"Scanned {st.files} files, {st.bytes} bytes in {st.elapsed_ms.get('total', 0)} ms")
    return "\n".join(out)
