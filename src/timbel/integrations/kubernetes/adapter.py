"""The Kubernetes adapter: ``base.Cluster`` plus namespaces, policies, HPAs, pods and a connection test."""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from timbel.core.errors import IntegrationError, IntegrationUnavailable
from timbel.integrations.base import ConnectionReport, IntegrationKind, WorkloadStatus
from timbel.integrations.http import CircuitBreaker, breaker_for
from timbel.integrations.registry_of_adapters import InstanceConfig

from . import resources
from .client import KubeClient, KubernetesNotFound
from .config import KubernetesConfig
from .probe import connection_report
from .resources import ResourceType

FIELD_MANAGER = "timbel"
_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
Planned = tuple[ResourceType, str | None, dict[str, Any]]
log = logging.getLogger(__name__)


class ManifestError(IntegrationError):
    """A manifest is invalid or of an unknown kind; nothing was applied."""

    status = 422
    code = "kubernetes-invalid-manifest"
    title = "Invalid Kubernetes manifest"


@dataclass(frozen=True)
class PodStatus:
    """A Pod's phase, readiness and restart count."""

    name: str
    namespace: str
    phase: str
    ready: bool
    restarts: int
    node: str | None = None
    reason: str | None = None


class KubernetesAdapter:
    """One Kubernetes cluster through its API server."""

    kind = IntegrationKind.kubernetes

    def __init__(
        self,
        config: KubernetesConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.client = KubeClient(config, transport=transport, breaker=breaker, sleep=sleep)
        self.default_namespace = self.client.credentials.namespace or "default"
        self._discovery: dict[str, dict[str, Any]] = {}  # APIResourceList per apiVersion

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()

    def __enter__(self) -> KubernetesAdapter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.close()

    # --- cluster -----------------------------------------------------------------------------------------

    def version(self) -> str:
        """``gitVersion`` of ``GET /version`` (e.g. ``v1.30.2``)."""
        data = self.client.get("/version")
        version = data.get("gitVersion") if isinstance(data, dict) else None
        if not version:
            raise IntegrationError(f"Kubernetes '{self.config.name}' answered /version without gitVersion")
        return str(version)

    def health(self) -> str:
        """``/readyz`` (then ``/healthz``): ``ok``, ``not exposed`` (404, e.g. emulators) or raise."""
        for path in ("/readyz", "/healthz"):
            status, text = self.client.status_of(path)
            if status == 404:
                continue
            if status < 300:
                return text.strip() or "ok"
            name = self.config.name
            raise IntegrationUnavailable(f"Kubernetes '{name}' is not ready ({path}: HTTP {status})")
        return "not exposed"

    def test_connection(self) -> ConnectionReport:
        """Reachability, version, health, authentication and the permissions Timbel needs."""
        return connection_report(self.client, namespace=self.default_namespace, health=self.health)

    # --- namespaces --------------------------------------------------------------------------------------

    def namespaces(self) -> list[str]:
        """Namespace names, sorted."""
        return sorted(_name(item) for item in self._items(resources.builtin("Namespace").path()))

    def ensure_namespace(self, name: str, *, labels: Mapping[str, str] | None = None) -> bool:
        """Create the namespace (or add ``labels``) by server-side apply; False when nothing was missing."""
        current = self.client.get_optional(resources.builtin("Namespace").path(name=name))
        have = (current or {}).get("metadata", {}).get("labels") or {}
        if current is not None and all(have.get(k) == v for k, v in (labels or {}).items()):
            return False
        metadata: dict[str, Any] = {"name": name, **({"labels": dict(labels)} if labels else {})}
        self.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}])
        return True

    # --- typed objects -----------------------------------------------------------------------------------

    def get_object(self, kind: str, name: str, *, namespace: str | None = None,
                   api_version: str | None = None) -> dict[str, Any] | None:  # fmt: skip
        """One object, or None when it does not exist (kinds not built in need ``api_version``)."""
        if api_version is None:
            try:
                rtype = resources.builtin(kind)
            except KeyError:
                raise ValueError(f"{kind} is not built in: give its api_version") from None
        else:
            rtype = self._resource_type(
                api_version, kind, where=f"Kubernetes '{self.config.name}': {kind}/{name}"
            )
        ns = (namespace or self.default_namespace) if rtype.namespaced else None
        return self.client.get_optional(rtype.path(namespace=ns, name=name))

    def resource_quota(self, namespace: str, name: str) -> dict[str, Any] | None:
        """A ResourceQuota, or None."""
        return self.get_object("ResourceQuota", name, namespace=namespace)

    def apply_resource_quota(self, namespace: str, name: str, *, spec: Mapping[str, Any],
                             labels: Mapping[str, str] | None = None) -> str:  # fmt: skip
        """Apply a ResourceQuota (``spec.hard``…); return ``ResourceQuota/name``."""
        return self._apply_spec("ResourceQuota", namespace, name, spec=spec, labels=labels)

    def limit_range(self, namespace: str, name: str) -> dict[str, Any] | None:
        """A LimitRange, or None."""
        return self.get_object("LimitRange", name, namespace=namespace)

    def apply_limit_range(self, namespace: str, name: str, *, spec: Mapping[str, Any],
                          labels: Mapping[str, str] | None = None) -> str:  # fmt: skip
        """Apply a LimitRange (``spec.limits``); return ``LimitRange/name``."""
        return self._apply_spec("LimitRange", namespace, name, spec=spec, labels=labels)

    def network_policy(self, namespace: str, name: str) -> dict[str, Any] | None:
        """A NetworkPolicy, or None."""
        return self.get_object("NetworkPolicy", name, namespace=namespace)

    def apply_network_policy(self, namespace: str, name: str, *, spec: Mapping[str, Any],
                             labels: Mapping[str, str] | None = None) -> str:  # fmt: skip
        """Apply a NetworkPolicy; return ``NetworkPolicy/name``."""
        return self._apply_spec("NetworkPolicy", namespace, name, spec=spec, labels=labels)

    def hpa(self, namespace: str, name: str) -> dict[str, Any] | None:
        """An autoscaling/v2 HorizontalPodAutoscaler, or None."""
        return self.get_object("HorizontalPodAutoscaler", name, namespace=namespace)

    def apply_hpa(self, namespace: str, name: str, *, spec: Mapping[str, Any],
                  labels: Mapping[str, str] | None = None) -> str:  # fmt: skip
        """Apply an autoscaling/v2 HorizontalPodAutoscaler; return ``HorizontalPodAutoscaler/name``."""
        return self._apply_spec("HorizontalPodAutoscaler", namespace, name, spec=spec, labels=labels)

    # --- workloads ---------------------------------------------------------------------------------------

    def deployments(self, namespace: str) -> list[WorkloadStatus]:
        """Deployments of a namespace and their rollout state, by name."""
        path = resources.builtin("Deployment").path(namespace=namespace)
        return sorted((_workload(item, namespace) for item in self._items(path)), key=lambda w: w.name)

    def deployment(self, namespace: str, name: str) -> WorkloadStatus | None:
        """One Deployment's rollout state, or None."""
        item = self.get_object("Deployment", name, namespace=namespace)
        return None if item is None else _workload(item, namespace)

    def pods(self, namespace: str, *, selector: Mapping[str, str] | None = None) -> list[PodStatus]:
        """Pods of a namespace (optionally matching equality ``selector`` labels), by name."""
        params = {"labelSelector": label_selector(selector)} if selector else None
        path = resources.builtin("Pod").path(namespace=namespace)
        return sorted((_pod(item, namespace) for item in self._items(path, params)), key=lambda p: p.name)

    def events(
        self, namespace: str, *, involving: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Recent events, newest first: type, reason, message, object (``Kind/name``), count, seen times."""
        params = {"limit": str(limit)}
        if involving is not None:
            params["fieldSelector"] = f"involvedObject.name={escape_field_value(involving)}"
        path = resources.builtin("Event").path(namespace=namespace)
        found = [_event(item) for item in self._items(path, params)]
        if involving is not None:  # the server filtered already; emulators may not
            found = [event for event in found if event["object_name"] == involving]
        return sorted(found, key=lambda e: e["last_seen"] or "", reverse=True)[:limit]

    # --- apply -------------------------------------------------------------------------------------------

    def apply(self, manifests: Sequence[Mapping[str, Any]], *, namespace: str | None = None) -> list[str]:
        """Validate every manifest, then server-side apply them in dependency order; return ``Kind/name``s."""
        planned = [self._plan(manifest, namespace) for manifest in manifests]
        order = {kind: rank for rank, kind in enumerate(resources.APPLY_ORDER)}
        planned.sort(key=lambda p: order.get(p[0].kind, len(order)))
        applied: list[str] = []
        for rtype, ns, body in planned:
            label = resources.describe(body)
            self.client.apply(
                rtype.path(namespace=ns, name=body["metadata"]["name"]), body,
                field_manager=FIELD_MANAGER, sensitive=resources.is_sensitive(body),
            )  # fmt: skip
            log.info("kubernetes %s: applied %s%s", self.config.name, label, f" in {ns}" if ns else "")
            applied.append(label)
        return applied

    def _plan(self, manifest: Mapping[str, Any], namespace: str | None) -> Planned:
        """Check one manifest and find its type and namespace; raise ManifestError naming ``Kind/name``."""
        label = resources.describe(manifest) if isinstance(manifest, Mapping) else "?"
        where = f"Kubernetes '{self.config.name}': {label}"
        if not isinstance(manifest, Mapping) or not manifest.get("apiVersion") or not manifest.get("kind"):
            raise ManifestError(f"{where}: a manifest needs apiVersion and kind")
        metadata = manifest.get("metadata")
        if not isinstance(metadata, Mapping) or not metadata.get("name"):
            raise ManifestError(f"{where}: metadata.name is missing")
        try:
            resources.check_name(str(metadata["name"]))
        except ValueError as exc:
            raise ManifestError(f"{where}: {exc}") from None
        problem = resources.schema_problem(manifest, version=self.config.schema_version)
        if problem is not None:
            raise ManifestError(f"{where} is invalid: {problem}")
        rtype = self._resource_type(str(manifest["apiVersion"]), str(manifest["kind"]), where=where)
        body = copy.deepcopy(dict(manifest))
        declared = metadata.get("namespace")
        if not rtype.namespaced:
            if declared:
                raise ManifestError(f"{where}: cluster-scoped, yet names namespace {declared!r}")
            return rtype, None, body
        if declared and namespace and declared != namespace:
            raise ManifestError(f"{where}: namespace {declared!r} differs from the requested {namespace!r}")
        ns = str(declared or namespace or self.default_namespace)
        try:
            resources.check_name(ns)
        except ValueError as exc:
            raise ManifestError(f"{where}: namespace: {exc}") from None
        body["metadata"]["namespace"] = ns
        return rtype, ns, body

    def _resource_type(self, api_version: str, kind: str, *, where: str) -> ResourceType:
        """The built-in type, else the one discovery lists (cached per apiVersion); ManifestError if none."""
        try:
            return resources.builtin(kind, api_version)
        except KeyError:
            pass
        if api_version not in self._discovery:
            path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
            try:
                document = self.client.get(path)
            except KubernetesNotFound:
                document = {}
            self._discovery[api_version] = document if isinstance(document, dict) else {}
        rtype = resources.from_discovery(self._discovery[api_version], api_version=api_version, kind=kind)
        if rtype is None:
            raise ManifestError(f"{where}: the cluster does not serve {kind} in {api_version}")
        return rtype

    def _apply_spec(self, kind: str, namespace: str, name: str, *, spec: Mapping[str, Any],
                    labels: Mapping[str, str] | None) -> str:  # fmt: skip
        rtype = resources.builtin(kind)
        metadata: dict[str, Any] = {"name": name, "namespace": namespace}
        if labels:
            metadata["labels"] = dict(labels)
        manifest = {"apiVersion": rtype.api_version, "kind": kind, "metadata": metadata, "spec": dict(spec)}
        return self.apply([manifest], namespace=namespace)[0]

    def _items(self, path: str, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        data = self.client.get(path, params=params)
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise IntegrationError(f"Kubernetes '{self.config.name}' answered {path} without items")
        return [item for item in items if isinstance(item, dict)]


def from_instance(c: InstanceConfig) -> KubernetesAdapter:
    """Build the adapter of a stored instance (its breaker is per instance id)."""
    return KubernetesAdapter(
        KubernetesConfig.model_validate(c.config_data()), breaker=breaker_for(c.id, name=c.name)
    )


def label_selector(labels: Mapping[str, str]) -> str:
    """``k=v,k2=v2`` from validated label keys and values (a stray ``,`` or ``!`` could widen the match)."""
    for key, value in labels.items():
        if not _LABEL_KEY.fullmatch(key) or not _LABEL_VALUE.fullmatch(value):
            raise ValueError(f"not a valid label selector term: {key!r}={value!r}")
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def escape_field_value(value: str) -> str:
    """Escape a field-selector value the way the API server parses it (``\\``, ``,`` and ``=``)."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _name(item: Mapping[str, Any]) -> str:
    return str((item.get("metadata") or {}).get("name", ""))


def _workload(item: Mapping[str, Any], namespace: str) -> WorkloadStatus:
    spec, status = item.get("spec") or {}, item.get("status") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return WorkloadStatus(
        name=_name(item),
        namespace=str((item.get("metadata") or {}).get("namespace") or namespace),
        replicas=int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1),
        ready=int(status.get("readyReplicas") or 0),
        updated=int(status.get("updatedReplicas") or 0),
        available=int(status.get("availableReplicas") or 0),
        image=str(containers[0].get("image")) if containers and containers[0].get("image") else None,
        conditions=tuple(dict(c) for c in status.get("conditions") or [] if isinstance(c, Mapping)),
    )


def _pod(item: Mapping[str, Any], namespace: str) -> PodStatus:
    spec, status = item.get("spec") or {}, item.get("status") or {}
    containers = [c for c in status.get("containerStatuses") or [] if isinstance(c, Mapping)]
    waiting = [((c.get("state") or {}).get("waiting") or {}).get("reason") for c in containers]
    return PodStatus(
        name=_name(item),
        namespace=str((item.get("metadata") or {}).get("namespace") or namespace),
        phase=str(status.get("phase") or "Unknown"),
        ready=bool(containers) and all(bool(c.get("ready")) for c in containers),
        restarts=sum(int(c.get("restartCount") or 0) for c in containers),
        node=spec.get("nodeName"),
        reason=next((str(r) for r in waiting if r), None) or status.get("reason"),
    )


def _event(item: Mapping[str, Any]) -> dict[str, Any]:
    involved = item.get("involvedObject") or item.get("regarding") or {}
    series = item.get("series") or {}
    created = (item.get("metadata") or {}).get("creationTimestamp")
    last = item.get("lastTimestamp") or series.get("lastObservedTime") or item.get("eventTime")
    return {
        "type": item.get("type") or "Normal",
        "reason": item.get("reason") or "",
        "message": item.get("message") or item.get("note") or "",
        "object": f"{involved.get('kind', '?')}/{involved.get('name', '?')}",
        "object_name": involved.get("name"),
        "count": int(item.get("count") or series.get("count") or 1),
        "first_seen": item.get("firstTimestamp") or item.get("eventTime") or created,
        "last_seen": last or created,
    }
