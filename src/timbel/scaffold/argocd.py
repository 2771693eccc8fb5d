"""Generate the Argo CD objects of a system: the domain's AppProject and one Application per environment.

Sync policy per environment (the promotion ladder):
- dev: automated with prune and self-heal — git is the truth, Jenkins bumps the image tag, Argo applies it.
- stg: automated with self-heal but without prune — a change rolls out by itself, but deleting an object
  (a removed service, a renamed resource) waits for an operator's sync with prune, so a bad commit cannot
  silently remove what testers rely on.
- prod: manual — nothing is applied until an operator (or Timbel's promotion) syncs.
All use ``CreateNamespace=true`` and retry 5 times with exponential backoff. Application names carry the
domain (``<domain>-<system>-<env>``) because all Applications share Argo CD's namespace.
"""

from __future__ import annotations

import re
from typing import Any

from timbel.scaffold.helm import chart_dir, render_template
from timbel.scaffold.plan import DeliveryPlan, GeneratedFile, header

ARGOCD_NAMESPACE = "argocd"
_SYNC: dict[str, tuple[dict[str, bool] | None, str]] = {
    "dev": ({"prune": True, "selfHeal": True}, "automated sync with prune and self-heal."),
    "stg": (
        {"prune": False, "selfHeal": True},
        "automated sync with self-heal; deletions need a manual sync.",
    ),
    "prod": (None, "manual sync only."),
}

_NAME: dict[str, Any] = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"}
_TEXT: dict[str, Any] = {"type": "string", "minLength": 1}
_META: dict[str, Any] = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {"name": _NAME, "namespace": _NAME},
}
# The fields of Argo CD objects we generate and rely on (Argo CD CRDs have no bundled schema).
APPLICATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "argoproj.io/v1alpha1"},
        "kind": {"const": "Application"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "required": ["project", "source", "destination"],
            "properties": {
                "project": _NAME,
                "source": {
                    "type": "object",
                    "required": ["repoURL", "path", "targetRevision"],
                    "properties": {
                        "repoURL": _TEXT,
                        "path": _TEXT,
                        "targetRevision": _TEXT,
                        "helm": {
                            "type": "object",
                            "properties": {"valueFiles": {"type": "array", "items": _TEXT}},
                        },
                    },
                },
                "destination": {
                    "type": "object",
                    "required": ["namespace"],
                    "anyOf": [{"required": ["server"]}, {"required": ["name"]}],
                    "properties": {"namespace": _NAME, "server": _TEXT, "name": _TEXT},
                },
                "syncPolicy": {
                    "type": "object",
                    "properties": {
                        "automated": {
                            "type": "object",
                            "properties": {"prune": {"type": "boolean"}, "selfHeal": {"type": "boolean"}},
                            "additionalProperties": False,
                        },
                        "syncOptions": {"type": "array", "items": _TEXT},
                        "retry": {"type": "object", "properties": {"limit": {"type": "integer"}}},
                    },
                },
            },
        },
    },
}
PROJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "argoproj.io/v1alpha1"},
        "kind": {"const": "AppProject"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "required": ["sourceRepos", "destinations"],
            "properties": {
                "sourceRepos": {"type": "array", "minItems": 1, "items": _TEXT},
                "destinations": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "object", "required": ["namespace", "server"]},
                },
                "clusterResourceWhitelist": {
                    "type": "array",
                    "items": {"type": "object", "required": ["group", "kind"]},
                },
            },
        },
    },
}


def sync_policy(env: str) -> dict[str, bool] | None:
    """Return the ``automated`` block of an environment's sync policy, or None for manual sync."""
    return _SYNC[env][0]


def application_name(plan: DeliveryPlan, env: str) -> str:
    """Return the Argo CD Application name of a system's environment."""
    return f"{plan.domain}-{plan.system}-{env}"


def application_path(plan: DeliveryPlan, env: str) -> str:
    """Return the path of an environment's Application in the GitOps repository."""
    return f"{plan.domain}/{plan.system}/argocd/{env}.yaml"


def project_path(plan: DeliveryPlan) -> str:
    """Return the path of the domain's AppProject in the GitOps repository."""
    return f"argocd/projects/{plan.domain}.yaml"


def namespace_glob(plan: DeliveryPlan) -> str:
    """Return the AppProject's destination namespace pattern (``<domain>-*`` for the default pattern)."""
    glob = plan.namespace_pattern.replace("{domain}", plan.domain)
    glob = re.sub(r"(\{system\}|\{env\})+", "*", glob)
    glob = re.sub(r"\*[-*]*\*", "*", glob)
    return f"{plan.domain}-*" if glob.startswith(f"{plan.domain}-") else glob


def _context(plan: DeliveryPlan) -> dict[str, Any]:
    return {
        "header": header(plan).rstrip("\n"),
        "plan": plan,
        "argocd_namespace": ARGOCD_NAMESPACE,
        "chart_path": chart_dir(plan),
    }


def generate_argocd(plan: DeliveryPlan) -> list[GeneratedFile]:
    """Generate the domain's AppProject and one Application per environment (same plan → identical text)."""
    context = _context(plan)
    project = render_template("argocd/project.yaml.j2", namespace_glob=namespace_glob(plan), **context)
    files = [GeneratedFile(path=project_path(plan), content=project, target="gitops", kind="argocd-project")]
    for env in plan.environments:
        automated, note = _SYNC[env]
        text = render_template(
            "argocd/application.yaml.j2",
            env=env,
            name=application_name(plan, env),
            namespace=plan.namespace(env),
            automated=automated,
            sync_note=note,
            **context,
        )
        path = application_path(plan, env)
        files.append(GeneratedFile(path=path, content=text, target="gitops", kind="argocd-application"))
    return files


def generate_applicationset(plan: DeliveryPlan) -> GeneratedFile:
    """Generate the optional ApplicationSet (list generator over environments); not part of the defaults."""
    elements = []
    for env in plan.environments:
        automated = sync_policy(env)
        element: dict[str, Any] = {"env": env, "namespace": plan.namespace(env)}
        element |= {"automated": automated is not None, "prune": bool(automated and automated["prune"])}
        elements.append(element)
    text = render_template(
        "argocd/applicationset.yaml.j2",
        name=f"{plan.domain}-{plan.system}",
        elements=elements,
        **_context(plan),
    )
    path = f"{plan.domain}/{plan.system}/argocd/applicationset.yaml"
    return GeneratedFile(path=path, content=text, target="gitops", kind="argocd-application")
