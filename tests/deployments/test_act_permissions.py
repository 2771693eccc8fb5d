"""Who may deploy, approve and reject, through the API: roles × environments × domains."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deployments._act_support import World, world_fixture  # noqa: F401


def _deploy(w: World, who: str, env: str, version: str = "1.0.0", **extra: object) -> tuple[int, Any]:
    response = w.client.post(
        f"/api/v1/systems/{w.system}/deployments",
        json={"env": env, "release": version, "reason": "ship it", **extra},
        headers=w.headers(who),
    )
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("who", "dev", "prod"),
    [
        ("admin", (201, "approved"), (201, "pending_approval")),
        ("operations", (201, "approved"), (201, "pending_approval")),
        ("executive", (403, None), (403, None)),
        ("viewer", (403, None), (403, None)),
        ("other-operations", (404, None), (404, None)),
        ("other-viewer", (404, None), (404, None)),
    ],
)
def test_deploy_matrix(
    world: World, who: str, dev: tuple[int, str | None], prod: tuple[int, str | None]
) -> None:
    world.release("1.0.0")
    for env, (code, state) in (("dev", dev), ("prod", prod)):
        status, body = _deploy(world, who, env)
        assert status == code, (env, body)
        if state is not None:
            assert body["state"] == state
            assert body["kind"] == "deploy"
    approved = [d for d in world.enqueued.executions()]
    assert len(approved) == (1 if dev[1] == "approved" else 0)


def test_prod_deploy_opens_an_approval_request(world: World) -> None:
    world.release("1.0.0")
    status, body = _deploy(world, "operations", "prod")
    assert status == 201
    detail = world.client.get(f"/api/v1/deployments/{body['id']}", headers=world.headers("operations")).json()
    assert detail["approval"]["state"] == "pending"
    assert sorted(detail["approval"]["approver_roles"]) == ["admin", "executive"]
    assert detail["history"] == []  # created pending, no transition yet
    assert world.enqueued.executions() == []


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("viewer", 403),
        ("operations2", 403),  # operations is not a prod approver role
        ("other-operations", 404),
        ("other-viewer", 404),
        ("executive", 200),
        ("admin", 200),
        ("other-executive", 200),  # executives see every domain
    ],
)
def test_approve_matrix(world: World, who: str, code: int) -> None:
    world.release("1.0.0")
    _status, body = _deploy(world, "operations", "prod")
    response = world.client.post(
        f"/api/v1/deployments/{body['id']}/approve", json={"comment": "ok"}, headers=world.headers(who)
    )
    assert response.status_code == code, response.text
    if code == 200:
        assert response.json()["state"] == "approved"
        assert response.json()["approval"]["state"] == "approved"
        assert world.enqueued.executions() == [body["id"]]
    else:
        assert world.enqueued.executions() == []


@pytest.mark.parametrize(
    ("who", "code"),
    [("viewer", 403), ("operations2", 403), ("other-operations", 404), ("executive", 200), ("admin", 200)],
)
def test_reject_matrix(world: World, who: str, code: int) -> None:
    world.release("1.0.0")
    _status, body = _deploy(world, "operations", "prod")
    response = world.client.post(
        f"/api/v1/deployments/{body['id']}/reject", json={"comment": "not today"}, headers=world.headers(who)
    )
    assert response.status_code == code, response.text
    if code == 200:
        assert response.json()["state"] == "rejected"
        assert response.json()["approval"]["comment"] == "not today"


def test_reject_needs_a_comment(world: World) -> None:
    world.release("1.0.0")
    _status, body = _deploy(world, "operations", "prod")
    response = world.client.post(
        f"/api/v1/deployments/{body['id']}/reject", json={"comment": "  "}, headers=world.headers("executive")
    )
    assert response.status_code == 422


def test_other_domain_cannot_read_deployments(world: World) -> None:
    world.release("1.0.0")
    _status, body = _deploy(world, "operations", "dev")
    assert (
        world.client.get(
            f"/api/v1/deployments/{body['id']}", headers=world.headers("other-operations")
        ).status_code
        == 404
    )
    listed = world.client.get("/api/v1/deployments", headers=world.headers("other-operations")).json()
    assert listed["total"] == 0
    mine = world.client.get(
        "/api/v1/deployments?env=dev&state=approved", headers=world.headers("viewer")
    ).json()
    assert [d["id"] for d in mine["items"]] == [body["id"]]
    by_domain = world.client.get("/api/v1/deployments?domain=bank", headers=world.headers("executive")).json()
    assert by_domain["total"] == 0
