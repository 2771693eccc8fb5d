"""Direct deployment to a cluster: the chart rendered from the GitOps clone, server-side applied (kmock).

kmock merges an apply PATCH into an existing object and cannot create one, so every object the chart renders
is stored first (as a real cluster would have it from the previous release); then the requests are asserted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deployments._exec_support import GOLDEN_VALUES, World, git, world_fixture  # noqa: F401
from tests.servers.kube import DEFAULT_RESOURCES, KubeEmulator, start_kube_emulator
from timbel.audit.service import AuditContext
from timbel.core.db import session_scope
from timbel.deployments.targets import TargetContext, render
from timbel.integrations import service as integrations
from timbel.integrations.schemas import IntegrationCreate

NAMESPACE = "acme-shop-dev"
RESOURCE = {kind: key for key, kind, _ in DEFAULT_RESOURCES}


@pytest.fixture
def kube(world: World) -> Iterator[KubeEmulator]:
    server = start_kube_emulator()
    try:
        with session_scope(world.factory) as session:
            row = integrations.create(
                session, settings=world.settings,
                data=IntegrationCreate(kind="kubernetes", name="kind-dev", base_url=server.url,  # type: ignore[arg-type]
                                       options={"namespace": NAMESPACE}, secrets={"token": "kube-token-1"}),  # type: ignore[dict-item]
                ctx=AuditContext(actor_name="test"),
            )  # fmt: skip
            integration_id = row.id
        world.env("dev", target_kind="kubernetes", kubernetes_integration_id=integration_id)
        yield server
    finally:
        server.stop()


def existing_objects(world: World, kube: KubeEmulator, tmp_path: Path, **status: Any) -> list[dict[str, Any]]:
    """Store what the chart renders for the current dev values, with rolled-out Deployment status."""
    clone = tmp_path / "clone"
    git("clone", "-q", world.gitops_url(), str(clone))
    ctx = TargetContext("kubernetes", "shop", "acme", "dev", "", NAMESPACE, workdir=clone)
    manifests = render(ctx)
    for manifest in manifests:
        stored = {**manifest, "metadata": {**manifest["metadata"], "namespace": NAMESPACE}}
        if manifest["kind"] == "Deployment":
            ready = {"replicas": 1, "readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1}
            stored["status"] = {**ready, "conditions": [{"type": "Available", "status": "True"}], **status}
        kube.put(RESOURCE[manifest["kind"]], NAMESPACE, manifest["metadata"]["name"], stored)
    return manifests


class TestKubernetes:
    def test_the_rendered_chart_is_server_side_applied_and_verified(
        self, world: World, kube: KubeEmulator, tmp_path: Path
    ) -> None:
        world.seed_values("dev", GOLDEN_VALUES.read_text())
        manifests = existing_objects(world, kube, tmp_path)
        deployment_id = world.deploy("dev", "v2")
        assert world.run(deployment_id)["state"] == "succeeded"
        row = world.get(deployment_id)
        assert (row.verified, row.health, row.target_kind) == (True, "Healthy", "kubernetes")
        assert row.checks[0]["passed"] and row.checks[0]["detail"] == "Healthy, applied"
        patches = [r for r in kube.requests() if r.method == "PATCH"]
        kinds = sorted(m["kind"] for m in manifests)
        assert len(patches) == len(manifests) and "Deployment" in kinds and "Service" in kinds
        assert {r.query for r in patches} == {"fieldManager=timbel&force=true"}
        assert {r.headers["content-type"] for r in patches} == {"application/apply-patch+yaml"}
        api = next(
            r for r in patches if r.path == f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/shop-api"
        )
        body = json.loads(api.body)
        assert (
            body["spec"]["template"]["spec"]["containers"][0]["image"]
            == "registry.example.com/acme/shop-api:1.2.0"
        )
        assert body["metadata"]["namespace"] == NAMESPACE
        with session_scope(world.factory) as session:
            from timbel.catalog.models import System
            from timbel.deployments import service
            from timbel.deployments.targets import live_status

            dev = service.get_environment(session, domain_id=world.domain_id, name="dev")
            live = live_status(session, settings=world.settings, system=session.get(System, world.system_id),
                               environment=dev)  # fmt: skip
        assert (live.health, live.target_kind) == ("Healthy", "kubernetes")
        assert live.images == {
            "api": "registry.example.com/acme/shop-api:1.2.0",
            "web": "registry.example.com/acme/shop-web:1.2.0",
        }
        stored = kube.get("apps/v1/deployments", NAMESPACE, "shop-web")
        assert stored is not None
        assert (
            stored["spec"]["template"]["spec"]["containers"][0]["image"]
            == "registry.example.com/acme/shop-web:1.2.0"
        )

    def test_a_stuck_rollout_fails_the_deployment(
        self, world: World, kube: KubeEmulator, tmp_path: Path
    ) -> None:
        world.seed_values("dev", GOLDEN_VALUES.read_text())
        stuck = [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]
        existing_objects(world, kube, tmp_path, readyReplicas=0, conditions=stuck)
        result = world.run(world.deploy("dev", "v2"))
        assert result["state"] == "failed"
        assert result["why"] == "a Deployment is stuck: shop-api: progress deadline"
        assert world.get(result["deployment_id"]).health == "Degraded"

    def test_a_missing_chart_fails_before_anything_is_applied(self, world: World, kube: KubeEmulator) -> None:
        result = world.run(world.deploy("dev", "v1"))
        assert result["state"] == "failed"
        assert result["why"] == "the GitOps repository has no chart or values at acme/shop/chart"
        assert not [r for r in kube.requests() if r.method == "PATCH"]
