"""Build a delivery plan from an analysis report: template set, port and resources per deployable service.

Why defaults live here: the wizard's configure step starts from this plan, so every value a user sees
pre-filled (port, resources, replicas) comes from the report, or from the documented defaults below
when the report has none.
"""

from __future__ import annotations

from timbel.analysis.report import Service
from timbel.analysis.schema import AnalysisReport
from timbel.scaffold.plan import DeliveryPlan, EnvironmentPlan, Resources, ServicePlan, Stack, to_label

# The port a stack's generated image listens on when the report found none.
DEFAULT_PORTS: dict[str, int] = {
    "node": 3000, "nextjs": 3000, "spa": 8080, "static": 8080, "python": 8000, "java-maven": 8080,
    "java-gradle": 8080, "go": 8080, "dotnet": 8080, "php": 8080, "ruby": 3000, "rust": 8080,
}  # fmt: skip
_LANGUAGE_STACKS: dict[str, Stack] = {
    "Python": "python", "Go": "go", "C#": "dotnet", "F#": "dotnet", "PHP": "php", "Ruby": "ruby",
    "Rust": "rust", "HTML": "static", "CSS": "static",
}  # fmt: skip
_SPA_FRAMEWORKS = frozenset({"React", "Vue", "Angular", "Svelte", "Vite", "Nuxt"})


class NoDeployableService(ValueError):
    """The report has no service that can be deployed."""


def stack_of(service: Service) -> Stack | None:
    """Choose the template set for a report service, or None when no set fits its language."""
    framework = service.framework or ""
    if service.language in ("JavaScript", "TypeScript"):
        if framework == "Next.js":
            return "nextjs"
        if service.kind == "frontend" or framework in _SPA_FRAMEWORKS:
            return "spa"
        return "node"
    if service.language in ("Java", "Kotlin", "Scala"):
        return "java-gradle" if (service.build_tool or "").lower().startswith("gradle") else "java-maven"
    return _LANGUAGE_STACKS.get(service.language)


def _resources(service: Service) -> Resources:
    found = service.resources
    if found is None:
        return Resources()
    defaults = Resources()
    return Resources(
        cpu_request=found.cpu_request or defaults.cpu_request,
        cpu_limit=found.cpu_limit or defaults.cpu_limit,
        memory_request=found.memory_request or defaults.memory_request,
        memory_limit=found.memory_limit or defaults.memory_limit,
    )


def service_plan(service: Service, *, environments: list[str]) -> ServicePlan | None:
    """Turn one report service into a service plan (None when no template set fits)."""
    stack = stack_of(service)
    if stack is None:
        return None
    resources = _resources(service)
    replicas = max(1, service.resources.replicas or 1) if service.resources else 1
    envs = [
        EnvironmentPlan(name=env, replicas=max(2, replicas) if env == "prod" else 1, resources=resources)
        for env in environments
    ]
    return ServicePlan(
        name=to_label(service.name),
        path=service.path or ".",
        stack=stack,
        language=service.language,
        framework=service.framework,
        build_tool=service.build_tool,
        runtime_version=service.runtime_version,
        port=service.port or DEFAULT_PORTS[stack],
        health_path=service.health_path,
        start_command=service.start_command,
        build_command=service.build_command,
        test_command=service.test_command,
        existing_dockerfile=service.dockerfile,
        environments=envs,
    )


def plan_from_report(
    report: AnalysisReport,
    *,
    domain: str,
    system: str,
    registry: str | None = None,
    gitops_repo_url: str = "",
    environments: list[str] | None = None,
) -> DeliveryPlan:
    """Build the default plan for a system from its report (NoDeployableService when nothing fits)."""
    envs = environments or ["dev", "stg", "prod"]
    services: list[ServicePlan] = []
    seen: set[str] = set()
    for found in report.services:
        planned = service_plan(found, environments=envs)
        if planned is None or planned.name in seen:
            continue
        seen.add(planned.name)
        services.append(planned)
    if not services:
        raise NoDeployableService("The analysis found no service Timbel can build and deploy.")
    extra = {"registry": registry} if registry else {}
    return DeliveryPlan(
        domain=to_label(domain),
        system=to_label(system),
        repo_url=report.source.url or report.source.path or "",
        commit=report.source.commit,
        gitops_repo_url=gitops_repo_url,
        environments=envs,
        services=services,
        **extra,
    )
