"""Build small fixture repositories (files + a real git commit) for the service and delivery tests."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from timbel.analysis.report import Service
from timbel.analysis.services import detect_services

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Fixture",
    "GIT_AUTHOR_EMAIL": "fixture@example.invalid",
    "GIT_COMMITTER_NAME": "Fixture",
    "GIT_COMMITTER_EMAIL": "fixture@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def make_repo(root: Path, files: dict[str, str]) -> Path:
    """Write files (dedented text) under root and commit them in a fresh git repository."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    env = {**os.environ, **_GIT_ENV}
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "fixture"],
    ):
        subprocess.run(argv, cwd=root, env=env, check=True, capture_output=True)
    return root


def one_service(root: Path) -> Service:
    """Detect services and insist there is exactly one."""
    services, _ = detect_services(root)
    assert len(services) == 1, services
    return services[0]


def evidence_lines(service: Service) -> list[tuple[str, int | None]]:
    """Return (file, line) of each port evidence, strongest first."""
    return [(e.file, e.line) for e in service.port_evidence]


def package_json(**fields: object) -> str:
    """Render a package.json with the given top-level fields."""
    return json.dumps({"name": "app", "version": "1.0.0", **fields}, indent=2)
