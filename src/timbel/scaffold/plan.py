"""The delivery plan: what the generators need, built from an analysis report and the operator's choices.

Why one model: every generator (Dockerfile, Jenkinsfile, Helm chart, Argo CD) reads only this plan, so the
wizard, the API and ``timbel scaffold`` produce byte-identical files for the same plan. Names are validated
here (DNS-1123 labels, ports, quantities, host names): a bad value is a 422 on its field, never a broken file.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

GENERATOR = "timbel-scaffold"
GENERATOR_VERSION = "1"
ENVIRONMENTS: tuple[str, ...] = ("dev", "stg", "prod")
Environment = Literal["dev", "stg", "prod"]
_ALL_ENVS: tuple[Environment, ...] = ("dev", "stg", "prod")
# Template sets; ``plan_from_report`` maps a report service to one of them.
Stack = Literal[
    "node", "nextjs", "spa", "python", "java-maven", "java-gradle", "go", "dotnet", "php", "ruby", "rust",
    "static",
]  # fmt: skip
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_CPU = re.compile(r"^([1-9][0-9]{0,5}m|[0-9]{1,3}(\.[0-9]{1,3})?)$")
_MEMORY = re.compile(r"^[1-9][0-9]{0,6}(Ki|Mi|Gi)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_IMAGE_REPO = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")


def check_label(value: str) -> str:
    """A DNS-1123 label (Kubernetes names, namespaces): lower-case alphanumerics and '-', at most 63."""
    if not _LABEL.match(value):
        raise ValueError(
            "use lower-case letters, digits and '-', starting and ending alphanumeric, at most 63"
        )
    return value


def to_label(value: str) -> str:
    """Turn any name into a DNS-1123 label (``Shop_API`` → ``shop-api``)."""
    label = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:63].strip("-")
    return label or "app"


class Resources(BaseModel):
    """CPU and memory requests and limits (Kubernetes quantities)."""

    cpu_request: str = "100m"
    cpu_limit: str = "500m"
    memory_request: str = "128Mi"
    memory_limit: str = "256Mi"

    @field_validator("cpu_request", "cpu_limit")
    @classmethod
    def _cpu(cls, value: str) -> str:
        if not _CPU.match(value):
            raise ValueError("use millicores like 250m or cores like 0.5")
        return value

    @field_validator("memory_request", "memory_limit")
    @classmethod
    def _memory(cls, value: str) -> str:
        if not _MEMORY.match(value):
            raise ValueError("use Ki, Mi or Gi, like 256Mi")
        return value


class Autoscaling(BaseModel):
    """Horizontal pod autoscaling on CPU."""

    enabled: bool = False
    min_replicas: int = Field(default=1, ge=1, le=100)
    max_replicas: int = Field(default=3, ge=1, le=100)
    target_cpu_percent: int = Field(default=80, ge=10, le=100)

    @model_validator(mode="after")
    def _range(self) -> Autoscaling:
        if self.max_replicas < self.min_replicas:
            raise ValueError("max_replicas must be at least min_replicas")
        return self


class EnvVar(BaseModel):
    """An environment variable; a secret's value goes to a Kubernetes Secret reference, never into git."""

    name: str
    value: str = Field(default="", max_length=4096)
    secret: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError("use letters, digits and '_', not starting with a digit")
        return value


class EnvironmentPlan(BaseModel):
    """One environment of a service: replicas, resources, autoscaling, ingress host."""

    name: Environment
    replicas: int = Field(default=1, ge=0, le=100)
    resources: Resources = Field(default_factory=Resources)
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    ingress_host: str | None = None

    @field_validator("ingress_host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        value = value.strip().lower()
        if not _HOST.match(value):
            raise ValueError("use a DNS host name like shop.dev.example.com")
        return value


class ServicePlan(BaseModel):
    """One deployable service of the system and how to build and run it."""

    name: str
    path: str = "."  # the service's directory in the application repository
    stack: Stack
    language: str = ""
    framework: str | None = None
    build_tool: str | None = None
    runtime_version: str | None = None
    port: int = Field(ge=1, le=65535)
    health_path: str | None = None
    start_command: str | None = None
    build_command: str | None = None
    test_command: str | None = None
    existing_dockerfile: str | None = None  # path in the repository; None → Timbel generates one
    env: list[EnvVar] = Field(default_factory=list, max_length=200)
    environments: list[EnvironmentPlan] = Field(default_factory=list)

    _v_name = field_validator("name")(check_label)

    @field_validator("health_path")
    @classmethod
    def _health(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("/") or any(c.isspace() for c in value)):
            raise ValueError("use an absolute URL path like /health")
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/") or any(ord(c) < 0x20 for c in value):
            raise ValueError("use a path inside the repository")
        return value or "."

    def environment(self, name: str) -> EnvironmentPlan:
        """Return this service's plan for an environment."""
        return next(e for e in self.environments if e.name == name)


class DeliveryPlan(BaseModel):
    """A system's delivery: where images go, where the GitOps repository is, its services and environments."""

    domain: str  # DNS-1123 label of the customer domain (its code)
    system: str  # DNS-1123 label of the system (its slug)
    repo_url: str = ""
    commit: str | None = None
    registry: str = "registry.local/timbel"  # image repository prefix: <registry>/<system>-<service>
    gitops_repo_url: str = ""
    gitops_revision: str = "main"
    namespace_pattern: str = "{domain}-{system}-{env}"
    argocd_destination_server: str = "https://kubernetes.default.svc"
    environments: list[Environment] = Field(default_factory=lambda: list(_ALL_ENVS))
    services: list[ServicePlan] = Field(min_length=1)

    _v_labels = field_validator("domain", "system")(check_label)

    @field_validator("registry")
    @classmethod
    def _registry(cls, value: str) -> str:
        if not _IMAGE_REPO.match(value):
            raise ValueError("use a registry and path like registry.example.com/team")
        return value

    @field_validator("namespace_pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        probe = value.replace("{domain}", "d").replace("{system}", "s").replace("{env}", "e")
        if "{" in probe or "}" in probe or not _LABEL.match(probe):
            raise ValueError("use {domain}, {system} and {env} with letters, digits and '-'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DeliveryPlan:
        names = [s.name for s in self.services]
        if len(set(names)) != len(names):
            raise ValueError("service names must be unique")
        for service in self.services:
            have = {e.name for e in service.environments}
            missing = [e for e in self.environments if e not in have]
            if missing:
                service.environments += [EnvironmentPlan(name=e) for e in missing]
        return self

    def namespace(self, env: str) -> str:
        """Return the Kubernetes namespace of an environment (at most 63 characters)."""
        return to_label(self.namespace_pattern.format(domain=self.domain, system=self.system, env=env))

    def image(self, service: ServicePlan) -> str:
        """Return the image repository of a service (no tag)."""
        return f"{self.registry}/{self.system}-{service.name}"


class GeneratedFile(BaseModel):
    """One generated file: its target (GitOps repository or application repository) and its text."""

    path: str
    content: str
    target: Literal["gitops", "app"]
    kind: Literal[
        "dockerfile", "dockerignore", "jenkinsfile", "chart", "values", "argocd-application",
        "argocd-project", "readme",
    ]  # fmt: skip


def header(plan: DeliveryPlan, *, comment: str = "#") -> str:
    """The first line of every generated file: generator, version and the analysed commit (deterministic)."""
    commit = (plan.commit or "working tree")[:12]
    source = f"{plan.system}@{commit}"
    return f"{comment} Generated by {GENERATOR} {GENERATOR_VERSION} from {source}. Managed by Timbel.\n"
