"""Detect Node.js services (Express, NestJS, Fastify, Koa, Next.js, Nuxt, SPAs) from package.json."""

from __future__ import annotations

import json
import re
from typing import Any

from timbel.analysis.report import Dependency, DependencyScope, PortEvidence, ServiceKind
from timbel.analysis.stacks.base import (
    RANK_CONFIG,
    RANK_ENV,
    RANK_LISTEN,
    Detected,
    PortHit,
    StackContext,
    default_hit,
    find_health,
    line_of,
    scan_ports,
)

SOURCE = (".js", ".mjs", ".cjs", ".ts", ".mts", ".jsx", ".tsx")
# (dependency, framework, kind, default port), first match wins: meta-frameworks before their servers.
SERVERS: tuple[tuple[str, str, ServiceKind, int], ...] = (
    ("@nestjs/core", "NestJS", "api", 3000),
    ("next", "Next.js", "web", 3000),
    ("nuxt", "Nuxt", "web", 3000),
    ("fastify", "Fastify", "api", 3000),
    ("koa", "Koa", "api", 3000),
    ("express", "Express", "api", 3000),
)
_LISTEN = re.compile(r"\.listen\(\s*(?:\{[^}]*?\bport\s*:\s*)?(\d{2,5})\b")
_ENV = re.compile(r"process\.env\.PORT\s*(?:\|\||\?\?)\s*[\"']?(\d{2,5})")
_SCRIPT_PORT = re.compile(r"(?:--port[= ]|-p |PORT=)(\d{2,5})")
_CONFIG_PORT = re.compile(r"\bport\s*:\s*(\d{2,5})")


def _deps(data: dict[str, Any], key: str, scope: DependencyScope) -> list[Dependency]:
    raw = data.get(key)
    if not isinstance(raw, dict):
        return []
    return [Dependency(name=k, version=str(v), scope=scope) for k, v in raw.items()]


def _build_tool(ctx: StackContext) -> str:
    for lock, tool in (("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn"), ("bun.lockb", "bun")):
        if ctx.has(lock) or (ctx.root / lock).is_file():
            return tool
    return "npm"


def _frontend(ctx: StackContext, names: set[str]) -> tuple[str, int] | None:
    """Recognise a single-page app: a bundler plus an HTML entry point."""
    html = any(ctx.has(p) for p in ("index.html", "public/index.html", "src/index.html"))
    if "@angular/core" in names and ctx.has("angular.json"):
        return "Angular", 4200
    if not html:
        return None
    if "react-scripts" in names:
        return "React", 3000
    if "vite" in names or "@vitejs/plugin-react" in names:
        for lib, fw in (("react", "React"), ("vue", "Vue"), ("svelte", "Svelte")):
            if lib in names:
                return fw, 5173
        return "Vite", 5173
    if "@vue/cli-service" in names:
        return "Vue", 8080
    return None


def detect(ctx: StackContext) -> Detected | None:
    """Describe the package.json in this directory as a service or a library."""
    text = ctx.read("package.json")
    if text is None:
        return None
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("top level is not an object")
    except ValueError as exc:
        ctx.problem("package.json", f"invalid JSON: {exc}")
        return None
    manifest = ctx.rel("package.json")
    scripts = data.get("scripts") if isinstance(data.get("scripts"), dict) else {}
    assert isinstance(scripts, dict)
    deps = _deps(data, "dependencies", "runtime")
    dev = _deps(data, "devDependencies", "dev")
    runtime_names = {d.name for d in deps}
    all_names = runtime_names | {d.name for d in dev}
    tool = _build_tool(ctx)
    name = str(data.get("name") or (ctx.root.name if ctx.path == "." else ctx.path.rsplit("/", 1)[-1]))
    det = Detected(name=name.rsplit("/", 1)[-1], language="JavaScript", build_tool=tool, manifest=manifest)
    if any(f.endswith((".ts", ".tsx")) for f in ctx.files) or "typescript" in all_names:
        det.language = "TypeScript"
    det.dependencies = deps + dev
    nvmrc = ctx.read(".nvmrc") or ctx.read_repo(".nvmrc")
    engines = data.get("engines")
    if nvmrc and nvmrc.strip():
        det.runtime_version = nvmrc.strip().lstrip("v")
    elif isinstance(engines, dict) and isinstance(engines.get("node"), str):
        det.runtime_version = engines["node"]

    start = scripts.get("start")
    server = next((s for s in SERVERS if s[0] in runtime_names), None)
    spa = _frontend(ctx, all_names) if server is None else None
    sources = ctx.sources(*SOURCE)
    if server:
        det.framework, det.kind, default = server[1], server[2], server[3]
    elif spa:
        det.framework, det.kind, default = spa[0], "frontend", spa[1]
        if isinstance(start, str) and "preview" in start:
            default = 4173
    elif "@grpc/grpc-js" in runtime_names and start:
        det.framework, det.kind, default = "gRPC", "grpc", 0
    elif isinstance(start, str) and start:
        det.kind, default = "worker", 0
        if any("createServer(" in (ctx.read_repo(f) or "") for f in sources[:100]):
            det.framework, det.kind = "node:http", "api"
    else:
        return None if "workspaces" in data else det  # a workspace root is neither; else a library
    run = {"npm": "npm run", "yarn": "yarn", "pnpm": "pnpm", "bun": "bun run"}[tool]
    if isinstance(start, str) and start:
        det.start_command = f"{tool} start" if tool != "bun" else "bun run start"
    elif det.framework in ("Next.js", "Nuxt"):
        det.start_command = (
            "npx next start" if det.framework == "Next.js" else "node .output/server/index.mjs"
        )
    if "build" in scripts:
        det.build_command = f"{run} build"
    test = scripts.get("test")
    if isinstance(test, str) and "no test specified" not in test:
        det.test_command = f"{tool} test"

    hits: list[PortHit] = []
    for key in ("start", "serve", "preview", "dev"):
        value = scripts.get(key)
        m = _SCRIPT_PORT.search(value) if isinstance(value, str) else None
        if m and isinstance(value, str):
            reason = f'package.json script "{key}": {value[:60]}'
            hits.append(
                PortHit(
                    RANK_CONFIG,
                    int(m.group(1)),
                    PortEvidence(file=manifest, line=line_of(text, value), reason=reason),
                )
            )
    configs = [f for f in ctx.files if f.rsplit("/", 1)[-1].startswith(("vite.config.", "nuxt.config."))]
    hits += scan_ports(
        ctx, configs, _CONFIG_PORT, RANK_CONFIG, "server port {port} in bundler/framework config"
    )
    hits += scan_ports(ctx, sources, _LISTEN, RANK_LISTEN, "listen call: {match}")
    hits += scan_ports(ctx, sources, _ENV, RANK_ENV, "PORT environment default {port}: {match}")
    if default:
        hits.append(default_hit(ctx, "package.json", default, det.framework or "node"))
    det.hits = hits
    det.health_path, det.health_evidence = find_health(ctx, sources)
    return det
