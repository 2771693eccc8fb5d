"""Environment settings per domain through the API: defaults, create/update/delete/reorder, validation of
targets, patterns, roles and freeze windows, permissions, audit, and the guards (last one, deployments)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import MakeUser, login
from tests.deployments._rel_support import admin_headers, integration_row
from timbel.audit.models import AuditEntry
from timbel.core.db import session_scope
from timbel.deployments.models import Deployment, Release


def _names(client: TestClient, domain: str, headers: dict[str, str]) -> list[str]:
    answer = client.get(f"/api/v1/domains/{domain}/environments", headers=headers)
    assert answer.status_code == 200, answer.text
    return [e["name"] for e in answer.json()]


def test_defaults_then_create_update_reorder_and_delete_with_audit(
    app: FastAPI, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str]
) -> None:
    domain = make_domain("acme")
    admin = admin_headers(client, make_user)
    listed = client.get(f"/api/v1/domains/{domain}/environments", headers=admin).json()
    assert [e["name"] for e in listed] == ["dev", "stg", "prod"]
    assert listed[2]["requires_approval"] and sorted(listed[2]["approver_roles"]) == ["admin", "executive"]
    body = {
        "name": "qa",
        "requires_approval": True,
        "approver_roles": ["operations"],
        "healthy_minutes": 30,
        "freeze_windows": [
            {"starts_at": "2026-12-24T00:00:00", "ends_at": "2026-12-27T00:00:00+09:00", "reason": "연말"}
        ],
    }
    created = client.post(f"/api/v1/domains/{domain}/environments", json=body, headers=admin)
    assert created.status_code == 201, created.text
    qa = created.json()
    assert qa["position"] == 3 and qa["healthy_minutes"] == 30
    assert qa["freeze_windows"] == [
        {"starts_at": "2026-12-24T00:00:00+00:00", "ends_at": "2026-12-26T15:00:00+00:00", "reason": "연말"}
    ]
    assert (
        client.post(f"/api/v1/domains/{domain}/environments", json={"name": "qa"}, headers=admin).status_code
        == 409
    )
    patched = client.patch(
        f"/api/v1/environments/{qa['id']}", json={"verify_window_seconds": 5}, headers=admin
    )
    assert patched.status_code == 200 and patched.json()["verify_window_seconds"] == 5
    assert patched.json()["requires_approval"]  # untouched fields stay
    order = client.post(
        f"/api/v1/domains/{domain}/environments/order",
        json={"names": ["dev", "qa", "stg", "prod"]},
        headers=admin,
    )
    assert order.status_code == 200 and [e["name"] for e in order.json()] == ["dev", "qa", "stg", "prod"]
    bad_order = client.post(
        f"/api/v1/domains/{domain}/environments/order", json={"names": ["dev"]}, headers=admin
    )
    assert bad_order.status_code == 422
    assert client.delete(f"/api/v1/environments/{qa['id']}", headers=admin).status_code == 204
    assert _names(client, domain, admin) == ["dev", "stg", "prod"]
    with session_scope(app.state.session_factory) as session:
        actions = set(
            session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("environment.%")))
        )
    assert actions == {
        "environment.create",
        "environment.update",
        "environment.reorder",
        "environment.delete",
    }


def test_validation_of_targets_patterns_roles_and_windows(
    app: FastAPI, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str]
) -> None:
    domain, other = make_domain("acme"), make_domain("beta")
    admin = admin_headers(client, make_user)
    argo = integration_row(app, kind="argocd", name="argo-main")
    theirs = integration_row(app, kind="argocd", name="argo-beta", domain_id=other)
    kube = integration_row(app, kind="kubernetes", name="kube-main")
    url = f"/api/v1/domains/{domain}/environments"
    cases = [
        ({"name": "x1", "target_kind": "argocd"}, "existing Argo CD integration"),
        (
            {"name": "x2", "target_kind": "argocd", "argocd_integration_id": kube},
            "existing Argo CD integration",
        ),
        ({"name": "x3", "target_kind": "argocd", "argocd_integration_id": theirs}, "another domain"),
        (
            {"name": "x4", "target_kind": "kubernetes", "kubernetes_integration_id": argo},
            "existing Kubernetes",
        ),
        ({"name": "x5", "namespace_pattern": "{tenant}-{env}"}, "only {domain}, {system} and {env}"),
        ({"name": "x6", "approver_roles": ["viewer"]}, "approver roles must be among"),
        ({"name": "x7", "requires_approval": True}, "needs approver roles"),
        (
            {
                "name": "x8",
                "freeze_windows": [{"starts_at": "2026-01-02T00:00Z", "ends_at": "2026-01-01T00:00Z"}],
            },
            "end after it starts",
        ),
        ({"name": "Bad Name"}, "lower-case name"),
        ({"name": "x9", "approval_ttl_hours": 0}, "greater than or equal to 1"),
    ]
    for body, why in cases:
        answer = client.post(url, json=body, headers=admin)
        assert answer.status_code == 422 and why in answer.text, (body, answer.text)
    good = client.post(
        url,
        json={
            "name": "live",
            "target_kind": "argocd",
            "argocd_integration_id": argo,
            "application_pattern": "{system}-{env}",
        },
        headers=admin,
    )
    assert good.status_code == 201, good.text
    moved = client.patch(
        f"/api/v1/environments/{good.json()['id']}",
        json={"target_kind": "kubernetes", "kubernetes_integration_id": kube},
        headers=admin,
    )
    assert moved.status_code == 200 and moved.json()["target_kind"] == "kubernetes"


def test_permissions_scope_and_guards(
    app: FastAPI,
    client: TestClient,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
) -> None:
    domain, other = make_domain("acme"), make_domain("beta")
    system = make_system(domain, "shop")
    ops = login(client, make_user(roles=("operations",), domain_ids=(domain,)))
    admin = admin_headers(client, make_user)
    assert _names(client, domain, ops) == ["dev", "stg", "prod"]
    assert client.get(f"/api/v1/domains/{other}/environments", headers=ops).status_code == 404
    assert (
        client.post(f"/api/v1/domains/{domain}/environments", json={"name": "qa"}, headers=ops).status_code
        == 403
    )
    envs = client.get(f"/api/v1/domains/{domain}/environments", headers=admin).json()
    dev = envs[0]
    with session_scope(app.state.session_factory) as session:
        release = Release(system_id=system, version="1", source_commit="a" * 40)
        session.add(release)
        session.flush()
        session.add(
            Deployment(
                system_id=system,
                domain_id=domain,
                environment_id=dev["id"],
                environment="dev",
                release_id=release.id,
                state="succeeded",
            )
        )
    assert client.delete(f"/api/v1/environments/{dev['id']}", headers=admin).status_code == 409
    renamed = client.patch(f"/api/v1/environments/{dev['id']}", json={"name": "develop"}, headers=admin)
    assert renamed.status_code == 409
    for env in envs[1:]:
        assert client.delete(f"/api/v1/environments/{env['id']}", headers=admin).status_code == 204
    with session_scope(app.state.session_factory) as session:
        session.query(Deployment).delete()
    last = client.delete(f"/api/v1/environments/{dev['id']}", headers=admin)
    assert last.status_code == 409 and "at least one environment" in last.text
    assert client.get("/api/v1/domains/nope/environments", headers=admin).status_code == 404
