"""Find every deployable service and every library package in a checked-out repository.

Why: deploy tools either guess one app per repository or ask for the port by hand. We look at each
manifest directory of a monorepo, ask the stack detectors what it is, then gather port evidence from
Dockerfiles, compose files, Kubernetes manifests and Procfiles, ranked strongest first, so a user can
see *why* we chose a port and correct it where the evidence is weak.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from timbel.analysis._fs import read_text, walk
from timbel.analysis.datastores import datastores_for
from timbel.analysis.report import Library, PortEvidence, Problem, Service
from timbel.analysis.resources import estimate, measure
from timbel.analysis.stacks import dotnet, go, jvm, node, php, python, ruby, rust, static
from timbel.analysis.stacks.base import (
    RANK_DEFAULT,
    RANK_DEPLOY,
    RANK_EXPOSE,
    RANK_PROCFILE,
    Detected,
    PortHit,
    StackContext,
    line_of,
)

MANIFESTS = frozenset(
    {
        "package.json",
        "pyproject.toml",
        "requirements.txt",
        "Pipfile",
        "pom.xml",
        "build.gradle",
        "build.gradle.kts",
        "go.mod",
        "composer.json",
        "Gemfile",
        "Cargo.toml",
    }
)
DETECTORS: tuple[Callable[[StackContext], Detected | None], ...] = (
    node.detect,
    python.detect,
    jvm.detect,
    go.detect,
    dotnet.detect,
    php.detect,
    ruby.detect,
    rust.detect,
    static.detect,
)
_EXPOSE = re.compile(r"^\s*EXPOSE\s+(.+)$", re.MULTILINE | re.IGNORECASE)
_PROCFILE_PORT = re.compile(r"(?:--port[= ]|-p\s+|(?:--bind|-b)[= ]\S*?:|runserver\s+\S*?:)(\d{2,5})\b")


class ServiceScan(BaseModel):
    """Hold the services, libraries and unreadable-manifest problems found in one repository."""

    services: list[Service] = Field(default_factory=list)
    libraries: list[Library] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)


def is_manifest(rel: str) -> bool:
    """Tell whether a path is a manifest that makes its directory a candidate (`*.csproj` included)."""
    name = rel.rsplit("/", 1)[-1]
    return name in MANIFESTS or name.endswith(".csproj")


def _walk(root: Path) -> list[str]:
    return walk(root)


def _parent(rel: str) -> str:
    return posixpath.dirname(rel) or "."


def _under(rel: str, directory: str) -> bool:
    return directory == "." or rel.startswith(directory + "/")


def is_dockerfile(rel: str) -> bool:
    """Tell whether a path is a Dockerfile that may build a service (devcontainers excluded)."""
    name = rel.rsplit("/", 1)[-1]
    is_df = name == "Dockerfile" or name.startswith("Dockerfile.") or name.lower().endswith(".dockerfile")
    return is_df and ".devcontainer" not in rel.split("/")


def is_compose(rel: str) -> bool:
    """Tell whether a path is a Docker Compose file by its conventional name."""
    name = rel.rsplit("/", 1)[-1]
    return bool(re.fullmatch(r"(docker-)?compose(\.[\w-]+)?\.ya?ml", name))


def _compose_services(
    root: Path, files: list[str], problems: list[Problem]
) -> list[tuple[str, str, dict[str, Any], str]]:
    """Return (compose file, service name, service dict, build context dir or "") for each service."""
    out: list[tuple[str, str, dict[str, Any], str]] = []
    for rel in filter(is_compose, files):
        try:
            data = yaml.safe_load(read_text(root, rel) or "")
        except yaml.YAMLError as exc:
            problems.append(Problem(file=rel, message=f"invalid YAML: {exc}".splitlines()[0]))
            continue
        services = data.get("services") if isinstance(data, dict) else None
        for name, svc in (services or {}).items() if isinstance(services, dict) else ():
            if not isinstance(svc, dict):
                continue
            build = svc.get("build")
            context = (
                build
                if isinstance(build, str)
                else (build.get("context", ".") if isinstance(build, dict) else None)
            )
            ctx_dir = (
                posixpath.normpath(posixpath.join(_parent(rel), str(context))) if context is not None else ""
            )
            out.append((rel, str(name), svc, ctx_dir))
    return out


def _deploy_hits(
    root: Path,
    det: Detected,
    path: str,
    files: frozenset[str],
    compose: list[tuple[str, str, dict[str, Any], str]],
    k8s: dict[str, str],
) -> tuple[list[PortHit], str | None]:
    """Collect Dockerfile, compose, Kubernetes and Procfile port evidence and find the Dockerfile."""
    hits: list[PortHit] = []
    dockerfile = next(
        (f for f in (f"{path}/Dockerfile" if path != "." else "Dockerfile",) if f in files), None
    )
    for crel, name, svc, ctx_dir in compose:
        if ctx_dir != path and not (ctx_dir == "" and name == det.name):
            continue
        build = svc.get("build")
        if dockerfile is None and ctx_dir:
            df = build.get("dockerfile") if isinstance(build, dict) else None
            candidate = posixpath.normpath(posixpath.join(ctx_dir, str(df or "Dockerfile")))
            dockerfile = candidate if candidate in files else None
        text = read_text(root, crel) or ""
        for entry in list(svc.get("ports") or []) + list(svc.get("expose") or []):
            raw = str(entry.get("target", "")) if isinstance(entry, dict) else str(entry)
            target = raw.rsplit(":", 1)[-1].split("/", 1)[0].split("-", 1)[0]
            if target.isdigit() and 0 < int(target) < 65536:
                reason = f"compose service {name} ports {raw!r} (container port {target})"
                hits.append(
                    PortHit(
                        RANK_DEPLOY,
                        int(target),
                        PortEvidence(file=crel, line=line_of(text, raw), reason=reason),
                    )
                )
    if dockerfile:
        text = read_text(root, dockerfile) or ""
        for m in _EXPOSE.finditer(text):
            for port in re.findall(r"(?<![\w$])(\d{2,5})(?:/(?:tcp|udp))?\b", m.group(1)):
                ev = PortEvidence(
                    file=dockerfile,
                    line=line_of(text, m.group(0).strip()),
                    reason=f"Dockerfile EXPOSE {port}",
                )
                hits.append(PortHit(RANK_EXPOSE, int(port), ev))
    for rel, text in k8s.items():
        if not (
            (path != "." and _under(rel, path))
            or re.search(rf"^\s*-?\s*name:\s*[\"']?{re.escape(det.name)}[\"']?\s*$", text, re.MULTILINE)
        ):
            continue
        for m in re.finditer(r"containerPort:\s*[\"']?(\d{2,5})", text):
            ev = PortEvidence(
                file=rel, line=line_of(text, m.group(0)), reason=f"Kubernetes containerPort {m.group(1)}"
            )
            hits.append(PortHit(RANK_DEPLOY, int(m.group(1)), ev))
    procfile = "Procfile" if path == "." else f"{path}/Procfile"
    ptext = read_text(root, procfile) if procfile in files else None
    for no, line in enumerate((ptext or "").splitlines(), 1):
        proc, _, cmd = line.partition(":")
        if proc.strip() == "web":
            det.start_command = cmd.strip()
            pm = _PROCFILE_PORT.search(cmd)
            if pm:
                hits.append(
                    PortHit(
                        RANK_PROCFILE,
                        int(pm.group(1)),
                        PortEvidence(file=procfile, line=no, reason=f"Procfile web: {cmd.strip()[:60]}"),
                    )
                )
    return hits, dockerfile


def _is_yaml(rel: str) -> bool:
    return rel.endswith((".yaml", ".yml")) and not is_compose(rel) and ".devcontainer" not in rel.split("/")


def _owned(files: list[str], dirs: set[str]) -> dict[str, list[str]]:
    """Give each file to its deepest candidate directory."""
    owned: dict[str, list[str]] = {d: [] for d in dirs}
    for rel in files:
        d = _parent(rel)
        while d not in dirs and d != ".":
            d = _parent(d)
        if d in owned:
            owned[d].append(rel)
    return owned


def scan_services(root: Path, files: list[str] | None = None) -> ServiceScan:
    """Detect services, libraries and manifest problems; `files` may come from a richer listing."""
    root = root.resolve()
    files = _walk(root) if files is None else files
    dirs = {_parent(f) for f in files if is_manifest(f) and ".devcontainer" not in f.split("/")}
    dirs |= static.candidate_dirs([f for f in files if ".devcontainer" not in f.split("/")], dirs)
    owned = _owned(files, dirs)
    scan = ServiceScan()
    compose = _compose_services(root, files, scan.problems)
    file_set = frozenset(files)
    k8s = {
        rel: text
        for rel in files
        if _is_yaml(rel) and "containerPort:" in (text := read_text(root, rel) or "")
    }
    for path in sorted(dirs):
        ctx = StackContext(root=root, path=path, files=owned[path], problems=scan.problems)
        for detector in DETECTORS:
            det = detector(ctx)
            if det is None:
                continue
            if det.kind is None:
                scan.libraries.append(
                    Library(name=det.name, path=path, language=det.language, build_tool=det.build_tool)
                )
                continue
            deploy, dockerfile = _deploy_hits(root, det, path, file_set, compose, k8s)
            hits = sorted(det.hits + deploy, key=lambda h: (h.rank, h.evidence.file, h.evidence.line or 0))
            if any(h.rank < RANK_DEFAULT for h in hits):
                hits = [h for h in hits if h.rank < RANK_DEFAULT]
            evidence: list[PortEvidence] = []
            for h in hits:
                if h.evidence not in evidence:
                    evidence.append(h.evidence)
            scan.services.append(
                Service(
                    name=det.name,
                    path=path,
                    kind=det.kind,
                    language=det.language,
                    framework=det.framework,
                    build_tool=det.build_tool,
                    runtime_version=det.runtime_version,
                    port=hits[0].port if hits else None,
                    port_evidence=evidence,
                    start_command=det.start_command,
                    build_command=det.build_command,
                    test_command=det.test_command,
                    health_path=det.health_path,
                    health_evidence=det.health_evidence,
                    dockerfile=dockerfile,
                    dependencies=det.dependencies,
                    datastores=datastores_for(root, det),
                )
            )
            scan.services[-1].resources = estimate(scan.services[-1], measure(root, owned[path]))
    return scan


def detect_services(root: Path) -> tuple[list[Service], list[Library]]:
    """Return the deployable services and the library packages of a checked-out repository."""
    scan = scan_services(root)
    return scan.services, scan.libraries
