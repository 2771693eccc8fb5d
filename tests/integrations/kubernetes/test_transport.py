"""What kmock cannot show: auth failures, RBAC answers, timeouts/retries, namespaces, apply creating objects,
validation before anything is sent, and secrets kept out of messages and logs (``httpx.MockTransport``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from timbel.core.errors import IntegrationAuthError, IntegrationUnavailable
from timbel.integrations.http import CircuitBreaker
from timbel.integrations.kubernetes.adapter import KubernetesAdapter, ManifestError
from timbel.integrations.kubernetes.client import KubernetesForbidden, KubernetesRejected
from timbel.integrations.kubernetes.config import KubernetesConfig

Handler = Callable[[httpx.Request], httpx.Response]
SECRET_VALUE = "hunter2-db-password"
VERSION = {"gitVersion": "v1.30.2", "major": "1", "minor": "30"}


class Recorder:
    """A MockTransport that records every request and answers through ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.requests: list[httpx.Request] = []
        self.handler = handler
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.handler(request)

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.url.path) for r in self.requests]


def status(code: int, message: str, reason: str = "") -> httpx.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "message": message,
        "reason": reason,
    }
    return httpx.Response(code, json=body)


def echo_apply(request: httpx.Request) -> httpx.Response:
    """Answer like an API server creating the object by apply (201 with the object)."""
    if request.method == "PATCH":
        return httpx.Response(201, json=json.loads(request.content))
    return status(404, "not found", "NotFound")


def make(
    handler: Handler, *, breaker: CircuitBreaker | None = None, **options: Any
) -> tuple[KubernetesAdapter, Recorder, list[float]]:
    recorder, sleeps = Recorder(handler), list[float]()
    data = {"name": "prod", "base_url": "https://k8s.example:6443", "token": "tkn-abc", **options}
    adapter = KubernetesAdapter(
        KubernetesConfig.model_validate(data),
        transport=recorder.transport,
        sleep=sleeps.append,
        breaker=breaker,
    )
    return adapter, recorder, sleeps


# --- authentication, RBAC, the connection test --------------------------------------------------------


def test_401_is_reported_precisely() -> None:
    adapter, _, _ = make(lambda r: status(401, "Unauthorized", "Unauthorized"))
    with pytest.raises(IntegrationAuthError, match=r"Kubernetes 'prod' rejected the credentials \(HTTP 401"):
        adapter.version()
    report = adapter.test_connection()
    assert [(c.name, c.ok) for c in report.checks] == [("reachable", True), ("authentication", False)]
    assert "token or client certificate is missing, invalid or expired" in report.checks[1].detail
    assert "tkn-abc" not in report.checks[1].detail


def test_anonymous_version_but_refused_discovery_fails_authentication() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/version":
            return httpx.Response(200, json=VERSION)
        if request.url.path in ("/readyz", "/healthz"):
            return httpx.Response(200, text="ok")
        return status(401, "Unauthorized")

    (report,) = [make(handler)[0].test_connection()]
    assert [(c.name, c.ok) for c in report.checks] == [
        ("reachable", True),
        ("version", True),
        ("health", True),
        ("authentication", False),
    ]
    assert report.version == "v1.30.2" and not report.ok


def test_rbac_answers_become_permission_checks() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/version":
            return httpx.Response(200, json=VERSION)
        if path == "/readyz":
            return httpx.Response(200, text="ok")
        if path == "/apis":
            return httpx.Response(200, json={"kind": "APIGroupList", "groups": []})
        if path.endswith("selfsubjectreviews"):
            return httpx.Response(
                201, json={"status": {"userInfo": {"username": "system:serviceaccount:ci:timbel"}}}
            )
        attributes = json.loads(request.content)["spec"]["resourceAttributes"]
        if attributes["verb"] == "list":
            return httpx.Response(201, json={"status": {"allowed": True}})
        return httpx.Response(
            201, json={"status": {"allowed": False, "reason": "no RoleBinding grants patch"}}
        )

    adapter, recorder, _ = make(handler, namespace="shop")
    report = adapter.test_connection()
    checks = {c.name: c for c in report.checks}
    assert checks["health"].detail == "ok"
    assert checks["authentication"].detail == "credentials accepted as system:serviceaccount:ci:timbel"
    assert (
        checks["permission: list namespaces"].ok and checks["permission: list namespaces"].detail == "allowed"
    )
    denied = checks["permission: patch deployments in shop"]
    assert not denied.ok and denied.detail == "denied: no RoleBinding grants patch"
    assert not report.ok
    assert ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") in recorder.calls()


def test_403_quotes_the_server_message() -> None:
    message = 'deployments.apps is forbidden: User "system:serviceaccount:ci:timbel" cannot list resource'
    adapter, _, _ = make(lambda r: status(403, message, "Forbidden"))
    with pytest.raises(
        KubernetesForbidden, match="forbids GET /apis/apps/v1/namespaces/shop/deployments"
    ) as caught:
        adapter.deployments("shop")
    assert message in str(caught.value)


# --- timeouts, retries, breaker, health ---------------------------------------------------------------


def test_reads_are_retried_with_backoff_then_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    adapter, recorder, sleeps = make(handler, timeout_seconds=2.5)
    with pytest.raises(
        IntegrationUnavailable, match=r"Kubernetes 'prod' did not answer GET /version within 2.5 s"
    ):
        adapter.version()
    assert recorder.calls() == [("GET", "/version")] * 3
    assert sleeps == [0.2, 0.4]


def test_apply_is_never_retried() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return status(503, "etcd leader changed")

    adapter, recorder, sleeps = make(handler)
    with pytest.raises(IntegrationUnavailable, match=r"unavailable \(HTTP 503"):
        adapter.apply([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}])
    assert recorder.calls() == [("PATCH", "/api/v1/namespaces/default/configmaps/c")]
    assert sleeps == []


def test_breaker_opens_after_repeated_failures() -> None:
    breaker = CircuitBreaker("prod", failure_threshold=2, cooldown_seconds=60)
    adapter, recorder, _ = make(lambda r: httpx.Response(502), breaker=breaker)
    with pytest.raises(IntegrationUnavailable):
        adapter.version()
    with pytest.raises(IntegrationUnavailable, match="circuit open"):
        adapter.version()
    assert len(recorder.requests) == 2


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"/readyz": (200, "ok")}, "ok"),
        ({"/readyz": (404, ""), "/healthz": (200, "ok")}, "ok"),
        ({}, "not exposed"),
    ],
)
def test_health_prefers_readyz_and_tolerates_404(answers: dict[str, tuple[int, str]], expected: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        code, text = answers.get(request.url.path, (404, ""))
        return httpx.Response(code, text=text)

    adapter, _, _ = make(handler)
    assert adapter.health() == expected


def test_health_failure_is_unavailable() -> None:
    adapter, _, _ = make(lambda r: httpx.Response(500, text="[-]etcd failed: reason withheld"))
    with pytest.raises(IntegrationUnavailable, match=r"not ready \(/readyz: HTTP 500\)"):
        adapter.health()


# --- namespaces ---------------------------------------------------------------------------------------


def test_namespaces_are_listed_sorted() -> None:
    items = [{"metadata": {"name": n}} for n in ("kube-system", "default", "shop")]
    adapter, recorder, _ = make(lambda r: httpx.Response(200, json={"kind": "NamespaceList", "items": items}))
    assert adapter.namespaces() == ["default", "kube-system", "shop"]
    assert recorder.calls() == [("GET", "/api/v1/namespaces")]


def test_ensure_namespace_creates_by_apply_only_when_missing() -> None:
    existing: dict[str, dict[str, Any]] = {"old": {"metadata": {"name": "old", "labels": {"team": "a"}}}}

    def handler(request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[-1]
        if request.method == "GET":
            return httpx.Response(200, json=existing[name]) if name in existing else status(404, "nf")
        existing[name] = json.loads(request.content)
        return httpx.Response(201, json=existing[name])

    adapter, recorder, _ = make(handler)
    assert adapter.ensure_namespace("shop", labels={"team": "b"}) is True
    assert adapter.ensure_namespace("old", labels={"team": "a"}) is False
    assert recorder.calls() == [
        ("GET", "/api/v1/namespaces/shop"),
        ("PATCH", "/api/v1/namespaces/shop"),
        ("GET", "/api/v1/namespaces/old"),
    ]
    patch = recorder.requests[1]
    assert patch.url.params == httpx.QueryParams({"fieldManager": "timbel", "force": "true"})
    assert patch.headers["content-type"] == "application/apply-patch+yaml"
    assert json.loads(patch.content) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "shop", "labels": {"team": "b"}},
    }


# --- apply --------------------------------------------------------------------------------------------


def manifests() -> list[dict[str, Any]]:
    labels = {"app": "web"}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": "web:1"}]},
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": labels, "ports": [{"port": 80}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db"},
            "stringData": {"password": SECRET_VALUE},
        },
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "web"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}},
        },
    ]


def test_apply_creates_in_dependency_order_in_the_requested_namespace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    adapter, recorder, _ = make(echo_apply)
    with caplog.at_level(logging.DEBUG):
        applied = adapter.apply(manifests(), namespace="shop")
    assert applied == [
        "Namespace/shop",
        "Secret/db",
        "Service/web",
        "Deployment/web",
        "PodDisruptionBudget/web",
    ]
    assert recorder.calls() == [
        ("PATCH", "/api/v1/namespaces/shop"),
        ("PATCH", "/api/v1/namespaces/shop/secrets/db"),
        ("PATCH", "/api/v1/namespaces/shop/services/web"),
        ("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web"),
        ("PATCH", "/apis/policy/v1/namespaces/shop/poddisruptionbudgets/web"),
    ]
    for request in recorder.requests:
        assert request.url.query == b"fieldManager=timbel&force=true"
        assert request.headers["content-type"] == "application/apply-patch+yaml"
        assert request.headers["authorization"] == "Bearer tkn-abc"
    bodies = [json.loads(r.content) for r in recorder.requests]
    assert "namespace" not in bodies[0]["metadata"]
    assert all(b["metadata"]["namespace"] == "shop" for b in bodies[1:])
    assert "applied Secret/db in shop" in caplog.text
    assert SECRET_VALUE not in caplog.text


def test_invalid_manifest_names_kind_and_name_and_nothing_is_sent() -> None:
    adapter, recorder, _ = make(echo_apply)
    bad = manifests()
    bad[1]["spec"]["ports"] = [{"port": "eighty"}]
    with pytest.raises(
        ManifestError, match=r"Kubernetes 'prod': Service/web is invalid: spec.ports.0.port: "
    ):
        adapter.apply(bad)
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (
            {"kind": "ConfigMap", "metadata": {"name": "c"}},
            "ConfigMap/c: a manifest needs apiVersion and kind",
        ),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}},
            "ConfigMap/\\?: metadata.name is missing",
        ),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "../etc"}},
            "not a valid Kubernetes name",
        ),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "other"}},
            "namespace 'other' differs from the requested 'shop'",
        ),
        (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n", "namespace": "x"}},
            "cluster-scoped, yet names namespace 'x'",
        ),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "dataa": {}},
            "'dataa' was unexpected",
        ),
    ],
)
def test_manifest_errors(manifest: dict[str, Any], expected: str) -> None:
    adapter, recorder, _ = make(echo_apply)
    with pytest.raises(ManifestError, match=expected):
        adapter.apply([*manifests()[:2], manifest], namespace="shop")
    assert recorder.requests == []


def test_an_invalid_namespace_stops_the_whole_apply() -> None:
    adapter, recorder, _ = make(echo_apply)
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "Bad/NS"}}
    with pytest.raises(ManifestError, match="ConfigMap/c: namespace: not a valid Kubernetes name: 'Bad/NS'"):
        adapter.apply([*manifests(), bad])
    assert recorder.requests == []


def test_invalid_secret_never_shows_its_value() -> None:
    adapter, _, _ = make(echo_apply)
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "data": SECRET_VALUE}
    with pytest.raises(
        ManifestError, match=r"Secret/db is invalid: data: violates the schema rule 'type'"
    ) as caught:
        adapter.apply([secret])
    assert SECRET_VALUE not in str(caught.value)


def test_rejected_secret_apply_does_not_quote_the_server() -> None:
    message = f'Secret "db" is invalid: data[password]: Invalid value: "{SECRET_VALUE}"'
    adapter, _, _ = make(lambda r: status(422, message, "Invalid"))
    with pytest.raises(
        KubernetesRejected, match=r"rejected PATCH /api/v1/namespaces/default/secrets/db \(HTTP 422\)$"
    ):
        adapter.apply([manifests()[2]])
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}
    with pytest.raises(KubernetesRejected, match="Invalid value"):  # other kinds quote the server's reason
        adapter.apply([config_map])
