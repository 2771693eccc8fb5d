"""What runs where: matrix content from real deployment rows, domain filter and scoping, drift, the page."""

from __future__ import annotations

import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import MakeUser, login
from tests.deployments._view_support import (
    D,
    deploy,
    hand_edit,
    make_release,
    sign_in,
    values_text,
    write_values,
)
from timbel.core.db import session_scope
from timbel.deployments import targets
from timbel.deployments.live import LiveStatus
from timbel.deployments.models import Environment


@pytest.fixture
def world(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str], make_user: MakeUser
) -> Any:
    """Two domains, a system in each; shop has v1 in dev and stg, v2 in dev (succeeded) and a running stg."""
    a, b = make_domain("shop"), make_domain("bank")
    web = make_system(a, "web", name="Web shop")
    ledger = make_system(b, "ledger", name="Ledger")
    ops = make_user(roles=("operations",), domain_ids=(a,))
    r1 = make_release(app, web, "1.0.0")
    r2 = make_release(app, web, "2.0.0")
    deploy(app, web, "dev", r1, actor=ops)
    deploy(app, web, "stg", r1, actor=ops)
    deploy(app, web, "dev", r2, actor=ops, health="Healthy")
    running = deploy(app, web, "stg", r2, to=D.syncing, actor=ops)
    rl = make_release(app, ledger, "9.9.9")
    deploy(app, ledger, "dev", rl)
    return types.SimpleNamespace(a=a, b=b, web=web, ledger=ledger, ops=ops, r1=r1, r2=r2, running=running)


def _cell(groups: list[dict[str, Any]], system: str, env: str) -> dict[str, Any]:
    for group in groups:
        for row in group["systems"]:
            if row["slug"] == system:
                return row["cells"][env]  # type: ignore[no-any-return]
    raise AssertionError(f"{system} not in the matrix")


def test_matrix_shows_current_release_last_state_and_promote_link(client: TestClient, world: Any) -> None:
    headers = login(client, world.ops)
    response = client.get("/api/v1/deployments/matrix", headers=headers)
    assert response.status_code == 200, response.text
    groups = response.json()
    assert [g["domain"]["code"] for g in groups] == ["shop"]  # scoped: bank is not visible
    assert groups[0]["environments"] == ["dev", "stg", "prod"]
    dev = _cell(groups, "web", "dev")
    assert dev["version"] == "2.0.0" and dev["health"] == "Healthy"
    assert dev["deployed_by"] == world.ops.username
    assert dev["images"][0]["service"] == "api" and dev["images"][0]["short"].startswith("sha256:")
    assert len(dev["images"][0]["short"]) == len("sha256:") + 12
    assert dev["promote_url"] == f"/systems/{world.web}/promote?to=stg"
    assert dev["timeline_url"] == f"/systems/{world.web}/deployments?env=dev"
    stg = _cell(groups, "web", "stg")
    assert stg["version"] == "1.0.0"  # the running v2 has not succeeded yet …
    assert stg["last"]["id"] == world.running and stg["last"]["active"] is True  # … and shows as running
    prod = _cell(groups, "web", "prod")
    assert prod["version"] is None and prod["promote_url"] is None and prod["last"] is None
    assert stg["drift"]["live"]["state"] == "no_live_target"  # GitOps only: never "in sync"


def test_domain_filter_and_scoping(client: TestClient, world: Any, make_user: MakeUser) -> None:
    admin = login(client, make_user(roles=("admin",)))
    both = client.get("/api/v1/deployments/matrix", headers=admin).json()
    assert [g["domain"]["code"] for g in both] == ["bank", "shop"]
    only = client.get("/api/v1/deployments/matrix", params={"domain": "bank"}, headers=admin).json()
    assert [g["domain"]["code"] for g in only] == ["bank"]
    assert _cell(only, "ledger", "dev")["version"] == "9.9.9"
    ops = login(client, world.ops)
    assert (
        client.get("/api/v1/deployments/matrix", params={"domain": world.b}, headers=ops).status_code == 404
    )


def test_git_drift_after_a_hand_edit(app: FastAPI, client: TestClient, world: Any, tmp_path: Path) -> None:
    write_values(app, world.a, world.web, "dev", values_text({"api": "2.0.0"}))
    headers = login(client, world.ops)
    groups = client.get("/api/v1/deployments/matrix", headers=headers).json()
    assert _cell(groups, "web", "dev")["drift"]["git"]["state"] == "in_sync"
    assert _cell(groups, "web", "stg")["drift"]["git"]["state"] == "missing"
    hand_edit(app, tmp_path / "hand", "shop/web/envs/dev/values.yaml", ("tag: 2.0.0", "tag: 2.0.1-hotfix"))
    groups = client.get("/api/v1/deployments/matrix", headers=headers).json()  # reuses the fetch of 5 s ago
    assert _cell(groups, "web", "dev")["drift"]["git"]["state"] == "in_sync"
    app.state.settings.deployments.gitops_read_seconds = 0.0  # as when those seconds have passed
    groups = client.get("/api/v1/deployments/matrix", headers=headers).json()
    git = _cell(groups, "web", "dev")["drift"]["git"]
    assert git["state"] == "drift"
    assert git["differences"] == [{"service": "api", "expected": "2.0.0", "found": "2.0.1-hotfix"}]


def test_live_drift_when_the_target_reports_another_image(
    app: FastAPI, client: TestClient, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(app.state.session_factory) as session:
        for env in session.query(Environment).filter(Environment.domain_id == world.a):
            env.target_kind = "argocd"
    seen: list[str] = []

    def live_status(session: Any, *, settings: Any, system: Any, environment: Any) -> LiveStatus:
        seen.append(environment.name)
        image = (
            "registry.example.com/api:2.0.0" if environment.name == "dev" else "registry.example.com/api:0.9"
        )
        return LiveStatus(target_kind="argocd", health="Healthy", sync="Synced", images={"api": image})

    monkeypatch.setattr(targets, "live_status", live_status)
    groups = client.get("/api/v1/deployments/matrix", headers=login(client, world.ops)).json()
    assert _cell(groups, "web", "dev")["drift"]["live"]["state"] == "in_sync"
    stg = _cell(groups, "web", "stg")["drift"]["live"]
    assert stg["state"] == "drift" and stg["differences"][0]["found"] == "registry.example.com/api:0.9"
    assert sorted(seen) == ["dev", "stg"]  # only cells with a deployment ask the target, once each


def test_unreachable_target_is_said_plainly(
    app: FastAPI, client: TestClient, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(app.state.session_factory) as session:
        for env in session.query(Environment).filter(Environment.domain_id == world.a):
            env.target_kind = "argocd"

    def boom(*args: Any, **kwargs: Any) -> LiveStatus:
        raise ConnectionError("argo down")

    monkeypatch.setattr(targets, "live_status", boom)
    groups = client.get("/api/v1/deployments/matrix", headers=login(client, world.ops)).json()
    live = _cell(groups, "web", "dev")["drift"]["live"]
    assert live["state"] == "unreachable" and "argo down" in live["detail"]


def test_matrix_page(client: TestClient, world: Any, make_user: MakeUser) -> None:
    sign_in(client, world.ops)
    page = client.get("/deployments")
    assert page.status_code == 200, page.text
    assert 'data-cell="web:dev"' in page.text and 'data-version="2.0.0"' in page.text
    assert "Ledger" not in page.text
    assert f'href="/systems/{world.web}/promote?to=stg"' in page.text
    assert f'href="/deployments/{world.running}"' in page.text


def test_permissions(client: TestClient, world: Any, make_user: MakeUser) -> None:
    assert client.get("/api/v1/deployments/matrix").status_code == 401
    page = client.get("/deployments", follow_redirects=False)
    assert page.status_code in (302, 303) and "/login" in page.headers["location"]
    viewer = make_user(roles=("viewer",), domain_ids=(world.a,))
    assert client.get("/api/v1/deployments/matrix", headers=login(client, viewer)).status_code == 200
    sign_in(client, viewer)
    page = client.get("/deployments")
    assert page.status_code == 200 and 'data-cell="web:dev"' in page.text
    assert "data-promote=" not in page.text  # a viewer cannot promote: no button
