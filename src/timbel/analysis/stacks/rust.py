"""Detect Rust services (axum, actix-web, Rocket, warp, tonic) from Cargo.toml; other crates are libraries."""

from __future__ import annotations

import posixpath
import re
import tomllib
from typing import Any

from timbel.analysis.report import Dependency, DependencyScope, Problem, ServiceKind
from timbel.analysis.stacks.base import (
    RANK_CONFIG,
    RANK_ENV,
    RANK_LISTEN,
    Detected,
    StackContext,
    default_hit,
    find_health,
    scan_ports,
)

# (crate, framework, kind, default port or 0), first match wins.
FRAMEWORKS: tuple[tuple[str, str, ServiceKind, int], ...] = (
    ("axum", "axum", "api", 0),
    ("actix-web", "actix-web", "api", 0),
    ("rocket", "Rocket", "api", 8000),
    ("warp", "warp", "api", 0),
    ("poem", "poem", "api", 0),
    ("tonic", "tonic", "grpc", 0),
)
_BIND = re.compile(r"(?:bind|serve|run|listen)\(\s*(?:&)?\"[\w.\-\[\]:]*:(\d{2,5})\"")
_ADDR = re.compile(
    r"(?:SocketAddr::from\(\s*\(\s*\[[\d,\s]+\]|\bbind\(\s*\(\s*\"[\w.:\-\[\]]+\")\s*,\s*(\d{2,5})\s*\)"
)
_ENV = re.compile(r"var\(\s*\"PORT\"\s*\)[^;]*?unwrap_or(?:_else)?\([^)]*?\"?(\d{2,5})")
_ROCKET = re.compile(r"^\s*port\s*=\s*(\d{2,5})", re.MULTILINE)


def _toml(ctx: StackContext, rel: str) -> dict[str, Any] | None:
    text = ctx.read_repo(rel)
    if text is None:
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        ctx.problems.append(Problem(file=rel, message=f"invalid TOML: {exc}"))
        return None


def _deps(table: Any, scope: DependencyScope) -> list[Dependency]:
    """Read a dependency table; a renamed entry (`pg = { package = "tokio-postgres" }`) keeps the crate."""
    out: list[Dependency] = []
    for name, spec in (table or {}).items() if isinstance(table, dict) else ():
        version = spec if isinstance(spec, str) else (spec.get("version") if isinstance(spec, dict) else None)
        crate = spec.get("package") if isinstance(spec, dict) else None
        out.append(
            Dependency(
                name=str(crate if isinstance(crate, str) else name),
                version=str(version) if version else None,
                scope=scope,
            )
        )
    return out


def _features(table: Any, inherited: Any) -> dict[str, tuple[str, ...]]:
    """Return the features enabled per crate, adding the workspace's for `workspace = true` entries."""
    out: dict[str, tuple[str, ...]] = {}
    for name, spec in (table or {}).items() if isinstance(table, dict) else ():
        if not isinstance(spec, dict):
            continue
        features = list(spec.get("features") or [])
        base = inherited.get(name) if isinstance(inherited, dict) and spec.get("workspace") is True else None
        if isinstance(base, dict):
            features += list(base.get("features") or [])
        crate = spec.get("package") if isinstance(spec.get("package"), str) else name
        enabled = tuple(dict.fromkeys(str(f) for f in features if isinstance(f, str)))
        if enabled:
            out[str(crate)] = enabled
    return out


def _workspace(ctx: StackContext) -> str | None:
    """Return the nearest ancestor directory whose Cargo.toml declares a [workspace], or None."""
    path = ctx.path
    while path != ".":
        path = posixpath.dirname(path) or "."
        text = ctx.read_repo("Cargo.toml" if path == "." else f"{path}/Cargo.toml")
        if text and re.search(r"^\[workspace\]", text, re.MULTILINE):
            return path
    return None


def _workspace_dependencies(ctx: StackContext, workspace: str | None) -> Any:
    """Return the workspace's `[workspace.dependencies]` table (members inherit features from it)."""
    text = (
        ctx.read_repo("Cargo.toml" if workspace == "." else f"{workspace}/Cargo.toml") if workspace else None
    )
    try:
        ws = tomllib.loads(text or "")
    except tomllib.TOMLDecodeError:
        return None  # the workspace root reports its own broken manifest
    section = ws.get("workspace")
    return section.get("dependencies") if isinstance(section, dict) else None


def _runtime(ctx: StackContext, package: dict[str, Any], workspace: str | None) -> str | None:
    """rust-toolchain(.toml) channel wins, then the package's (or workspace's) rust-version."""
    for name in ("rust-toolchain.toml", "rust-toolchain"):
        text = ctx.read(name) or (
            ctx.read_repo(f"{workspace}/{name}") if workspace not in (None, ".") else None
        )
        text = text or ctx.read_repo(name)
        if text and text.strip():
            m = re.search(r"^\s*channel\s*=\s*\"([^\"]+)\"", text, re.MULTILINE)
            return m.group(1) if m else text.strip().splitlines()[0]
    rv = package.get("rust-version")
    if isinstance(rv, str):
        return rv
    if isinstance(rv, dict) and rv.get("workspace") and workspace is not None:
        ws = _toml(ctx, "Cargo.toml" if workspace == "." else f"{workspace}/Cargo.toml")
        wp = (ws or {}).get("workspace", {}).get("package", {})
        return str(wp["rust-version"]) if isinstance(wp, dict) and "rust-version" in wp else None
    return None


def detect(ctx: StackContext) -> Detected | None:
    """Describe the crate in this directory; a workspace root without a [package] is not a candidate."""
    data = _toml(ctx, ctx.rel("Cargo.toml")) if ctx.has("Cargo.toml") else None
    if data is None:
        return None
    package = data.get("package")
    if not isinstance(package, dict):
        return None  # a virtual workspace manifest: its members are candidates of their own
    name = str(package.get("name") or (ctx.root.name if ctx.path == "." else ctx.path.rsplit("/", 1)[-1]))
    det = Detected(name=name, language="Rust", build_tool="cargo", manifest=ctx.rel("Cargo.toml"))
    det.dependencies = _deps(data.get("dependencies"), "runtime") + _deps(data.get("dev-dependencies"), "dev")
    det.dependencies += _deps(data.get("build-dependencies"), "build")
    workspace = _workspace(ctx)
    det.runtime_version = _runtime(ctx, package, workspace)
    ws_deps = _workspace_dependencies(ctx, workspace)
    det.dependency_features = _features(data.get("dependencies"), ws_deps)
    bins = [b for b in data.get("bin") or [] if isinstance(b, dict)]
    if not bins and not ctx.has("src/main.rs"):
        return det  # a library crate
    names = {d.name for d in det.dependencies if d.scope == "runtime"}
    fw = next((f for f in FRAMEWORKS if f[0] in names), None)
    if fw is None:
        return det  # a command-line tool: not deployable
    det.framework, det.kind = fw[1], fw[2]
    binary = str(bins[0].get("name") or name) if bins else name
    det.build_command = "cargo build --release" + ("" if ctx.path == "." else f" -p {name}")
    # A workspace member's binary lands in the workspace's target directory.
    target = "./target" if workspace is None else posixpath.relpath(f"{workspace}/target", ctx.path)
    det.start_command = f"{target}/release/{binary}"
    det.test_command = "cargo test"
    sources = [f for f in ctx.sources(".rs") if "/tests/" not in f"/{f}"]
    det.hits = scan_ports(ctx, [ctx.rel("Rocket.toml")], _ROCKET, RANK_CONFIG, "Rocket.toml port {port}")
    det.hits += scan_ports(ctx, sources, _BIND, RANK_LISTEN, "bind call: {match}")
    det.hits += scan_ports(ctx, sources, _ADDR, RANK_LISTEN, "socket address: {match}")
    det.hits += scan_ports(ctx, sources, _ENV, RANK_ENV, "PORT environment default {port}: {match}")
    if fw[3]:
        det.hits.append(default_hit(ctx, "Cargo.toml", fw[3], fw[1]))
    det.health_path, det.health_evidence = find_health(ctx, sources)
    return det
