"""Check generated GitOps files with the real tools before anything is committed.

The chart is written to a temporary directory and, for every environment, linted and rendered by the real
Helm engine (``helm_python``, Helm's Go SDK) with ``values.yaml`` plus that environment's values file; every
rendered manifest is validated offline against the Kubernetes schemas of ``KUBERNETES_VERSION``
(``kubernetes_validate``, strict: unknown fields are errors). Argo CD's CRDs have no bundled schema, so
Applications and AppProjects are checked structurally here (a JSON schema of the fields we rely on) and
against each other (project, chart path, value files, namespace pattern).

Blame: a manifest problem that also appears when rendering the chart's defaults alone, or the defaults with
every optional object switched on (autoscaling, ingress, env, replicas > 1), belongs to the template; one
that appears only with an environment's values belongs to that values file.
"""

from __future__ import annotations

import fnmatch
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import helm_python as helm
import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import yaml

from timbel.scaffold.argocd import APPLICATION_SCHEMA, ARGOCD_NAMESPACE, PROJECT_SCHEMA
from timbel.scaffold.helm import chart_dir, env_values_path
from timbel.scaffold.plan import DeliveryPlan, GeneratedFile

KUBERNETES_VERSION = "1.30.0"
_LINT_WARNING = 2  # helm lint severities: 1 info, 2 warning, 3 error


@dataclass(frozen=True, order=True)
class Problem:
    """One reason a generated file cannot be committed: the file's path and what is wrong."""

    path: str
    message: str


def validate_gitops_files(files: list[GeneratedFile], *, plan: DeliveryPlan) -> list[Problem]:
    """Render, lint and schema-check the chart per environment and check the Argo CD objects; [] = valid."""
    by_path = {f.path: f for f in files if f.target == "gitops"}
    problems = _check_chart(by_path, plan=plan) + _check_argocd(by_path, plan=plan)
    return sorted(set(problems))


def _check_chart(by_path: dict[str, GeneratedFile], *, plan: DeliveryPlan) -> list[Problem]:
    base = chart_dir(plan)
    chart_files = {p[len(base) + 1 :]: f.content for p, f in by_path.items() if p.startswith(base + "/")}
    if "Chart.yaml" not in chart_files:
        return [Problem(f"{base}/Chart.yaml", "the chart has no Chart.yaml")]
    problems: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="timbel-chart-") as tmp:
        root = Path(tmp) / plan.system
        for relative, content in chart_files.items():
            target = root / PurePosixPath(relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        try:
            chart = helm.Chart.load(root)
        except helm.HelmError as exc:
            return [Problem(f"{base}/Chart.yaml", f"Helm cannot load the chart: {exc.detail}")]
        with chart:
            template_faults: set[tuple[str, str]] = set()
            for probe in ({}, _probe_values(chart)):
                faults, failed = _render(chart, probe, plan=plan, env=None)
                template_faults.update(faults)
                if failed:
                    return [Problem(p, m) for p, m in sorted(template_faults)]
            problems += [Problem(p, m) for p, m in template_faults]
            for env in plan.environments:
                problems += _check_environment(chart, root, by_path, template_faults, plan=plan, env=env)
    return problems


def _check_environment(
    chart: helm.Chart,
    root: Path,
    by_path: dict[str, GeneratedFile],
    template_faults: set[tuple[str, str]],
    *,
    plan: DeliveryPlan,
    env: str,
) -> list[Problem]:
    values_path = env_values_path(plan, env)
    if values_path not in by_path:
        return [Problem(values_path, f"the {env} values file is missing")]
    try:
        values = helm.values_from_yaml(by_path[values_path].content)
    except helm.HelmError as exc:
        return [Problem(values_path, f"not valid YAML: {exc.detail}")]
    problems: list[Problem] = []
    namespace = plan.namespace(env)
    report = helm.lint(root, values, namespace=namespace, kube_version=f"v{KUBERNETES_VERSION}")
    for message in report.get("messages", []):
        if int(message.get("severity", 0)) >= _LINT_WARNING:
            where = f"{chart_dir(plan)}/{message.get('path') or 'Chart.yaml'}"
            problems.append(Problem(where, f"{env}: helm lint: {message.get('error', '')}"))
    rendered, _ = _render(chart, values, plan=plan, env=env)
    for path, message in rendered:
        if (path, message) not in template_faults:
            problems.append(Problem(values_path, f"{env}: {path.rsplit('/', 1)[-1]}: {message}"))
    return problems


def _probe_values(chart: helm.Chart) -> dict[str, Any]:
    """Values that switch on every optional object, so template faults show up without any environment."""
    services = chart.values.get("services")
    names = sorted(services) if isinstance(services, dict) else []
    probe = {
        "replicas": 2,
        "autoscaling": {"enabled": True},
        "ingress": {"enabled": True, "host": "probe.timbel.invalid"},
        "env": {"TIMBEL_PROBE": "1"},
        "secretEnv": ["TIMBEL_PROBE_SECRET"],
        "secretName": "timbel-probe",
    }
    return {"services": {name: probe for name in names}}


def _render(
    chart: helm.Chart, values: dict[str, Any], *, plan: DeliveryPlan, env: str | None
) -> tuple[list[tuple[str, str]], bool]:
    """Render with the given values and validate each manifest; return (path, message) faults, failed."""
    namespace = plan.namespace(env or plan.environments[0])
    try:
        manifests = chart.render(values, name=plan.system, namespace=namespace)
    except helm.HelmError as exc:
        return [(_template_path(exc.detail, plan=plan), f"Helm cannot render the chart: {exc.detail}")], True
    faults: list[tuple[str, str]] = []
    for name, text in sorted(manifests.items()):
        path = f"{chart_dir(plan)}/{name.split('/', 1)[1]}"
        try:
            documents = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as exc:
            faults.append((path, f"renders invalid YAML: {exc}"))
            continue
        faults += [(path, message) for message in map(_kubernetes_problem, documents) if message]
    return faults, False


def _kubernetes_problem(document: Any) -> str | None:
    """Validate one manifest against the Kubernetes schema; return what is wrong or None."""
    if not isinstance(document, dict) or "kind" not in document or "apiVersion" not in document:
        return "a rendered document is not a Kubernetes object (no apiVersion/kind)"
    name = f"{document['kind']} {(document.get('metadata') or {}).get('name', '?')}"
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path) or "(root)"
        return f"{name}: {where}: {exc.message}"
    except kubernetes_validate.SchemaNotFoundError as exc:
        return f"{name}: {exc.message}"
    return None


def _template_path(detail: str, *, plan: DeliveryPlan) -> str:
    """Find the template a Helm error names (``<chart>/templates/x.yaml:12``); else blame Chart.yaml."""
    marker = f"{plan.system}/templates/"
    start = detail.find(marker)
    if start < 0:
        return (
            f"{chart_dir(plan)}/values.yaml"
            if "values" in detail.lower()
            else f"{chart_dir(plan)}/Chart.yaml"
        )
    rest = detail[start + len(plan.system) + 1 :]
    end = min((i for i in (rest.find(c) for c in ':) "') if i >= 0), default=len(rest))
    return f"{chart_dir(plan)}/{rest[:end]}"


def _check_argocd(by_path: dict[str, GeneratedFile], *, plan: DeliveryPlan) -> list[Problem]:
    problems: list[Problem] = []
    objects: dict[str, dict[str, Any]] = {}
    for path, file in sorted(by_path.items()):
        if file.kind not in ("argocd-application", "argocd-project"):
            continue
        try:
            document = yaml.safe_load(file.content)
        except yaml.YAMLError as exc:
            problems.append(Problem(path, f"not valid YAML: {exc}"))
            continue
        if isinstance(document, dict) and document.get("kind") == "ApplicationSet":
            continue  # the optional alternative; its template is Go-templated, so not checked here
        schema = APPLICATION_SCHEMA if file.kind == "argocd-application" else PROJECT_SCHEMA
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(document), key=lambda e: e.path)
        for error in errors:
            where = ".".join(str(p) for p in error.absolute_path) or "(root)"
            problems.append(Problem(path, f"{where}: {error.message}"))
        if not errors:
            objects[path] = document
    return problems + _cross_check(objects, by_path, plan=plan)


def _cross_check(
    objects: dict[str, dict[str, Any]], by_path: dict[str, GeneratedFile], *, plan: DeliveryPlan
) -> list[Problem]:
    """Check Applications against their AppProject and the files they point at."""
    problems: list[Problem] = []
    projects = {o["metadata"]["name"]: o for o in objects.values() if o["kind"] == "AppProject"}
    for path, app in objects.items():
        if app["kind"] != "Application":
            continue
        spec = app["spec"]
        if app["metadata"]["namespace"] != ARGOCD_NAMESPACE:
            problems.append(Problem(path, f"metadata.namespace must be {ARGOCD_NAMESPACE}"))
        chart = spec["source"]["path"].rstrip("/")
        if f"{chart}/Chart.yaml" not in by_path:
            problems.append(Problem(path, f"spec.source.path {chart} is not a generated chart"))
        for value_file in spec["source"].get("helm", {}).get("valueFiles", []):
            resolved = _normalise(f"{chart}/{value_file}")
            if resolved not in by_path:
                problems.append(Problem(path, f"value file {value_file} resolves to missing {resolved}"))
        if spec["project"] != plan.domain:
            problems.append(Problem(path, f"spec.project must be the domain's AppProject {plan.domain}"))
        project = projects.get(spec["project"])
        if project is None:
            if not any(f.kind == "argocd-project" for f in by_path.values()):
                problems.append(Problem(path, f"AppProject {spec['project']} is not among the files"))
            continue  # an invalid AppProject file is reported on its own
        if spec["source"]["repoURL"] not in project["spec"]["sourceRepos"]:
            problems.append(Problem(path, "spec.source.repoURL is not in the project's sourceRepos"))
        destination = spec["destination"]
        allowed = any(
            fnmatch.fnmatchcase(destination["namespace"], d["namespace"])
            and d["server"] in (destination.get("server"), "*")
            for d in project["spec"]["destinations"]
        )
        if not allowed:
            problems.append(Problem(path, "spec.destination is not allowed by the project's destinations"))
    return problems


def _normalise(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def render_environments(files: list[GeneratedFile], *, plan: DeliveryPlan) -> dict[str, str]:
    """Render the chart for every environment with its values, as Helm would apply it (for review).

    The text of each environment is its manifests joined as one YAML stream, or the reason it cannot render.
    """
    by_path = {f.path: f.content for f in files if f.target == "gitops"}
    base = chart_dir(plan)
    rendered: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="timbel-chart-") as tmp:
        root = Path(tmp) / plan.system
        for path, content in by_path.items():
            if path.startswith(base + "/"):
                target = root / PurePosixPath(path[len(base) + 1 :])
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content, encoding="utf-8")
        try:
            chart = helm.Chart.load(root)
        except helm.HelmError as exc:
            return {env: f"# Helm cannot load the chart: {exc.detail}\n" for env in plan.environments}
        with chart:
            for env in plan.environments:
                try:
                    values = helm.values_from_yaml(by_path.get(env_values_path(plan, env), ""))
                    manifests = chart.render(values, name=plan.system, namespace=plan.namespace(env))
                except helm.HelmError as exc:
                    rendered[env] = f"# Helm cannot render {env}: {exc.detail}\n"
                    continue
                parts = [
                    f"# Source: {name}\n{text.strip()}\n"
                    for name, text in sorted(manifests.items())
                    if text.strip() and not name.endswith("NOTES.txt")
                ]
                rendered[env] = "---\n".join(parts)
    return rendered
