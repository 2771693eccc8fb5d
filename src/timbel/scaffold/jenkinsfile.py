"""Generate a system's declarative Jenkinsfile from the delivery plan and each service's pipeline template.

Why the split: pipeline templates (test/build commands and their images) are data an administrator edits;
the delivery stages around them (build image, scan, push, update GitOps, notify) are fixed here so every
system is built, tagged and promoted the same way. Registry, credential ids and the GitOps repository are
Jenkins parameters; the plan only supplies their defaults, so no secret ever appears in the file.

Updating GitOps uses ``yq`` (a pinned container, run with ``docker.image().inside`` so the workspace path
is the same) to set ``services.<name>.image.tag`` in ``<domain>/<system>/envs/dev/values.yaml``: it edits
the YAML structure, not text, so it survives reformatting and hand edits elsewhere in the file.
"""

from __future__ import annotations

import shlex
from functools import lru_cache
from pathlib import Path

import jinja2
from pydantic import BaseModel, Field, field_validator

from timbel.scaffold.plan import DeliveryPlan, GeneratedFile, ServicePlan, header

TEMPLATE_DIR = Path(__file__).parent / "templates" / "jenkins"
YQ_IMAGE = "mikefarah/yq:4.44.3"
TRIVY_IMAGE = "aquasec/trivy:0.57.1"
DEFAULT_REGISTRY_CREDENTIALS_ID = "registry-credentials"
DEFAULT_GITOPS_CREDENTIALS_ID = "gitops-credentials"
NOTIFY_EMAIL_ENV = "TIMBEL_NOTIFY_EMAIL"


class StageSpec(BaseModel):
    """One test/build step of a pipeline template: a name, the container image it runs in, its commands."""

    name: str = Field(min_length=1, max_length=64)
    image: str = Field(default="", max_length=200)
    commands: list[str] = Field(min_length=1, max_length=50)

    @field_validator("name", "image")
    @classmethod
    def _single_line(cls, value: str) -> str:
        value = value.strip()
        if any(ord(c) < 0x20 for c in value) or "'" in value or "\\" in value:
            raise ValueError("use one line without quotes or backslashes")
        return value

    @field_validator("commands")
    @classmethod
    def _commands(cls, value: list[str]) -> list[str]:
        cleaned = [c.strip() for c in value]
        if any(not c or len(c) > 2000 or "\n" in c or "\r" in c for c in cleaned):
            raise ValueError("each command is one non-empty line of at most 2000 characters")
        return cleaned


class TemplateSpec(BaseModel):
    """A pipeline template as the generator sees it (no database): its key and its test/build stages."""

    key: str = Field(min_length=1, max_length=64)
    stages: list[StageSpec] = Field(default_factory=list, max_length=20)


def groovy_string(value: str) -> str:
    """Quote text as a Groovy single-quoted string (no interpolation: the shell expands ``$VARS``)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def groovy_block(lines: list[str], *, indent: str) -> str:
    """Quote shell lines as a Groovy triple-single-quoted string, one line per shell line."""
    body = "".join(f"{indent}{line.replace(chr(92), chr(92) * 2).replace(chr(39), chr(92) + chr(39))}\n"
                   for line in lines)  # fmt: skip
    return "'''\n" + body + indent[:-2] + "'''"


def _service_dir(service: ServicePlan) -> str | None:
    path = service.path.strip("/")
    return None if path in ("", ".") else path


def _build_command(plan: DeliveryPlan, service: ServicePlan) -> str:
    context = _service_dir(service) or "."
    dockerfile = service.existing_dockerfile or (f"{context}/Dockerfile" if context != "." else "Dockerfile")
    image = f'"${{REGISTRY}}/{plan.system}-{service.name}:${{GIT_COMMIT}}"'
    return f"docker build --pull -t {image} -f {shlex.quote(dockerfile)} {shlex.quote(context)}"


def _gitops_script(plan: DeliveryPlan) -> list[str]:
    values = f"{plan.domain}/{plan.system}/envs/dev/values.yaml"
    branch = shlex.quote(plan.gitops_revision)
    return [
        "set -eu",
        'helper=\'!f() { echo "username=${GIT_USER}"; echo "password=${GIT_TOKEN}"; }; f\'',
        "rm -rf .timbel-gitops",
        f'git -c credential.helper="$helper" clone --depth 1 --branch {branch} "$GITOPS_REPO" .timbel-gitops',
        f"test -f .timbel-gitops/{values}",
    ]


def _gitops_commit(plan: DeliveryPlan) -> list[str]:
    branch = shlex.quote(plan.gitops_revision)
    names = ", ".join(s.name for s in plan.services)
    message = (
        f"deploy(dev): {plan.domain}/{plan.system} {names} ${{GIT_COMMIT}} (${{JOB_NAME}} #${{BUILD_NUMBER}})"
    )
    return [
        "set -eu",
        'helper=\'!f() { echo "username=${GIT_USER}"; echo "password=${GIT_TOKEN}"; }; f\'',
        "cd .timbel-gitops",
        'if git diff --quiet; then echo "GitOps values already point at ${GIT_COMMIT}"; exit 0; fi',
        "git add -A",
        "git -c user.name=Jenkins -c user.email=jenkins@timbel.invalid commit -q "
        f'-m "{message}" -m "Built by ${{BUILD_URL:-Jenkins}}. Managed by Timbel."',
        "for attempt in 1 2 3; do",
        f'  if git -c credential.helper="$helper" push origin HEAD:{branch}; then exit 0; fi',
        f'  git -c credential.helper="$helper" pull --rebase origin {branch}',
        "done",
        'echo "GitOps push kept failing after 3 attempts" >&2',
        "exit 1",
    ]


def _yq_command(plan: DeliveryPlan) -> str:
    values = f".timbel-gitops/{plan.domain}/{plan.system}/envs/dev/values.yaml"
    updates = " | ".join(f'.services["{s.name}"].image.tag = strenv(GIT_COMMIT)' for s in plan.services)
    return f"yq -i {shlex.quote(updates)} {values}"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - Groovy text, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["groovy"] = groovy_string
    return env


def generate_jenkinsfile(plan: DeliveryPlan, *, templates: dict[str, TemplateSpec]) -> GeneratedFile:
    """Render the application repository's Jenkinsfile (same plan and templates → identical text)."""
    missing = [s.name for s in plan.services if s.name not in templates]
    if missing:
        raise ValueError(f"no pipeline template for service(s): {', '.join(missing)}")
    services = [
        {
            "name": service.name,
            "dir": _service_dir(service),
            "template": templates[service.name],
            "build": _build_command(plan, service),
            "image": f'"${{REGISTRY}}/{plan.system}-{service.name}:${{GIT_COMMIT}}"',
        }
        for service in plan.services
    ]
    text = (
        _environment()
        .get_template("Jenkinsfile.j2")
        .render(
            header=header(plan, comment="//"),
            plan=plan,
            services=services,
            registry_credentials_id=DEFAULT_REGISTRY_CREDENTIALS_ID,
            gitops_credentials_id=DEFAULT_GITOPS_CREDENTIALS_ID,
            notify_env=NOTIFY_EMAIL_ENV,
            trivy_image=TRIVY_IMAGE,
            yq_image=YQ_IMAGE,
            gitops_clone=groovy_block(_gitops_script(plan), indent=" " * 12),
            gitops_yq=_yq_command(plan),
            gitops_commit=groovy_block(_gitops_commit(plan), indent=" " * 12),
        )
    )
    return GeneratedFile(path="Jenkinsfile", content=text, target="app", kind="jenkinsfile")
