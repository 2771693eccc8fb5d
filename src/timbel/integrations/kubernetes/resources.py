"""Kinds Timbel applies: the REST path of each, offline schema validation, and discovery for the rest.

Why a built-in table: the kinds Timbel renders are known and stable, so applying them needs no discovery
round trips (and works with API servers that restrict discovery); any other kind is looked up once in
``/api/v1`` or ``/apis/{group}/{version}`` and cached per client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import kubernetes_validate  # type: ignore[import-untyped]

_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_SECRET_KINDS = frozenset({"Secret"})


@dataclass(frozen=True)
class ResourceType:
    """Where objects of one kind live in the REST API."""

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, else ``group/version``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, *, namespace: str | None = None, name: str | None = None) -> str:
        """The collection path (``name`` None) or the object path; names are validated and quoted."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced:
            if namespace is None:
                raise ValueError(f"{self.kind} is namespaced: a namespace is needed")
            base += f"/namespaces/{quote(check_name(namespace), safe='')}"
        base += f"/{self.plural}"
        return base if name is None else f"{base}/{quote(check_name(name), safe='')}"


def _t(kind: str, api_version: str, plural: str, *, namespaced: bool = True) -> ResourceType:
    group, _, version = api_version.rpartition("/")
    return ResourceType(kind, group, version, plural, namespaced)


BUILTIN: dict[tuple[str, str], ResourceType] = {
    (t.api_version, t.kind): t
    for t in (
        _t("Namespace", "v1", "namespaces", namespaced=False),
        _t("ResourceQuota", "v1", "resourcequotas"),
        _t("LimitRange", "v1", "limitranges"),
        _t("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies"),
        _t("ServiceAccount", "v1", "serviceaccounts"),
        _t("Secret", "v1", "secrets"),
        _t("ConfigMap", "v1", "configmaps"),
        _t("Service", "v1", "services"),
        _t("Deployment", "apps/v1", "deployments"),
        _t("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers"),
        _t("PodDisruptionBudget", "policy/v1", "poddisruptionbudgets"),
        _t("Ingress", "networking.k8s.io/v1", "ingresses"),
        _t("Pod", "v1", "pods"),
        _t("Event", "v1", "events"),
    )
}
# Apply order: what others depend on first (like Helm's install order); unknown kinds last.
APPLY_ORDER = [t.kind for t in BUILTIN.values()]


def builtin(kind: str, api_version: str | None = None) -> ResourceType:
    """The built-in type of ``kind`` (in ``api_version`` when given); KeyError when not built in."""
    for (version, name), rtype in BUILTIN.items():
        if name == kind and (api_version is None or api_version == version):
            return rtype
    raise KeyError(f"{api_version or '?'} {kind}")


def from_discovery(document: Mapping[str, Any], *, api_version: str, kind: str) -> ResourceType | None:
    """Find ``kind`` in an ``APIResourceList`` (subresources like ``deployments/scale`` are skipped)."""
    group, _, version = api_version.rpartition("/")
    for item in document.get("resources") or []:
        if not isinstance(item, Mapping) or "/" in str(item.get("name", "")):
            continue
        if item.get("kind") == kind:
            return ResourceType(kind, group, version, str(item["name"]), bool(item.get("namespaced")))
    return None


def check_name(name: str) -> str:
    """A Kubernetes object name (DNS subdomain); anything else is refused before it reaches a URL."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"not a valid Kubernetes name: {name!r}")
    return name


def describe(manifest: Mapping[str, Any]) -> str:
    """``Kind/name`` of a manifest, for messages (never its content)."""
    metadata = manifest.get("metadata") if isinstance(manifest.get("metadata"), Mapping) else {}
    return f"{manifest.get('kind', '?')}/{(metadata or {}).get('name', '?')}"


def is_sensitive(manifest: Mapping[str, Any]) -> bool:
    """True for kinds whose content must never appear in a message or log."""
    return manifest.get("kind") in _SECRET_KINDS


def schema_problem(manifest: Mapping[str, Any], *, version: str) -> str | None:
    """What is wrong with ``manifest`` by the offline schema of ``version``; None when valid or unknown.

    A kind without a bundled schema (a custom resource) is not checked here; for a Secret only the field
    path and the failed rule are reported, never the offending value.
    """
    try:
        kubernetes_validate.validate(dict(manifest), version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path) or "(root)"
        if is_sensitive(manifest):
            return f"{where}: violates the schema rule '{exc.validator}'"
        return f"{where}: {exc.message}"
    except kubernetes_validate.SchemaNotFoundError:
        return None
    return None


def has_schema(manifest: Mapping[str, Any], *, version: str) -> bool:
    """True when the offline schemas of ``version`` know ``apiVersion``/``kind``."""
    try:
        kubernetes_validate.validate(dict(manifest), version, strict=False)
    except kubernetes_validate.SchemaNotFoundError:
        return False
    except kubernetes_validate.ValidationError:
        return True
    return True
