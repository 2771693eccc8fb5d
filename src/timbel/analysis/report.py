"""Pydantic models for the service, library and delivery parts of the `timbel.analysis/v1` report."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

ServiceKind = Literal["web", "api", "worker", "frontend", "job", "grpc"]
DependencyScope = Literal["runtime", "dev", "test", "build"]


class PortEvidence(BaseModel):
    """Point at the file and line that supports a finding, and say why."""

    file: str
    line: int | None = None
    reason: str


Evidence = PortEvidence


class Dependency(BaseModel):
    """Describe one direct dependency as written in a manifest."""

    name: str
    version: str | None = None
    scope: DependencyScope = "runtime"


class Datastore(BaseModel):
    """Name a datastore the service needs, with the dependencies that reveal it."""

    name: str
    evidence: list[Evidence] = Field(default_factory=list)


class Resources(BaseModel):
    """Hold suggested Kubernetes resources (filled from a documented table later)."""

    cpu_request: str | None = None
    cpu_limit: str | None = None
    memory_request: str | None = None
    memory_limit: str | None = None
    replicas: int | None = None


class Service(BaseModel):
    """Describe one deployable application found in the repository."""

    name: str
    path: str
    kind: ServiceKind
    language: str
    framework: str | None = None
    build_tool: str | None = None
    runtime_version: str | None = None
    port: int | None = None
    port_evidence: list[PortEvidence] = Field(default_factory=list)
    start_command: str | None = None
    build_command: str | None = None
    test_command: str | None = None
    health_path: str | None = None
    health_evidence: list[Evidence] = Field(default_factory=list)
    dockerfile: str | None = None
    dependencies: list[Dependency] = Field(default_factory=list)
    datastores: list[Datastore] = Field(default_factory=list)
    resources: Resources | None = None


class Library(BaseModel):
    """Describe one non-deployable package (a library, a CLI tool, a framework's own code)."""

    name: str
    path: str
    language: str
    build_tool: str | None = None


class Problem(BaseModel):
    """Report a file the analysis could not read, while analysis goes on."""

    file: str
    message: str


class Delivery(BaseModel):
    """List the delivery assets that already exist, as repository-relative paths."""

    dockerfiles: list[str] = Field(default_factory=list)
    compose_files: list[str] = Field(default_factory=list)
    helm_charts: list[str] = Field(default_factory=list)
    kustomizations: list[str] = Field(default_factory=list)
    k8s_manifests: list[str] = Field(default_factory=list)
    jenkinsfiles: list[str] = Field(default_factory=list)
    ci_workflows: list[str] = Field(default_factory=list)
    argocd_applications: list[str] = Field(default_factory=list)
