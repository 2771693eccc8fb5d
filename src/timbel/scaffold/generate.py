"""Generate and check every delivery file of a plan: application-repository files and GitOps files.

Why one entry point: the wizard's review step, the commit step, the API and ``timbel scaffold`` all need
the same bundle and the same verdict. Errors block a commit; warnings are shown. An existing Dockerfile
of the repository is checked too, but its findings are warnings: it is the team's file, not ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from timbel.scaffold.argocd import generate_argocd
from timbel.scaffold.dockerfile import generate_dockerfiles
from timbel.scaffold.dockerfile_rules import check_dockerfile
from timbel.scaffold.helm import generate_chart, generate_env_values
from timbel.scaffold.jenkinsfile import TemplateSpec, generate_jenkinsfile
from timbel.scaffold.jenkinsfile_check import check_jenkinsfile
from timbel.scaffold.plan import DeliveryPlan, GeneratedFile
from timbel.scaffold.validate import validate_gitops_files

APP_DIR = "app"  # where `timbel scaffold --out` puts the application-repository files


@dataclass(frozen=True, order=True)
class Check:
    """One finding about one file: ``error`` blocks the commit, ``warning`` does not."""

    path: str
    severity: str
    message: str


@dataclass
class Bundle:
    """The generated files of a plan and what the checks found."""

    plan: DeliveryPlan
    files: list[GeneratedFile]
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing blocks committing the bundle."""
        return not any(check.severity == "error" for check in self.checks)

    def gitops_files(self) -> dict[str, str]:
        """The GitOps repository's files of this bundle, by path."""
        return {f.path: f.content for f in self.files if f.target == "gitops"}

    def app_files(self) -> dict[str, str]:
        """The application repository's files of this bundle, by path."""
        return {f.path: f.content for f in self.files if f.target == "app"}


def generate(
    plan: DeliveryPlan,
    *,
    templates: dict[str, TemplateSpec],
    existing_dockerfiles: dict[str, str] | None = None,
    validate: bool = True,
) -> Bundle:
    """Generate every file of the plan (sorted by target and path) and run every check on it."""
    files = [
        *generate_dockerfiles(plan),
        generate_jenkinsfile(plan, templates=templates),
        *generate_chart(plan),
        *generate_env_values(plan),
        *generate_argocd(plan),
    ]
    files.sort(key=lambda f: (f.target, f.path))
    bundle = Bundle(plan=plan, files=files)
    ports = {_dockerfile_of(s.path): s.port for s in plan.services}
    for item in files:
        if item.kind == "dockerfile":
            bundle.checks += _dockerfile_checks(item.path, item.content, ports.get(item.path), blocking=True)
        elif item.kind == "jenkinsfile":
            bundle.checks += [
                Check(item.path, "error", message) for message in check_jenkinsfile(item.content)
            ]
    for service in plan.services:
        text = (existing_dockerfiles or {}).get(service.existing_dockerfile or "")
        if service.existing_dockerfile and text is not None:
            bundle.checks += _dockerfile_checks(
                service.existing_dockerfile, text, service.port, blocking=False
            )
    if validate:
        gitops = [f for f in files if f.target == "gitops"]
        bundle.checks += [Check(p.path, "error", p.message) for p in validate_gitops_files(gitops, plan=plan)]
    bundle.checks.sort()
    return bundle


def _dockerfile_of(path: str) -> str:
    return "Dockerfile" if path in ("", ".") else f"{path.rstrip('/')}/Dockerfile"


def _dockerfile_checks(path: str, text: str, port: int | None, *, blocking: bool) -> list[Check]:
    return [
        Check(
            path,
            finding.severity if blocking else "warning",
            f"{finding.rule} (line {finding.line}): {finding.message}",
        )
        for finding in check_dockerfile(text, port=port)
    ]


def write_bundle(bundle: Bundle, out: Path) -> list[Path]:
    """Write the bundle under ``out``: GitOps files at their paths, application files under ``app/``."""
    written: list[Path] = []
    for item in bundle.files:
        target = out / (item.path if item.target == "gitops" else f"{APP_DIR}/{item.path}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(item.content, encoding="utf-8")
        written.append(target)
    return written
