"""Generate a Dockerfile and a .dockerignore for every service that has none, from its template set.

Why templates plus a small context: each stack's build is a readable Jinja2 file under
``templates/docker/``; this module only decides the facts (base images pinned from ``runtime_version``, the
non-root uid, the health probe that works with the tools in the runtime image, the start command). The build
context is the service directory (``docker build <service.path>``), so the .dockerignore sits next to the
Dockerfile. Same plan → byte-identical files.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from urllib.parse import quote

import jinja2

from timbel.scaffold.plan import DeliveryPlan, GeneratedFile, ServicePlan, Stack, header

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("timbel.scaffold", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701 - Dockerfiles are plain text, not HTML
    trim_blocks=True,
    lstrip_blocks=True,
)
_NUMBER = re.compile(r"(\d+)(?:\.(\d+))?")
_SHELL = re.compile(r"[|&;<>()$`*?~\\]")


@dataclass(frozen=True)
class Runtime:
    """Supported image versions of a runtime (ascending) and the default when the plan names none."""

    supported: tuple[str, ...]
    default: str


RUNTIMES: dict[str, Runtime] = {
    "node": Runtime(("18", "20", "22"), "20"),
    "python": Runtime(("3.9", "3.10", "3.11", "3.12", "3.13"), "3.12"),
    "java": Runtime(("8", "11", "17", "21"), "21"),
    "go": Runtime(("1.21", "1.22", "1.23"), "1.22"),
    "dotnet": Runtime(("6.0", "7.0", "8.0", "9.0"), "8.0"),
    "php": Runtime(("8.1", "8.2", "8.3"), "8.3"),
    "ruby": Runtime(("3.1", "3.2", "3.3"), "3.3"),
    "rust": Runtime(("1.82",), "1.82"),
}
_RUNTIME_OF: dict[Stack, str] = {
    "node": "node", "nextjs": "node", "spa": "node", "python": "python", "java-maven": "java",
    "java-gradle": "java", "go": "go", "dotnet": "dotnet", "php": "php", "ruby": "ruby", "rust": "rust",
    "static": "node",
}  # fmt: skip
# The tool each runtime image has for an HTTP health probe (curl only where the template installs it).
_PROBE_TOOL: dict[Stack, str] = {
    "node": "wget", "nextjs": "wget", "spa": "wget", "static": "wget", "go": "wget", "python": "python",
    "php": "php", "ruby": "ruby", "java-maven": "curl", "java-gradle": "curl", "dotnet": "curl",
    "rust": "curl",
}  # fmt: skip
# Non-root uids: the image's own user where it has one (node 1000, nginx 101, aspnet 1654, www-data 33).
_UID: dict[Stack, int] = {
    "node": 1000, "nextjs": 1000, "spa": 101, "static": 101, "dotnet": 1654, "php": 33,
}  # fmt: skip
_DEFAULT_UID = 10001


def pick_version(constraint: str | None, *, runtime: str) -> str:
    """Pick an image version: the smallest supported one at or above the constraint's lower bound."""
    spec = RUNTIMES[runtime]
    found = _NUMBER.search(constraint or "")
    if found is None:
        return spec.default
    major, minor = int(found.group(1)), int(found.group(2) or 0)
    if runtime == "java" and major == 1 and minor:
        major, minor = minor, 0  # 1.8 → 8
    with_minor = "." in spec.supported[0]
    wanted = (major, minor if with_minor else 0)
    for version in spec.supported:
        parts = [int(p) for p in version.split(".")]
        if (parts[0], parts[1] if with_minor else 0) >= wanted:
            return version
    return f"{major}.{minor}" if with_minor else str(major)  # newer than we know: trust the project


def exec_form(command: str) -> str:
    """Render a command as a JSON exec form; commands needing a shell run under ``/bin/sh -c``."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = []
    if not words or _SHELL.search(command):
        words = ["/bin/sh", "-c", command]
    return json.dumps(words)


def _probe(tool: str, url: str) -> str:
    probe = {
        "wget": f"wget -q -O /dev/null '{url}'",
        "curl": f"curl -fsS -o /dev/null '{url}'",
        "python": f"python -c \"import urllib.request; urllib.request.urlopen('{url}', timeout=4)\"",
        "php": f"php -r \"exit(@file_get_contents('{url}') === false ? 1 : 0);\"",
        "ruby": f"ruby -rnet/http -e \"exit Net::HTTP.get_response(URI('{url}')).is_a?(Net::HTTPSuccess)\"",
    }[tool]
    return f"{probe} || exit 1"


def healthcheck(service: ServicePlan) -> str:
    """Return the HEALTHCHECK instruction, or a comment saying why there is none."""
    path = service.health_path
    if path is None and service.stack in ("spa", "static"):
        path = "/"  # nginx serves index.html at the root
    if path is None:
        return "# No HEALTHCHECK: the service has no known health path (Kubernetes uses a TCP probe)."
    url = f"http://127.0.0.1:{service.port}{quote(path, safe='/._~-:@+,=?&%')}"
    start = "60s" if service.stack in ("java-maven", "java-gradle") else "20s"
    options = f"--interval=30s --timeout=5s --start-period={start} --retries=3"
    return f"HEALTHCHECK {options} \\\n    CMD {_probe(_PROBE_TOOL[service.stack], url)}"


def _node_start(service: ServicePlan) -> str:
    command = service.start_command or ""
    if service.framework == "NestJS" and command.split()[1:2] == ["start"]:
        return "node dist/main"  # `nest start` needs the dev-only CLI, pruned from the image
    if re.fullmatch(r"(yarn|pnpm|bun)( run)? start", command):
        return "npm start"  # npm is in every node image; no package manager download at container start
    if command:
        return command
    return "npm start" if service.stack == "nextjs" else "node index.js"


def _python_start(service: ServicePlan) -> str:
    command = re.sub(r"^(poetry|uv|pipenv) run ", "", service.start_command or "")
    if command:
        return command  # the venv is on PATH, no tool wrapper needed
    port = service.port
    return {
        "Django": f"gunicorn --bind 0.0.0.0:{port} config.wsgi:application",
        "Flask": f"gunicorn --bind 0.0.0.0:{port} app:app",
    }.get(service.framework or "", f"uvicorn main:app --host 0.0.0.0 --port {port}")


def _ruby_start(service: ServicePlan) -> str:
    if service.start_command:
        return service.start_command
    if service.framework == "Rails":
        return f"bin/rails server -b 0.0.0.0 -p {service.port}"
    return f"bundle exec rackup --host 0.0.0.0 --port {service.port}"


def _artifact(pattern: str, command: str | None, default: str) -> str:
    found = re.search(pattern, command or "")
    return found.group(1) if found else default


def _context(plan: DeliveryPlan, service: ServicePlan) -> dict[str, object]:
    runtime = _RUNTIME_OF[service.stack]
    version = pick_version(service.runtime_version, runtime=runtime)
    context: dict[str, object] = {
        "header": header(plan),
        "service": service,
        "version": version,
        "port": service.port,
        "uid": _UID.get(service.stack, _DEFAULT_UID),
        "healthcheck": healthcheck(service),
        "build_tool": (service.build_tool or "").lower(),
        "framework": service.framework or "",
        "build_command": service.build_command or "",
    }
    stack = service.stack
    if stack in ("node", "nextjs"):
        context["cmd"] = exec_form(_node_start(service))
    elif stack == "python":
        context["cmd"] = exec_form(_python_start(service))
    elif stack == "ruby":
        context["cmd"] = exec_form(_ruby_start(service))
    elif stack == "go":
        context["package"] = _artifact(r"go build\b.*?\s(\.\S*)\s*$", service.build_command, ".")
    elif stack == "rust":
        binary = _artifact(r"release/([\w.-]+)", service.start_command, service.name)
        context["binary"] = binary
        context["cmd"] = exec_form(f"/usr/local/bin/{binary}")
    elif stack == "dotnet":
        context["project"] = _artifact(r"dotnet publish\s+(\S+\.(?:cs|fs|vb)proj)", service.build_command, "")
        dll = _artifact(r"([\w.-]+\.dll)", service.start_command, f"{service.name}.dll")
        context["cmd"] = exec_form(f"dotnet {dll}")
    elif stack == "php":
        context["laravel"] = service.framework == "Laravel"
    return context


def dockerfile_path(service: ServicePlan) -> str:
    """Return where a service's Dockerfile goes in the application repository."""
    return "Dockerfile" if service.path in (".", "") else f"{service.path.rstrip('/')}/Dockerfile"


def render_dockerfile(*, plan: DeliveryPlan, service: ServicePlan) -> str:
    """Render one service's Dockerfile from its stack's template."""
    return _ENV.get_template(f"docker/{service.stack}.Dockerfile.j2").render(_context(plan, service))


def render_dockerignore(*, plan: DeliveryPlan, service: ServicePlan) -> str:
    """Render the .dockerignore for a service's build context."""
    return _ENV.get_template("docker/dockerignore.j2").render(
        header=header(plan), stack=service.stack, build_tool=(service.build_tool or "").lower()
    )


def generate_dockerfiles(plan: DeliveryPlan) -> list[GeneratedFile]:
    """Generate a Dockerfile and a .dockerignore for each service without an existing Dockerfile."""
    files: list[GeneratedFile] = []
    for service in sorted(plan.services, key=lambda s: s.name):
        if service.existing_dockerfile:
            continue
        path = dockerfile_path(service)
        ignore = path[: -len("Dockerfile")] + ".dockerignore"
        text = render_dockerfile(plan=plan, service=service)
        files.append(GeneratedFile(path=path, content=text, target="app", kind="dockerfile"))
        ignore_text = render_dockerignore(plan=plan, service=service)
        files.append(GeneratedFile(path=ignore, content=ignore_text, target="app", kind="dockerignore"))
    return files
