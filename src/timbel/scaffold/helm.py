"""Generate a system's Helm chart (one chart, services as a map in values) and its per-environment values.

Why one chart per system: every service of the system is rendered by the same templates from
``.Values.services.<name>``, so adding a service is a values change, and the Jenkinsfile updates
``services.<name>.image.tag`` in ``envs/dev/values.yaml`` without touching templates.

Helm templates use ``{{ }}`` themselves, so the Jinja2 environment here uses ``[[ ]]`` / ``[% %]``
delimiters. Values are emitted by a small YAML writer that quotes every string YAML could read as
something else (``1234e5``, ``on``, ``0.1.0``): Helm's YAML parser would turn them into numbers or booleans.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from timbel.scaffold.plan import (
    Autoscaling,
    DeliveryPlan,
    EnvironmentPlan,
    GeneratedFile,
    Resources,
    ServicePlan,
    header,
)

TEMPLATE_DIR = Path(__file__).parent / "templates"
DEFAULT_VERSION = "0.1.0"
# Chart files as (template under templates/helm/, path under chart/); sorted by path for a stable list.
_CHART_FILES: tuple[tuple[str, str], ...] = (
    ("helmignore.j2", ".helmignore"),
    ("Chart.yaml.j2", "Chart.yaml"),
    ("templates/_helpers.tpl.j2", "templates/_helpers.tpl"),
    ("templates/configmap.yaml.j2", "templates/configmap.yaml"),
    ("templates/deployment.yaml.j2", "templates/deployment.yaml"),
    ("templates/hpa.yaml.j2", "templates/hpa.yaml"),
    ("templates/ingress.yaml.j2", "templates/ingress.yaml"),
    ("templates/pdb.yaml.j2", "templates/pdb.yaml"),
    ("templates/service.yaml.j2", "templates/service.yaml"),
    ("templates/serviceaccount.yaml.j2", "templates/serviceaccount.yaml"),
    ("values.yaml.j2", "values.yaml"),
)
_PLAIN = re.compile(r"^[A-Za-z/][A-Za-z0-9_./-]*$")
_RESERVED = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def yaml_scalar(value: str | int | bool | None) -> str:
    """Write a YAML scalar that every YAML parser reads back as the same type and text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if _PLAIN.match(value) and value.lower() not in _RESERVED:
        return value
    return '"' + "".join(_escape(c) for c in value) + '"'


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    printable = code >= 0x20 and not (0x7F <= code <= 0x9F) and code not in (0x2028, 0x2029, 0xFEFF)
    return char if printable and code < 0xFFFE else f"\\u{code:04x}"


def yaml_block(value: dict[str, Any] | list[Any], *, indent: int = 0) -> str:
    """Write a mapping or list as block YAML in the given key order (callers sort where order is free)."""
    pad = " " * indent
    lines: list[str] = []
    items: list[tuple[str, Any]] = (
        [(f"{yaml_scalar(k)}:", v) for k, v in value.items()]
        if isinstance(value, dict)
        else [("-", v) for v in value]
    )
    for lead, item in items:
        if isinstance(item, dict | list) and item:
            nested = yaml_block(item, indent=indent + 2)
            if lead == "-" and isinstance(item, dict):
                lines.append(f"{pad}- {nested[indent + 2 :]}".rstrip("\n"))
            else:
                lines.append(f"{pad}{lead}\n{nested}".rstrip("\n"))
        elif isinstance(item, dict | list):
            lines.append(f"{pad}{lead} {'{}' if isinstance(item, dict) else '[]'}")
        else:
            lines.append(f"{pad}{lead} {yaml_scalar(item)}")
    return "".join(line + "\n" for line in lines)


def image_tag(plan: DeliveryPlan) -> str:
    """Return the first image tag in the GitOps values: the analysed commit (as Jenkins tags), else 0.1.0."""
    return plan.commit or DEFAULT_VERSION


def chart_dir(plan: DeliveryPlan) -> str:
    """Return the chart's directory in the GitOps repository."""
    return f"{plan.domain}/{plan.system}/chart"


def env_values_path(plan: DeliveryPlan, env: str) -> str:
    """Return the path of an environment's values file in the GitOps repository."""
    return f"{plan.domain}/{plan.system}/envs/{env}/values.yaml"


def secret_name(plan: DeliveryPlan, service: ServicePlan) -> str:
    """Return the name of the Secret (created outside git) that holds a service's secret variables."""
    return f"{plan.system}-{service.name}-secrets"


def _resources(env: EnvironmentPlan | None) -> dict[str, Any]:
    res = env.resources if env is not None else Resources()
    return {
        "limits": {"cpu": res.cpu_limit, "memory": res.memory_limit},
        "requests": {"cpu": res.cpu_request, "memory": res.memory_request},
    }


def _autoscaling(env: EnvironmentPlan | None) -> dict[str, Any]:
    auto = env.autoscaling if env is not None else Autoscaling()
    return {
        "enabled": auto.enabled,
        "minReplicas": auto.min_replicas,
        "maxReplicas": auto.max_replicas,
        "targetCPUUtilizationPercentage": auto.target_cpu_percent,
    }


def _default_service_values(plan: DeliveryPlan, service: ServicePlan) -> dict[str, Any]:
    plain = {v.name: v.value for v in service.env if not v.secret}
    secrets = sorted({v.name for v in service.env if v.secret})
    values: dict[str, Any] = {
        "image": {"repository": plan.image(service), "tag": image_tag(plan), "pullPolicy": "IfNotPresent"},
        "port": service.port,
        "healthPath": service.health_path or "",
        "replicas": 1,
        "resources": _resources(None),
        "autoscaling": _autoscaling(None),
        "ingress": {"enabled": False, "className": "", "host": "", "path": "/", "tlsSecretName": ""},
        "env": dict(sorted(plain.items())),
        "secretEnv": secrets,
    }
    if secrets:
        values["secretName"] = secret_name(plan, service)
    return values


def _env_service_values(plan: DeliveryPlan, service: ServicePlan, env: str) -> dict[str, Any]:
    spec = service.environment(env)
    ingress: dict[str, Any] = {"enabled": spec.ingress_host is not None, "host": spec.ingress_host or ""}
    return {
        "image": {"tag": image_tag(plan)},
        "replicas": spec.replicas,
        "resources": _resources(spec),
        "autoscaling": _autoscaling(spec),
        "ingress": ingress,
    }


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - YAML and Go templates, not HTML
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["q"] = yaml_scalar
    env.filters["yaml"] = lambda value, indent=0: yaml_block(value, indent=indent).rstrip("\n")
    return env


def render_template(template: str, /, **context: Any) -> str:
    """Render one template under ``templates/`` with the ``[[ ]]`` delimiters (Helm and Argo CD files)."""
    return _environment().get_template(template).render(**context)


def generate_chart(plan: DeliveryPlan) -> list[GeneratedFile]:
    """Generate the system's Helm chart under ``<domain>/<system>/chart/`` (same plan → identical text)."""
    services = {s.name: _default_service_values(plan, s) for s in sorted(plan.services, key=lambda s: s.name)}
    context = {
        "header": header(plan).rstrip("\n"),
        "plan": plan,
        "app_version": (plan.commit or DEFAULT_VERSION)[:12],
        "services": services,
    }
    base = chart_dir(plan)
    return [
        GeneratedFile(
            path=f"{base}/{target}",
            content=render_template(f"helm/{source}", **context),
            target="gitops",
            kind="values" if target == "values.yaml" else "chart",
        )
        for source, target in _CHART_FILES
    ]


def generate_env_values(plan: DeliveryPlan) -> list[GeneratedFile]:
    """Generate ``<domain>/<system>/envs/<env>/values.yaml`` per environment (Argo CD sets the namespace)."""
    files = []
    for env in plan.environments:
        services = {
            s.name: _env_service_values(plan, s, env) for s in sorted(plan.services, key=lambda s: s.name)
        }
        text = render_template(
            "helm/env-values.yaml.j2", header=header(plan).rstrip("\n"), plan=plan, env=env, services=services
        )
        files.append(
            GeneratedFile(path=env_values_path(plan, env), content=text, target="gitops", kind="values")
        )
    return files
