"""The adapter against kmock's Kubernetes emulator on loopback: reads, server-side apply, the connection test.

kmock applies a PATCH as a merge into an existing object and answers 404 for a new one (see
``tests/servers/kube.py``), so apply is tested here on existing objects — the state change and the exact
request — and the create path with ``httpx.MockTransport`` in ``test_transport.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.servers.kube import KubeEmulator, start_kube_emulator
from timbel.integrations import registry_of_adapters
from timbel.integrations.base import Cluster, IntegrationKind
from timbel.integrations.kubernetes.adapter import KubernetesAdapter, ManifestError, from_instance
from timbel.integrations.kubernetes.client import KubernetesNotFound
from timbel.integrations.kubernetes.config import KubernetesConfig
from timbel.integrations.registry_of_adapters import InstanceConfig, build_adapter, register_adapter

from .conftest import TOKEN

Make = Callable[..., KubernetesAdapter]


def deployment(name: str, *, image: str = "registry.local/shop/web:1.4.2", **status: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "demo"},
        "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
        "status": {
            **status,
            "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}],
        },
    }


def test_version_health_and_bearer_token(kube: KubeEmulator, make_adapter: Make) -> None:
    adapter = make_adapter()
    cluster: Cluster = adapter  # the Protocol is satisfied (checked by mypy)
    assert cluster is adapter
    assert adapter.version() == "v1.26.4+k3s1"
    assert adapter.health() == "not exposed"  # kmock has neither /readyz nor /healthz
    seen = kube.requests()
    assert [(r.method, r.path) for r in seen] == [
        ("GET", "/version"),
        ("GET", "/readyz"),
        ("GET", "/healthz"),
    ]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in seen)
    assert all(r.headers["user-agent"] == "timbel-kubernetes" for r in seen)


def test_deployment_rollout_state(kube: KubeEmulator, make_adapter: Make) -> None:
    kube.put(
        "apps/v1/deployments",
        "demo",
        "web",
        deployment("web", readyReplicas=2, updatedReplicas=3, availableReplicas=2),
    )
    kube.put("apps/v1/deployments", "demo", "api", deployment("api", image="api:2"))
    kube.put("apps/v1/deployments", "other", "elsewhere", deployment("elsewhere"))
    adapter = make_adapter()
    found = adapter.deployments("demo")
    assert [w.name for w in found] == ["api", "web"]
    web = found[1]
    assert (web.namespace, web.replicas, web.ready, web.updated, web.available) == ("demo", 3, 2, 3, 2)
    assert web.image == "registry.local/shop/web:1.4.2"
    assert web.conditions[0]["reason"] == "MinimumReplicasAvailable"
    assert (found[0].ready, found[0].updated, found[0].available) == (0, 0, 0)
    assert adapter.deployment("demo", "web") == web
    assert adapter.deployment("demo", "missing") is None


def test_pods_phase_restarts_and_readiness(kube: KubeEmulator, make_adapter: Make) -> None:
    def pod(name: str, phase: str, statuses: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "metadata": {"name": name, "namespace": "demo", "labels": {"app": "web"}},
            "spec": {"nodeName": "node-1"},
            "status": {"phase": phase, "containerStatuses": statuses},
        }

    kube.put("v1/pods", "demo", "web-1", pod("web-1", "Running", [{"ready": True, "restartCount": 0}]))
    kube.put(
        "v1/pods",
        "demo",
        "web-2",
        pod(
            "web-2",
            "Running",
            [
                {"ready": True, "restartCount": 1},
                {"ready": False, "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
            ],
        ),
    )
    pods = make_adapter().pods("demo", selector={"app": "web", "tier": "front"})
    assert [(p.name, p.phase, p.ready, p.restarts) for p in pods] == [
        ("web-1", "Running", True, 0),
        ("web-2", "Running", False, 5),
    ]
    assert pods[1].reason == "CrashLoopBackOff" and pods[1].node == "node-1"
    assert kube.requests()[-1].params["labelSelector"] == "app=web,tier=front"


def test_events_field_selector_is_escaped_and_encoded(kube: KubeEmulator, make_adapter: Make) -> None:
    def event(name: str, involved: str, last: str, **extra: Any) -> dict[str, Any]:
        return {
            "metadata": {"name": name, "namespace": "demo"},
            "type": "Warning",
            "reason": "BackOff",
            "message": f"{involved} restarting",
            "count": 3,
            "firstTimestamp": "2026-11-26T10:00:00Z",
            "lastTimestamp": last,
            "involvedObject": {"kind": "Pod", "name": involved},
            **extra,
        }

    kube.put("v1/events", "demo", "e1", event("e1", "web-1", "2026-11-26T10:05:00Z"))
    kube.put("v1/events", "demo", "e2", event("e2", "web-1", "2026-11-26T10:09:00Z"))
    kube.put("v1/events", "demo", "e3", event("e3", "db-0", "2026-11-26T10:07:00Z"))
    adapter = make_adapter()
    assert [e["last_seen"] for e in adapter.events("demo")] == [
        "2026-11-26T10:09:00Z",
        "2026-11-26T10:07:00Z",
        "2026-11-26T10:05:00Z",
    ]
    mine = adapter.events("demo", involving="web-1")
    assert [e["object"] for e in mine] == ["Pod/web-1", "Pod/web-1"]
    assert mine[0] | {"last_seen": None} == {
        "type": "Warning",
        "reason": "BackOff",
        "message": "web-1 restarting",
        "object": "Pod/web-1",
        "object_name": "web-1",
        "count": 3,
        "first_seen": "2026-11-26T10:00:00Z",
        "last_seen": None,
    }
    assert kube.requests()[-1].params == {"limit": "200", "fieldSelector": "involvedObject.name=web-1"}
    adapter.events("demo", involving="a,b=c&d")
    last = kube.requests()[-1]
    assert last.params["fieldSelector"] == r"involvedObject.name=a\,b\=c&d"
    assert "fieldSelector=involvedObject.name%3Da%5C%2Cb%5C%3Dc%26d" in last.query


def test_typed_gets(kube: KubeEmulator, make_adapter: Make) -> None:
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "q", "namespace": "demo"},
        "spec": {"hard": {"pods": "10"}},
    }
    kube.put("v1/resourcequotas", "demo", "q", quota)
    kube.put("v1/limitranges", "demo", "l", {"metadata": {"name": "l"}, "spec": {"limits": []}})
    kube.put("networking.k8s.io/v1/networkpolicies", "demo", "n", {"metadata": {"name": "n"}, "spec": {}})
    kube.put("autoscaling/v2/horizontalpodautoscalers", "demo", "h", {"metadata": {"name": "h"}, "spec": {}})
    adapter = make_adapter()
    assert adapter.resource_quota("demo", "q") == quota
    assert adapter.limit_range("demo", "l") is not None
    assert adapter.network_policy("demo", "n") is not None
    assert adapter.hpa("demo", "h") is not None
    assert adapter.hpa("demo", "absent") is None
    paths = [r.path for r in kube.requests()]
    assert paths == [
        "/api/v1/namespaces/demo/resourcequotas/q",
        "/api/v1/namespaces/demo/limitranges/l",
        "/apis/networking.k8s.io/v1/namespaces/demo/networkpolicies/n",
        "/apis/autoscaling/v2/namespaces/demo/horizontalpodautoscalers/h",
        "/apis/autoscaling/v2/namespaces/demo/horizontalpodautoscalers/absent",
    ]


def test_server_side_apply_request_and_state(kube: KubeEmulator, make_adapter: Make) -> None:
    kube.put("apps/v1/deployments", "demo", "web", deployment("web"))
    kube.put(
        "autoscaling/v2/horizontalpodautoscalers",
        "demo",
        "web",
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "demo"},
            "spec": {"minReplicas": 1, "maxReplicas": 2},
        },
    )
    hpa_spec = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 2,
        "maxReplicas": 6,
        "metrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
            }
        ],
    }
    manifest = deployment("web", image="registry.local/shop/web:1.5.0")
    del manifest["status"]
    manifest["metadata"].pop("namespace")
    manifest["spec"]["selector"] = {"matchLabels": {"app": "web"}}
    manifest["spec"]["template"]["metadata"] = {"labels": {"app": "web"}}
    adapter = make_adapter()
    assert adapter.apply([manifest]) == ["Deployment/web"]
    assert (
        adapter.apply_hpa("demo", "web", spec=hpa_spec, labels={"app": "web"})
        == "HorizontalPodAutoscaler/web"
    )

    patch, hpa_patch = kube.requests()
    assert (patch.method, patch.path) == ("PATCH", "/apis/apps/v1/namespaces/demo/deployments/web")
    assert patch.query == "fieldManager=timbel&force=true"
    assert patch.headers["content-type"] == "application/apply-patch+yaml"
    assert json.loads(patch.body) == {**manifest, "metadata": {"name": "web", "namespace": "demo"}}
    assert hpa_patch.path == "/apis/autoscaling/v2/namespaces/demo/horizontalpodautoscalers/web"
    assert json.loads(hpa_patch.body)["metadata"]["labels"] == {"app": "web"}

    stored = kube.get("apps/v1/deployments", "demo", "web")
    assert stored is not None
    assert stored["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.local/shop/web:1.5.0"
    assert adapter.hpa("demo", "web")["spec"]["maxReplicas"] == 6  # type: ignore[index]


def test_apply_of_a_new_object_reports_what_kmock_answers(kube: KubeEmulator, make_adapter: Make) -> None:
    """kmock cannot create through apply (a real API server does): the 404 surfaces as an error."""
    with pytest.raises(
        KubernetesNotFound, match="Kubernetes 'kind-dev' has no /api/v1/namespaces/demo/configmaps/c"
    ):
        make_adapter().apply(
            [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}]
        )


def test_custom_kind_is_found_by_discovery() -> None:
    kube = start_kube_emulator(resources=(("example.com/v1/widgets", "Widget", True),))
    try:
        kube.put(
            "example.com/v1/widgets",
            "demo",
            "w",
            {
                "apiVersion": "example.com/v1",
                "kind": "Widget",
                "metadata": {"name": "w", "namespace": "demo"},
            },
        )
        config = KubernetesConfig(name="kind-dev", base_url=kube.url, token=TOKEN, namespace="demo")
        with KubernetesAdapter(config) as adapter:
            widget = {
                "apiVersion": "example.com/v1",
                "kind": "Widget",
                "metadata": {"name": "w"},
                "spec": {"size": 3},
            }
            assert adapter.apply([widget, widget]) == ["Widget/w", "Widget/w"]
            with pytest.raises(
                ManifestError, match=r"Gadget/g: the cluster does not serve Gadget in example\.com/v1"
            ):
                adapter.apply([{"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}}])
            assert adapter.get_object("Widget", "w", api_version="example.com/v1") == {
                "apiVersion": "example.com/v1",
                "kind": "Widget",
                "metadata": {"name": "w", "namespace": "demo"},
                "spec": {"size": 3},
            }
            with pytest.raises(ValueError, match="Widget is not built in: give its api_version"):
                adapter.get_object("Widget", "w")
        paths = [(r.method, r.path) for r in kube.requests()]
        assert paths == [
            ("GET", "/apis/example.com/v1"),  # discovered once, then cached
            ("PATCH", "/apis/example.com/v1/namespaces/demo/widgets/w"),
            ("PATCH", "/apis/example.com/v1/namespaces/demo/widgets/w"),
            ("GET", "/apis/example.com/v1/namespaces/demo/widgets/w"),
        ]
        assert kube.get("example.com/v1/widgets", "demo", "w")["spec"] == {"size": 3}  # type: ignore[index]
    finally:
        kube.stop()


def test_connection_against_the_emulator(kube: KubeEmulator, make_adapter: Make) -> None:
    report = make_adapter().test_connection()
    checks = {c.name: c for c in report.checks}
    assert report.ok and report.version == "v1.26.4+k3s1"
    assert list(checks) == [
        "reachable",
        "version",
        "health",
        "authentication",
        "permission: list namespaces",
        "permission: patch deployments in demo",
    ]
    assert checks["health"].detail == "not exposed"
    assert checks["authentication"].detail.startswith("credentials accepted")
    assert checks["permission: list namespaces"].detail.startswith("could not check")
    reviews = [json.loads(r.body) for r in kube.requests() if r.path.endswith("selfsubjectaccessreviews")]
    assert [r["spec"]["resourceAttributes"] for r in reviews] == [
        {"verb": "list", "resource": "namespaces"},
        {"verb": "patch", "group": "apps", "resource": "deployments", "namespace": "demo"},
    ]


def test_unreachable_server_fails_the_first_check(kube: KubeEmulator, make_adapter: Make) -> None:
    adapter = make_adapter()
    kube.stop()
    report = adapter.test_connection()
    assert not report.ok
    assert [(c.name, c.ok) for c in report.checks] == [("reachable", False)]
    assert "Kubernetes 'kind-dev' is unreachable" in report.checks[0].detail


def test_registered_factory_builds_the_adapter(kube: KubeEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_of_adapters, "_ADAPTERS", dict(registry_of_adapters._ADAPTERS))
    register_adapter(IntegrationKind.kubernetes, from_instance, config=KubernetesConfig)
    instance = InstanceConfig(
        id="k-1",
        kind=IntegrationKind.kubernetes,
        name="kind-dev",
        base_url=kube.url,
        options={"namespace": "demo"},
        secrets={"token": TOKEN},
    )
    adapter = build_adapter(instance)
    assert isinstance(adapter, KubernetesAdapter)
    try:
        assert adapter.version() == "v1.26.4+k3s1"
    finally:
        adapter.close()
