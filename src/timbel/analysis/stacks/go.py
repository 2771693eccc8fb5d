"""Detect Go services (gin, echo, fiber, chi, net/http, gRPC) from go.mod and its main packages."""

from __future__ import annotations

import re

from timbel.analysis.report import Dependency, ServiceKind
from timbel.analysis.stacks.base import RANK_ENV, RANK_LISTEN, Detected, StackContext, find_health, scan_ports

# (module path prefix, framework, kind), first match wins.
FRAMEWORKS: tuple[tuple[str, str, ServiceKind], ...] = (
    ("github.com/gin-gonic/gin", "gin", "api"),
    ("github.com/labstack/echo", "echo", "api"),
    ("github.com/gofiber/fiber", "fiber", "api"),
    ("github.com/go-chi/chi", "chi", "api"),
    ("google.golang.org/grpc", "gRPC", "grpc"),
)
_REQUIRE = re.compile(
    r"^\s*(?:require\s+)?([\w.\-~]+(?:/[\w.\-~]+)+)\s+(v[\w.\-+]+)(\s*//\s*indirect)?", re.MULTILINE
)
_LISTEN = re.compile(r"(?:ListenAndServe(?:TLS)?|\.Run|\.Start|\.Listen)\(\s*\"[\w.\-]*:(\d{2,5})\"")
_ENV = re.compile(r"\b[pP]ort\s*:?=\s*\"?:?(\d{2,5})\"?")
_MAIN = re.compile(r"^package main\b", re.MULTILINE)


def detect(ctx: StackContext) -> Detected | None:
    """Describe the Go module in this directory as a service or a library."""
    text = ctx.read("go.mod")
    if text is None:
        return None
    module = re.search(r"^module\s+(\S+)", text, re.MULTILINE)
    if module is None:
        ctx.problem("go.mod", "no module directive")
        return None
    det = Detected(
        name=module.group(1).rsplit("/", 1)[-1], language="Go", build_tool="go", manifest=ctx.rel("go.mod")
    )
    go = re.search(r"^go\s+(\d+(?:\.\d+)*)", text, re.MULTILINE)
    toolchain = re.search(r"^toolchain\s+go(\S+)", text, re.MULTILINE)
    det.runtime_version = toolchain.group(1) if toolchain else (go.group(1) if go else None)
    det.dependencies = [
        Dependency(name=m.group(1), version=m.group(2)) for m in _REQUIRE.finditer(text) if not m.group(3)
    ]
    sources = [f for f in ctx.sources(".go") if not f.endswith("_test.go")]
    mains = sorted(
        {f.rsplit("/", 1)[0] if "/" in f else "." for f in sources if _MAIN.search(ctx.read_repo(f) or "")}
    )
    if not mains:
        return det  # a library module
    names = [d.name for d in det.dependencies]
    fw = next((f for f in FRAMEWORKS if any(n.startswith(f[0]) for n in names)), None)
    uses_http = any("net/http" in (ctx.read_repo(f) or "") for f in sources[:200])
    det.framework, det.kind = (
        (fw[1], fw[2]) if fw else (("net/http", "api") if uses_http else (None, "worker"))
    )
    # Prefer cmd/<module name>, then the module root, then the first main package.
    rel_mains = [m if ctx.path == "." else (m[len(ctx.path) + 1 :] if m != ctx.path else ".") for m in mains]
    target = next((m for m in rel_mains if m == f"cmd/{det.name}"), "." if "." in rel_mains else rel_mains[0])
    pkg = "." if target == "." else f"./{target}"
    det.build_command = f"go build -o bin/{det.name} {pkg}"
    det.start_command = f"./bin/{det.name}"
    det.test_command = "go test ./..."
    det.hits = scan_ports(ctx, sources, _LISTEN, RANK_LISTEN, "listen call: {match}")
    env_files = [f for f in sources if 'Getenv("PORT")' in (ctx.read_repo(f) or "")]
    det.hits += scan_ports(ctx, env_files, _ENV, RANK_ENV, "PORT environment default {port}: {match}")
    det.health_path, det.health_evidence = find_health(ctx, sources)
    return det
