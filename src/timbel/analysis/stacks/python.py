"""Detect Python services (Django, FastAPI, Flask, Streamlit) from pyproject, requirements or Pipfile."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from timbel.analysis.report import Dependency, ServiceKind
from timbel.analysis.stacks.base import (
    RANK_CONFIG,
    RANK_ENV,
    RANK_LISTEN,
    Detected,
    PortHit,
    StackContext,
    default_hit,
    find_health,
    scan_ports,
)

MANIFESTS = ("pyproject.toml", "requirements.txt", "Pipfile")
# (dependency, framework, kind, default port), first match wins.
FRAMEWORKS: tuple[tuple[str, str, ServiceKind, int], ...] = (
    ("django", "Django", "web", 8000),
    ("fastapi", "FastAPI", "api", 8000),
    ("flask", "Flask", "api", 5000),
    ("streamlit", "Streamlit", "web", 8501),
)
_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;#]*)")
_LISTEN = re.compile(r"\b(?:run|serve)\((?:[^()]|\([^()]*\))*?\bport\s*=\s*(\d{2,5})")
_ENV = re.compile(r"(?:getenv|environ\.get)\(\s*[\"']PORT[\"']\s*,\s*[\"']?(\d{2,5})")
_SETTING = re.compile(
    r"^[ \t]*(?:port|PORT|http_port|HTTP_PORT|server_port|SERVER_PORT|app_port|APP_PORT)"
    r"[ \t]*(?::[ \t]*int)?[ \t]*=[ \t]*(\d{2,5})[ \t]*(?:#.*)?$",
    re.MULTILINE,
)
_ST_PORT = re.compile(r"^\s*port\s*=\s*(\d{2,5})", re.MULTILINE)
_APP_VAR = {
    "FastAPI": re.compile(r"^(\w+)\s*(?::[^=]+)?=\s*FastAPI\(", re.MULTILINE),
    "Flask": re.compile(r"^(\w+)\s*=\s*Flask\(", re.MULTILINE),
}


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _pep508(specs: list[Any], scope: str) -> list[Dependency]:
    out: list[Dependency] = []
    for spec in specs:
        m = _REQ.match(spec) if isinstance(spec, str) else None
        if m and not spec.lstrip().startswith(("-", "#")):
            out.append(Dependency(name=_norm(m.group(1)), version=m.group(2).strip() or None, scope=scope))
    return out


def _toml(ctx: StackContext, name: str) -> dict[str, Any] | None:
    text = ctx.read(name)
    if text is None:
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        ctx.problem(name, f"invalid TOML: {exc}")
        return None


def _module(ctx: StackContext, rel: str) -> str:
    """Turn a repository-relative .py path into a dotted module path from the service directory."""
    inner = rel if ctx.path == "." else rel[len(ctx.path) + 1 :]
    inner = inner.removeprefix("src/").removesuffix(".py")
    return inner.replace("/", ".").removesuffix(".__init__")


def _manifest_data(ctx: StackContext, det: Detected) -> dict[str, str]:
    """Fill dependencies, runtime and name from the manifests; return the console scripts."""
    scripts: dict[str, str] = {}
    py = _toml(ctx, "pyproject.toml") or {}
    project = py.get("project") if isinstance(py.get("project"), dict) else {}
    poetry = py.get("tool", {}).get("poetry", {}) if isinstance(py.get("tool"), dict) else {}
    if isinstance(project, dict) and project:
        det.name = str(project.get("name") or det.name)
        det.dependencies += _pep508(list(project.get("dependencies") or []), "runtime")
        for extra in (project.get("optional-dependencies") or {}).values():
            det.dependencies += _pep508(list(extra), "dev")
        if isinstance(project.get("requires-python"), str):
            det.runtime_version = project["requires-python"]
        scripts.update({k: str(v) for k, v in (project.get("scripts") or {}).items()})
    if isinstance(poetry, dict) and poetry:
        det.name = str(poetry.get("name") or det.name)
        for dep, ver in (poetry.get("dependencies") or {}).items():
            version = ver if isinstance(ver, str) else (ver.get("version") if isinstance(ver, dict) else None)
            if dep == "python":
                det.runtime_version = det.runtime_version or version
            else:
                det.dependencies.append(Dependency(name=_norm(dep), version=version))
        scripts.update({k: str(v) for k, v in (poetry.get("scripts") or {}).items()})
    req = ctx.read("requirements.txt")
    if req is not None:
        det.dependencies += _pep508(req.splitlines(), "runtime")
    pipfile = _toml(ctx, "Pipfile") or {}
    for section, scope in (("packages", "runtime"), ("dev-packages", "dev")):
        for dep, ver in (pipfile.get(section) or {}).items():
            det.dependencies.append(
                Dependency(name=_norm(dep), version=ver if isinstance(ver, str) else None, scope=scope)
            )
    requires = pipfile.get("requires")
    if isinstance(requires, dict) and requires.get("python_version"):
        det.runtime_version = det.runtime_version or str(requires["python_version"])
    pv = ctx.read(".python-version") or ctx.read_repo(".python-version")
    if pv and pv.strip():
        det.runtime_version = pv.strip().splitlines()[0]
    if not det.build_tool:
        det.build_tool = "pip"
    if ctx.has("uv.lock"):
        det.build_tool = "uv"
    elif ctx.has("poetry.lock") or poetry:
        det.build_tool = "poetry"
    elif ctx.has("Pipfile"):
        det.build_tool = "pipenv"
    return scripts


def _entry(
    ctx: StackContext, framework: str, sources: list[str], scripts: dict[str, str], names: set[str]
) -> str | None:
    """Find how the app is started; None means no application entry point (a library)."""
    texts = {f: ctx.read_repo(f) or "" for f in sources}
    for script, target in scripts.items():
        mod = target.split(":", 1)[0].strip()
        file = next((f for f in sources if _module(ctx, f) == mod), None)
        body = texts.get(file or "", "")
        if re.search(r"\b(?:uvicorn|app|web)\.run\(|\.serve\(", body):
            sub = re.search(r"^def (serve|runserver|run|start)\(", body, re.MULTILINE)
            return f"{script} {sub.group(1)}" if sub else script
    if framework == "Django":
        wsgi = next((f for f in sources if f.endswith("/wsgi.py")), None)
        if wsgi and "gunicorn" in names:
            return f"gunicorn {_module(ctx, wsgi)}:application --bind 0.0.0.0:8000"
        return "python manage.py runserver 0.0.0.0:8000" if ctx.has("manage.py") else None
    if framework in _APP_VAR:
        for f, body in texts.items():
            m = _APP_VAR[framework].search(body)
            if m:
                target = f"{_module(ctx, f)}:{m.group(1)}"
                if framework == "FastAPI":
                    return f"uvicorn {target} --host 0.0.0.0 --port 8000"
                return (
                    f"gunicorn {target} --bind 0.0.0.0:5000"
                    if "gunicorn" in names
                    else f"flask --app {target} run --host 0.0.0.0"
                )
    if framework == "Streamlit":
        app = next((f for f, b in texts.items() if re.search(r"^import streamlit", b, re.MULTILINE)), None)
        return f"streamlit run {app if ctx.path == '.' else app[len(ctx.path) + 1 :]}" if app else None
    for main in ("main.py", "app.py", "worker.py"):
        if ctx.has(main):
            return f"python {main}"
    return None


def detect(ctx: StackContext) -> Detected | None:
    """Describe the Python project in this directory as a service or a library."""
    manifest = next((m for m in MANIFESTS if ctx.has(m)), None)
    if manifest is None:
        return None
    dirname = ctx.root.name if ctx.path == "." else ctx.path.rsplit("/", 1)[-1]
    det = Detected(name=dirname, language="Python", build_tool=None, manifest=ctx.rel(manifest))
    scripts = _manifest_data(ctx, det)
    names = {d.name for d in det.dependencies if d.scope == "runtime"}
    sources = ctx.sources(".py")
    fw = next((f for f in FRAMEWORKS if f[0] in names), None)
    kind: ServiceKind = fw[2] if fw else "worker"
    framework, default = (fw[1], fw[3]) if fw else ("", 0)
    if not fw and "grpcio" in names:
        framework, kind = "gRPC", "grpc"
    start = _entry(ctx, framework, sources, scripts, names)
    if start is None:
        # A lone requirements.txt (docs/, scripts/) is not a package of its own.
        return det if ctx.has("pyproject.toml") or ctx.has("Pipfile") else None
    det.framework, det.kind, det.start_command = framework or None, kind, start
    run = {"poetry": "poetry run ", "uv": "uv run ", "pipenv": "pipenv run "}.get(det.build_tool or "", "")
    det.build_command = {
        "poetry": "poetry install --only main",
        "uv": "uv sync --frozen --no-dev",
        "pipenv": "pipenv install --deploy",
    }.get(
        det.build_tool or "",
        "pip install -r requirements.txt" if ctx.has("requirements.txt") else "pip install .",
    )
    all_names = {d.name for d in det.dependencies}
    if "pytest" in all_names or any("/tests/" in f"/{f}" or "/test_" in f"/{f}" for f in ctx.files):
        det.test_command = f"{run}pytest"
    elif framework == "Django":
        det.test_command = "python manage.py test"
    hits: list[PortHit] = []
    if framework == "Streamlit":
        hits += scan_ports(
            ctx, [ctx.rel(".streamlit/config.toml")], _ST_PORT, RANK_CONFIG, "Streamlit server.port {port}"
        )
    hits += scan_ports(ctx, sources, _LISTEN, RANK_LISTEN, "run call with port {port}: {match}")
    hits += scan_ports(ctx, sources, _ENV, RANK_ENV, "PORT environment default {port}: {match}")
    # Only settings-like modules: a bare `port = 5432` elsewhere is usually a database client's.
    settings = [f for f in sources if re.search(r"(settings|config|conf|main|app|server)[^/]*\.py$", f)]
    hits += scan_ports(ctx, settings, _SETTING, RANK_ENV, "port setting default {port}: {match}")
    if default:
        server = "uvicorn" if framework == "FastAPI" else framework
        hits.append(
            default_hit(ctx, manifest, default, f"{framework}/{server}" if server != framework else framework)
        )
    det.hits = hits
    det.health_path, det.health_evidence = find_health(ctx, sources)
    return det
