"""Live drift against a real (fake) Argo CD: the application reports another image than the release."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import MakeUser, login
from tests.deployments._exec_support import (  # noqa: F401 (fixtures)
    GitArgoCD,
    World,
    argo_fixture,
    world_fixture,
)
from tests.deployments._view_support import deploy
from tests.fakes.argocd import DEFAULT_NAMESPACE


def _live(client: TestClient, headers: dict[str, str], env: str) -> dict[str, Any]:
    groups = client.get("/api/v1/deployments/matrix", headers=headers).json()
    cell = groups[0]["systems"][0]["cells"][env]
    return cell["drift"]["live"]  # type: ignore[no-any-return]


def test_argo_reporting_another_image_shows_drift(
    app: FastAPI, client: TestClient, world: World, argo: tuple[GitArgoCD, Any], make_user: MakeUser
) -> None:
    fake, _ = argo
    deploy(app, world.system_id, "dev", world.releases["v2"])
    deploy(app, world.system_id, "stg", world.releases["v1"])
    app_status = fake.apps[(DEFAULT_NAMESPACE, "acme-shop-dev")]["status"]
    app_status["summary"] = {
        "images": ["registry.example.com/acme/shop-api:1.2.0", "registry.example.com/acme/shop-web:1.2.0"]
    }
    headers = login(client, make_user(roles=("admin",)))
    assert _live(client, headers, "dev")["state"] == "in_sync"
    assert _live(client, headers, "stg")["state"] == "no_live_target"  # GitOps only there
    app_status["summary"] = {
        "images": [
            "registry.example.com/acme/shop-api:1.2.0",
            "registry.example.com/acme/shop-web:0.9.9-hand",
        ]
    }
    live = _live(client, headers, "dev")
    assert live["state"] == "drift"
    assert live["differences"] == [
        {"service": "web", "expected": "1.2.0", "found": "registry.example.com/acme/shop-web:0.9.9-hand"}
    ]
