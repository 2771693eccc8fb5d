"""Detect .NET projects: `Microsoft.NET.Sdk.Web` projects are ASP.NET Core services, others libraries."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # expat >= 2.4 refuses entity-expansion bombs; no external entities

from timbel.analysis.report import Dependency, PortEvidence, Problem
from timbel.analysis.stacks.base import (
    RANK_CONFIG,
    RANK_ENV,
    RANK_LISTEN,
    Detected,
    PortHit,
    StackContext,
    default_hit,
    find_health,
    line_at,
    line_of,
    scan_ports,
    valid_port,
)

_URL_PORT = r"https?://[^:;\"'\s]+:(\d{2,5})"
_ENV_URLS = re.compile(rf"ASPNETCORE_URLS\s*[=:]\s*[\"']?{_URL_PORT}")
_ENV_PORTS = re.compile(r"ASPNETCORE_HTTP_PORTS\s*[=:]\s*[\"']?(\d{2,5})")
_LISTEN = re.compile(rf"(?:Urls\.Add|UseUrls|\.Run)\(\s*(?:\$|@)?\"{_URL_PORT}")
_HEALTH = re.compile(r"MapHealthChecks\(\s*\"(/[^\"]*)\"")
_NET = re.compile(r"net(?:coreapp)?(\d+)\.(\d+)")


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _launch_settings(ctx: StackContext) -> list[PortHit]:
    """Take the first http URL of each launch profile in Properties/launchSettings.json."""
    rel = ctx.rel("Properties/launchSettings.json")
    text = ctx.read_repo(rel)
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError as exc:
        ctx.problem("Properties/launchSettings.json", f"invalid JSON: {exc}")
        return []
    profiles = data.get("profiles") if isinstance(data, dict) else None
    hits: list[PortHit] = []
    for name, profile in (profiles or {}).items() if isinstance(profiles, dict) else ():
        urls = profile.get("applicationUrl") if isinstance(profile, dict) else None
        if not isinstance(urls, str):
            continue
        http = sorted(urls.split(";"), key=lambda u: not u.startswith("http:"))
        m = re.match(_URL_PORT, http[0].strip())
        port = valid_port(m.group(1)) if m else None
        if port:
            reason = f"launchSettings.json profile {name} applicationUrl {http[0].strip()} (dotnet run only)"
            ev = PortEvidence(file=rel, line=line_of(text, urls), reason=reason)
            hits.append(PortHit(RANK_ENV, port, ev))
    return hits


def _runtime(ctx: StackContext, framework: str | None) -> str | None:
    """Prefer the TargetFramework's version; fall back to global.json's SDK version."""
    if framework:
        m = _NET.search(framework)
        if m:
            return f"{m.group(1)}.{m.group(2)}"
    for rel in (ctx.rel("global.json"), "global.json"):
        text = ctx.read_repo(rel)
        if text:
            m = re.search(r"\"version\"\s*:\s*\"([\d.]+[\w.-]*)\"", text)
            if m:
                return m.group(1)
    return None


def detect(ctx: StackContext) -> Detected | None:
    """Describe the .csproj in this directory as an ASP.NET Core service, a library, or nothing (tests)."""
    prefix = "" if ctx.path == "." else ctx.path + "/"
    projects = sorted(f for f in ctx.files if f.endswith(".csproj") and "/" not in f[len(prefix) :])
    if not projects:
        return None
    rel = projects[0]
    text = ctx.read_repo(rel)
    if text is None:
        return None
    try:
        root = ET.fromstring(text)  # noqa: S314 - see import comment
    except ET.ParseError as exc:
        ctx.problems.append(Problem(file=rel, message=f"invalid XML: {exc}"))
        return None
    name = rel.rsplit("/", 1)[-1].removesuffix(".csproj")
    sdk = root.get("Sdk", "")
    props = {_tag(e): (e.text or "").strip() for e in root.iter() if len(e) == 0 and e.text}
    deps = [
        Dependency(name=e.get("Include", ""), version=e.get("Version"))
        for e in root.iter()
        if _tag(e) == "PackageReference" and e.get("Include")
    ]
    det = Detected(name=props.get("AssemblyName", name), language="C#", build_tool="dotnet", manifest=rel)
    det.dependencies = deps
    target = props.get("TargetFramework") or props.get("TargetFrameworks", "").split(";")[0] or None
    det.runtime_version = _runtime(ctx, target)
    names = {d.name for d in deps}
    if "Microsoft.NET.Test.Sdk" in names or props.get("IsTestProject", "").lower() == "true":
        return None  # a test project is neither a service nor a library
    if sdk != "Microsoft.NET.Sdk.Web":
        return det
    det.framework, det.kind = "ASP.NET Core", "api"
    if any(f.endswith((".cshtml", ".razor")) for f in ctx.files):
        det.kind = "web"
    det.build_command = f"dotnet publish {rel[len(prefix) :]} -c Release -o out"
    det.start_command = f"dotnet out/{det.name}.dll"
    det.test_command = "dotnet test"
    sources = ctx.sources(".cs")
    env_files = [f for f in ctx.files if f.rsplit("/", 1)[-1].startswith(("Dockerfile", ".env"))]
    env_files += [
        f for f in ctx.files if f.rsplit("/", 1)[-1].startswith("appsettings") and f.endswith(".json")
    ]
    hits = _launch_settings(ctx)
    hits += scan_ports(ctx, env_files, _ENV_URLS, RANK_CONFIG, "ASPNETCORE_URLS port {port}: {match}")
    hits += scan_ports(ctx, env_files, _ENV_PORTS, RANK_CONFIG, "ASPNETCORE_HTTP_PORTS {port}: {match}")
    hits += scan_ports(ctx, sources, _LISTEN, RANK_LISTEN, "listen URL in code: {match}")
    major = int(det.runtime_version.split(".")[0]) if det.runtime_version else 0
    if major >= 8:
        hits.append(
            default_hit(ctx, rel[len(prefix) :], 8080, ".NET 8+ container image (ASPNETCORE_HTTP_PORTS)")
        )
    else:
        hits.append(default_hit(ctx, rel[len(prefix) :], 5000, "Kestrel"))
    det.hits = hits
    for f in sources:
        body = ctx.read_repo(f) or ""
        m = _HEALTH.search(body)
        if m:
            det.health_path = m.group(1)
            det.health_evidence = [
                PortEvidence(file=f, line=line_at(body, m.start()), reason=f"MapHealthChecks {m.group(1)}")
            ]
            break
    else:
        det.health_path, det.health_evidence = find_health(ctx, sources)
    return det
