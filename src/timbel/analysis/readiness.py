"""Deployment readiness: weighted checks with a fix hint each, scored 0-100.

Why: a user wants to know what is missing before the first deploy, and how to fix it. Each check has
a documented weight (``WEIGHTS``, summing to 100); the score is the sum of the weights of the checks
that pass. Dockerfiles are read as text, never built or run.

Weights: dockerfile 15, dockerfile_non_root 10, dockerfile_pinned_base 10, health_endpoint 10,
port_known 10, tests 10, ci 10, kubernetes 10, readme 5, lockfile 10.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field

from timbel.analysis._fs import read_text
from timbel.analysis.report import Delivery, Service

WEIGHTS: dict[str, int] = {
    "dockerfile": 15,
    "dockerfile_non_root": 10,
    "dockerfile_pinned_base": 10,
    "health_endpoint": 10,
    "port_known": 10,
    "tests": 10,
    "ci": 10,
    "kubernetes": 10,
    "readme": 5,
    "lockfile": 10,
}
LOCKFILES = frozenset(
    {
        "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "bun.lock",
        "poetry.lock", "uv.lock", "Pipfile.lock", "pdm.lock", "requirements.lock", "go.sum", "Cargo.lock",
        "gradle.lockfile", "composer.lock", "Gemfile.lock", "packages.lock.json", "mix.lock",
    }
)  # fmt: skip
_TEST_DIRS = frozenset({"tests", "test", "__tests__", "spec", "e2e"})
_TEST_FILE = re.compile(
    r"^(?:test_.+\.py|.+_test\.(?:py|go)|.+\.(?:test|spec)\.[cm]?[jt]sx?|.+Tests?\.(?:java|kt))$"
)
_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE | re.MULTILINE)
_USER = re.compile(r"^\s*USER\s+(\S+)", re.IGNORECASE)
_ROOT_USERS = frozenset({"root", "0", "root:root", "0:0"})


class ReadinessCheck(BaseModel):
    """One readiness check: whether it passed, what was found, and how to fix it."""

    id: str
    ok: bool
    weight: int
    detail: str
    hint: str | None = None


class Readiness(BaseModel):
    """The report's ``readiness`` section."""

    score: int = Field(ge=0, le=100)
    checks: list[ReadinessCheck]


def _name(rel: str) -> str:
    return rel.rsplit("/", 1)[-1]


def base_image_pinned(image: str) -> bool:
    """Tell whether a base image reference is pinned by digest or a tag other than ``latest``."""
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    return ":" in last and last.rsplit(":", 1)[1] not in ("latest", "")


def dockerfile_findings(text: str) -> tuple[bool, list[str]]:
    """Return (final stage runs as a non-root USER, unpinned base images) for one Dockerfile."""
    stages: set[str] = set()
    unpinned: list[str] = []
    user: str | None = None
    for line in text.splitlines():
        found = _FROM.match(line)
        if found:
            image = found.group(1)
            user = None  # USER does not carry over into a new stage
            if image.lower() != "scratch" and image.lower() not in stages and not base_image_pinned(image):
                unpinned.append(image)
            if found.group(2):
                stages.add(found.group(2).lower())
            continue
        named = _USER.match(line)
        if named:
            user = named.group(1)
    return user is not None and user.lower() not in _ROOT_USERS, unpinned


def _check(check_id: str, ok: bool, detail: str, hint: str) -> ReadinessCheck:
    return ReadinessCheck(
        id=check_id, ok=ok, weight=WEIGHTS[check_id], detail=detail, hint=None if ok else hint
    )


def _docker_checks(root: Path, dockerfiles: list[str]) -> list[ReadinessCheck]:
    if not dockerfiles:
        hint = "Add a Dockerfile for each service; Timbel can generate one in the deploy wizard."
        return [
            _check("dockerfile", False, "No Dockerfile found.", hint),
            _check("dockerfile_non_root", False, "No Dockerfile to check.", "Add a Dockerfile first."),
            _check("dockerfile_pinned_base", False, "No Dockerfile to check.", "Add a Dockerfile first."),
        ]
    as_root: list[str] = []
    unpinned: list[str] = []
    for rel in dockerfiles:
        non_root, loose = dockerfile_findings(read_text(root, rel) or "")
        if not non_root:
            as_root.append(rel)
        unpinned.extend(f"{rel}: {image}" for image in loose)
    return [
        _check("dockerfile", True, f"{len(dockerfiles)} Dockerfile(s): {', '.join(dockerfiles[:5])}.", ""),
        _check(
            "dockerfile_non_root",
            not as_root,
            f"Runs as root: {', '.join(as_root)}."
            if as_root
            else "Every Dockerfile switches to a non-root USER.",
            "Add a non-root user and a `USER app` line in the final stage.",
        ),
        _check(
            "dockerfile_pinned_base",
            not unpinned,
            f"Unpinned base images: {', '.join(unpinned)}."
            if unpinned
            else "Every base image has a fixed tag.",
            "Use a fixed tag such as `python:3.11-slim` or a digest instead of `latest` or no tag.",
        ),
    ]


def _service_checks(services: list[Service]) -> list[ReadinessCheck]:
    if not services:
        none = "No deployable service found."
        return [
            _check("health_endpoint", False, none, "Add a service with a health endpoint such as `/health`."),
            _check("port_known", False, none, "Add a service that listens on a port (e.g. `EXPOSE 8000`)."),
        ]
    no_health = [s.name for s in services if s.health_path is None]
    no_port = [s.name for s in services if s.port is None]
    return [
        _check(
            "health_endpoint",
            not no_health,
            f"No health endpoint found for: {', '.join(no_health)}."
            if no_health
            else "Health endpoints: " + ", ".join(f"{s.name} {s.health_path}" for s in services) + ".",
            "Add a cheap GET endpoint such as `/health` (or Spring Boot actuator) for the liveness probe.",
        ),
        _check(
            "port_known",
            not no_port,
            f"No port found for: {', '.join(no_port)}."
            if no_port
            else "Ports: " + ", ".join(f"{s.name} {s.port}" for s in services) + ".",
            "Declare the port with `EXPOSE` in the Dockerfile or in the framework configuration.",
        ),
    ]


def assess_readiness(root: Path, files: list[str], services: list[Service], delivery: Delivery) -> Readiness:
    """Run every readiness check over the listed files, found services and delivery assets."""
    checks = _docker_checks(root, delivery.dockerfiles)
    checks.extend(_service_checks(services))
    tests = [f for f in files if _TEST_FILE.match(_name(f)) or _TEST_DIRS.intersection(f.split("/")[:-1])]
    test_commands = [s.name for s in services if s.test_command]
    checks.append(
        _check(
            "tests",
            bool(tests or test_commands),
            f"{len(tests)} test file(s) found." if tests or not test_commands else "A test command is set.",
            "Add automated tests (e.g. `tests/test_*.py`, `*.test.ts`, `src/test/java`).",
        )
    )
    ci = delivery.ci_workflows + delivery.jenkinsfiles
    checks.append(
        _check(
            "ci",
            bool(ci),
            f"CI configuration: {', '.join(ci[:5])}." if ci else "No CI configuration found.",
            "Add a CI workflow (e.g. `.github/workflows/ci.yml` or a Jenkinsfile) that runs the tests.",
        )
    )
    k8s = delivery.helm_charts + delivery.kustomizations + delivery.k8s_manifests
    checks.append(
        _check(
            "kubernetes",
            bool(k8s),
            f"Kubernetes assets: {', '.join(k8s[:5])}."
            if k8s
            else "No Helm chart or Kubernetes manifest found.",
            "Add a Helm chart or Kubernetes manifests; Timbel can generate them in the deploy wizard.",
        )
    )
    readmes = [f for f in files if "/" not in f and _name(f).lower().startswith("readme")]
    checks.append(
        _check(
            "readme",
            bool(readmes),
            f"README: {readmes[0]}." if readmes else "No README at the repository root.",
            "Add a README.md saying what the service does and how to run it.",
        )
    )
    locks = [f for f in files if _name(f) in LOCKFILES]
    checks.append(
        _check(
            "lockfile",
            bool(locks),
            f"Lockfiles: {', '.join(locks[:5])}." if locks else "No dependency lockfile found.",
            "Commit a lockfile (package-lock.json, poetry.lock, uv.lock, go.sum, ...) for repeatable builds.",
        )
    )
    return Readiness(score=sum(c.weight for c in checks if c.ok), checks=checks)
