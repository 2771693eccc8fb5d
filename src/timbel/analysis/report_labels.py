"""How the analysis report's check ids, kinds, phases, delivery assets and states are named on pages."""

from __future__ import annotations

from timbel.web.i18n import N_

# Check id (readiness.WEIGHTS) → (title, fix hint shown when the check fails).
CHECKS: dict[str, tuple[str, str]] = {
    "dockerfile": (
        N_("Dockerfile"),
        N_("Add a Dockerfile for each service; Timbel can generate one in the deploy wizard."),
    ),
    "dockerfile_non_root": (
        N_("Container runs as a non-root user"),
        N_("Create a non-root user and switch to it with a USER line in the final stage of the Dockerfile."),
    ),
    "dockerfile_pinned_base": (
        N_("Base images have fixed tags"),
        N_("Use a fixed tag such as python:3.11-slim or a digest instead of latest or no tag."),
    ),
    "health_endpoint": (
        N_("Health check endpoint"),
        N_("Add a cheap GET endpoint such as /health (or Spring Boot actuator) for the liveness probe."),
    ),
    "port_known": (
        N_("Service port is known"),
        N_("Declare the port with EXPOSE in the Dockerfile or in the framework configuration."),
    ),
    "tests": (
        N_("Automated tests"),
        N_("Add automated tests (for example tests/test_*.py, *.test.ts or src/test/java)."),
    ),
    "ci": (
        N_("Continuous integration"),
        N_("Add a CI workflow (for example .github/workflows/ci.yml or a Jenkinsfile) that runs the tests."),
    ),
    "kubernetes": (
        N_("Kubernetes manifests or Helm chart"),
        N_("Add a Helm chart or Kubernetes manifests; Timbel can generate them in the deploy wizard."),
    ),
    "readme": (
        N_("README"),
        N_("Add a README.md that says what the service does and how to run it."),
    ),
    "lockfile": (
        N_("Dependency lockfile"),
        N_("Commit a lockfile (package-lock.json, poetry.lock, uv.lock, go.sum, …) for repeatable builds."),
    ),
}

SERVICE_KINDS: dict[str, str] = {
    "web": N_("Web application"),
    "api": N_("API server"),
    "worker": N_("Background worker"),
    "frontend": N_("Frontend"),
    "job": N_("Batch job"),
    "grpc": N_("gRPC server"),
}

PHASES: dict[str, str] = {
    "clone": N_("Cloning the repository"),
    "files": N_("Listing files"),
    "languages": N_("Measuring languages"),
    "services": N_("Finding services"),
    "delivery": N_("Finding delivery assets"),
    "knowledge": N_("Extracting reusable knowledge"),
    "readiness": N_("Checking deployment readiness"),
    "git": N_("Reading git history"),
    "done": N_("Done"),
}

DELIVERY_KINDS: dict[str, str] = {
    "dockerfiles": N_("Dockerfiles"),
    "compose_files": N_("Docker Compose files"),
    "helm_charts": N_("Helm charts"),
    "kustomizations": N_("Kustomizations"),
    "k8s_manifests": N_("Kubernetes manifests"),
    "jenkinsfiles": N_("Jenkinsfiles"),
    "ci_workflows": N_("CI workflows"),
    "argocd_applications": N_("Argo CD applications"),
}

STATES: dict[str, str] = {
    "queued": N_("Queued"),
    "running": N_("Running"),
    "succeeded": N_("Succeeded"),
    "failed": N_("Failed"),
}

# The knowledge section's kinds, with the catalog's message ids (same wording as the catalog pages).
COMPONENT_KINDS: dict[str, str] = {
    "ui": N_("UI"),
    "api": N_("API"),
    "library": N_("Library"),
    "service": N_("Service"),
    "utility": N_("Utility"),
    "data": N_("Data"),
    "other": N_("Other"),
}

DOCUMENT_KINDS: dict[str, str] = {
    "api-guide": N_("API guide"),
    "manual": N_("Manual"),
    "technical": N_("Technical document"),
    "adr": N_("Architecture decision"),
    "readme": N_("README"),
    "other": N_("Other"),
}

DESIGN_KINDS: dict[str, str] = {
    "image": N_("Image"),
    "figma-link": N_("Figma link"),
    "style": N_("Style guide"),
    "icon": N_("Icon"),
    "mockup": N_("Mockup"),
    "other": N_("Other"),
}

# How many items each knowledge list shows before "and N more".
KNOWLEDGE_LIMIT = 50
