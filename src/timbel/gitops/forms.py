"""The deploy wizard's configure form: a delivery plan as flat form fields, and the submitted fields back.

Why flat fields: one ``<input>`` per value (``s0.port``, ``s0.dev.replicas``) re-displays exactly what was
typed after a 422 and puts each message next to its field. Secret values never travel back to the browser:
the form shows only the names (``NAME=``) and which of them hold a stored value; an empty value keeps it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from timbel.scaffold.plan import ENVIRONMENTS, DeliveryPlan, EnvironmentPlan, ServicePlan
from timbel.web.forms import FormErrors, text, values
from timbel.web.i18n import N_

SecretValues = dict[str, dict[str, str]]
RESOURCE_FIELDS = ("cpu_request", "cpu_limit", "memory_request", "memory_limit")
AUTOSCALING_FIELDS = ("min_replicas", "max_replicas", "target_cpu_percent")
MAX_VARIABLES_TEXT = 100_000
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
MESSAGES = {
    "registry": N_("Use a registry and path like registry.example.com/team."),
    "namespace_pattern": N_("Use {domain}, {system} and {env} with letters, digits and '-'."),
    "environments": N_("Choose at least one environment."),
    "port": N_("Enter a port from 1 to 65535."),
    "health_path": N_("Use an absolute URL path like /health."),
    "cpu_request": N_("Use millicores like 250m or cores like 0.5."),
    "cpu_limit": N_("Use millicores like 250m or cores like 0.5."),
    "memory_request": N_("Use Ki, Mi or Gi, like 256Mi."),
    "memory_limit": N_("Use Ki, Mi or Gi, like 256Mi."),
    "replicas": N_("Enter a whole number from 0 to 100."),
    "min_replicas": N_("Enter a whole number from 1 to 100."),
    "max_replicas": N_("Enter a whole number from 1 to 100."),
    "autoscaling": N_("The maximum must be at least the minimum."),
    "target_cpu_percent": N_("Enter a percentage from 10 to 100."),
    "ingress_host": N_("Use a DNS host name like shop.dev.example.com."),
    "env_vars": N_("Line %(line)s: write NAME=value with a name of letters, digits and '_'."),
    "duplicate": N_("The variable %(variable)s is listed more than once."),
}  # fmt: skip
PLAN_CHANGED = N_("The system's services changed since this page was opened; check the form again.")


def service_field(index: int, name: str) -> str:
    """The form field of one service's value (``s0.port``)."""
    return f"s{index}.{name}"


def env_field(index: int, env: str, name: str) -> str:
    """The form field of one service's value in one environment (``s0.dev.replicas``)."""
    return f"s{index}.{env}.{name}"


@dataclass
class ConfigureForm:
    """What the configure page shows: every field's text, the chosen environments, stored secret names."""

    values: dict[str, str]
    environments: list[str]
    services: list[ServicePlan]
    stored_secrets: dict[str, list[str]] = field(default_factory=dict)


def _env_plan(service: ServicePlan, env: str) -> EnvironmentPlan:
    found = [e for e in service.environments if e.name == env]
    if found:
        return found[0]
    like = service.environments[0].resources.model_dump() if service.environments else {}
    return EnvironmentPlan.model_validate({"name": env, "resources": like})


def form_from_plan(*, plan: DeliveryPlan, stored_secrets: dict[str, list[str]]) -> ConfigureForm:
    """Show a plan as form fields; a secret variable appears as ``NAME=`` (its value is never shown)."""
    fields = {"registry": plan.registry, "namespace_pattern": plan.namespace_pattern}
    for i, service in enumerate(plan.services):
        resources = _env_plan(service, plan.environments[0] if plan.environments else "dev").resources
        fields |= {
            service_field(i, "name"): service.name,
            service_field(i, "port"): str(service.port),
            service_field(i, "health_path"): service.health_path or "",
            service_field(i, "env_vars"): "\n".join(
                f"{v.name}={v.value}" for v in service.env if not v.secret
            ),
            service_field(i, "secret_vars"): "\n".join(f"{v.name}=" for v in service.env if v.secret),
        }
        fields |= {service_field(i, name): getattr(resources, name) for name in RESOURCE_FIELDS}
        for env in ENVIRONMENTS:
            planned = _env_plan(service, env)
            fields[env_field(i, env, "replicas")] = str(planned.replicas)
            fields[env_field(i, env, "autoscaling")] = "on" if planned.autoscaling.enabled else ""
            fields[env_field(i, env, "ingress_host")] = planned.ingress_host or ""
            for name in AUTOSCALING_FIELDS:
                fields[env_field(i, env, name)] = str(getattr(planned.autoscaling, name))
    return ConfigureForm(fields, list(plan.environments), list(plan.services), stored_secrets)


def form_from_submission(
    *, plan: DeliveryPlan, form: FormData, stored_secrets: dict[str, list[str]]
) -> ConfigureForm:
    """Read the submitted fields of a plan's form (every field present, as typed, secrets included)."""
    shape = form_from_plan(plan=plan, stored_secrets=stored_secrets)
    fields: dict[str, str] = {}
    for name in shape.values:
        raw = form.get(name)
        if name.endswith(("env_vars", "secret_vars")):
            fields[name] = (
                raw.replace("\r\n", "\n").strip()[:MAX_VARIABLES_TEXT] if isinstance(raw, str) else ""
            )
        else:
            fields[name] = text(form, name, limit=300)
    chosen = [env for env in ENVIRONMENTS if env in values(form, "environments")]
    return ConfigureForm(fields, chosen, shape.services, stored_secrets)


def without_secret_values(submitted: ConfigureForm) -> ConfigureForm:
    """The submitted form for re-display: typed secret values dropped, their names kept."""
    fields = dict(submitted.values)
    for i in range(len(submitted.services)):
        key = service_field(i, "secret_vars")
        names = [line.split("=", 1)[0].strip() for line in fields[key].splitlines() if line.strip()]
        fields[key] = "\n".join(f"{name}=" for name in names)
    return ConfigureForm(fields, submitted.environments, submitted.services, submitted.stored_secrets)


def _variables(raw: str, key: str, errors: FormErrors) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        name, _, value = line.partition("=")
        name = name.strip()
        if not _ENV_NAME.match(name) or len(value) > 4096:
            errors.add(key, MESSAGES["env_vars"], line=number)
            continue
        found.append((name, value))
    return found


def plan_from_form(
    *, base: DeliveryPlan, submitted: ConfigureForm, stored: SecretValues
) -> tuple[DeliveryPlan | None, SecretValues, FormErrors]:
    """Build the plan and its secret values from the submitted form, or the errors per field.

    A secret variable whose value is left empty keeps its stored value; one without either has none yet.
    """
    errors = FormErrors()
    form = submitted.values
    if not submitted.environments:
        errors.add("environments", MESSAGES["environments"])
    data: dict[str, Any] = base.model_dump(mode="json")
    data |= {
        "registry": form["registry"],
        "namespace_pattern": form["namespace_pattern"],
        "environments": submitted.environments,
    }
    secrets: SecretValues = {}
    env_fields: dict[int, list[str]] = {}
    for i, service in enumerate(data["services"]):
        if form[service_field(i, "name")] != service["name"]:
            errors.add(None, PLAN_CHANGED)
            continue
        plain = _variables(form[service_field(i, "env_vars")], service_field(i, "env_vars"), errors)
        hidden = _variables(form[service_field(i, "secret_vars")], service_field(i, "secret_vars"), errors)
        names = [name for name, _ in plain + hidden]
        for name in sorted({n for n in names if names.count(n) > 1}):
            errors.add(service_field(i, "env_vars"), MESSAGES["duplicate"], variable=name)
        kept = stored.get(service["name"], {})
        given = {name: value or kept.get(name, "") for name, value in hidden}
        if any(given.values()):
            secrets[service["name"]] = {name: value for name, value in sorted(given.items()) if value}
        env_fields[i] = [service_field(i, "env_vars")] * len(plain) + [service_field(i, "secret_vars")] * len(
            hidden
        )
        resources = {name: form[service_field(i, name)] for name in RESOURCE_FIELDS}
        service |= {
            "port": form[service_field(i, "port")],
            "health_path": form[service_field(i, "health_path")] or None,
            "env": [{"name": n, "value": v} for n, v in plain]
            + [{"name": n, "secret": True} for n, _ in hidden],
            "environments": [
                {
                    "name": env,
                    "replicas": form[env_field(i, env, "replicas")],
                    "resources": resources,
                    "autoscaling": {
                        "enabled": form[env_field(i, env, "autoscaling")] == "on",
                        **{name: form[env_field(i, env, name)] for name in AUTOSCALING_FIELDS},
                    },
                    "ingress_host": form[env_field(i, env, "ingress_host")] or None,
                }
                for env in submitted.environments
            ],
        }
    try:
        plan = DeliveryPlan.model_validate(data)
    except ValidationError as exc:
        _add_validation_errors(errors, exc, submitted.environments, env_fields)
        return None, {}, errors
    return (None, {}, errors) if errors else (plan, secrets, errors)


def _add_validation_errors(
    errors: FormErrors, exc: ValidationError, envs: list[str], env_fields: dict[int, list[str]]
) -> None:
    for item in exc.errors():
        loc = [str(part) for part in item["loc"]]
        key = _field_for(loc, envs, env_fields)
        if key is None:
            errors.add(None, PLAN_CHANGED)
            continue
        suffix = key.rsplit(".", 1)[-1]
        if loc[-1] == "autoscaling":
            suffix, key = "autoscaling", key.rsplit(".", 1)[0] + ".max_replicas"
        errors.add(key, MESSAGES[suffix], line="?", variable="?")


def _field_for(loc: list[str], envs: list[str], env_fields: dict[int, list[str]]) -> str | None:
    """Map a plan validation error's location to the form field that holds the value."""
    if loc and loc[0] in ("registry", "namespace_pattern", "environments"):
        return loc[0]
    if len(loc) < 3 or loc[0] != "services" or not loc[1].isdigit():
        return None
    i = int(loc[1])
    if loc[2] in ("port", "health_path"):
        return service_field(i, loc[2])
    if loc[2] == "env" and len(loc) > 3 and loc[3].isdigit():
        fields = env_fields.get(i, [])
        return fields[int(loc[3])] if int(loc[3]) < len(fields) else service_field(i, "env_vars")
    if loc[2] == "environments" and len(loc) > 4 and loc[3].isdigit() and int(loc[3]) < len(envs):
        env = envs[int(loc[3])]
        if loc[4] == "resources" and len(loc) > 5:
            return service_field(i, loc[5])
        if loc[4] == "autoscaling":
            return env_field(i, env, loc[5] if len(loc) > 5 else "autoscaling")
        return env_field(i, env, loc[4])
    return None
