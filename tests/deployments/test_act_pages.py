"""The action pages render and their forms post (CSRF, errors re-render with what was typed)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.deployments._act_support import World, world_fixture  # noqa: F401
from tests.web.conftest import post_form, sign_in
from timbel.core.db import utcnow


def _as(w: World, who: str) -> TestClient:
    client = TestClient(w.app)
    sign_in(client, w.account(who))
    return client


def test_deploy_page_and_form(world: World) -> None:
    world.release("1.0.0")
    ops = _as(world, "operations")
    page = ops.get(f"/systems/{world.system}/deploy")
    assert page.status_code == 200
    assert 'id="deploy-form"' in page.text and "1.0.0" in page.text and 'name="emergency"' not in page.text
    form: dict[str, object] = {"env": "dev", "release": "1.0.0", "reason": "go"}
    response = post_form(
        ops, f"/systems/{world.system}/deploy", form, token_from=f"/systems/{world.system}/deploy"
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/deployments/")
    assert world.enqueued.executions() == [response.headers["location"].rsplit("/", 1)[1]]
    admin = _as(world, "admin")
    assert 'name="emergency"' in admin.get(f"/systems/{world.system}/deploy").text


def test_refused_deploy_keeps_what_was_typed(world: World) -> None:
    world.release("1.0.0")
    now = utcnow()
    starts, ends = (now - timedelta(hours=1)).isoformat(), (now + timedelta(hours=1)).isoformat()
    window = {"starts_at": starts, "ends_at": ends, "reason": "freeze for audit"}
    world.env_update("dev", freeze_windows=[window])
    ops = _as(world, "operations")
    response = post_form(ops, f"/systems/{world.system}/deploy",
                         {"env": "dev", "release": "1.0.0", "reason": "my careful reason"},
                         token_from=f"/systems/{world.system}/deploy")  # fmt: skip
    assert response.status_code == 422
    assert "freeze for audit" in response.text and "my careful reason" in response.text


def test_other_domain_gets_404_on_pages(world: World) -> None:
    other = _as(world, "other-operations")
    assert other.get(f"/systems/{world.system}/deploy").status_code == 404
    assert other.get(f"/systems/{world.system}/promote", params={"to": "stg"}).status_code == 404


def test_promote_page_shows_the_checklist_and_asks_for_approval_in_prod(world: World) -> None:
    world.succeeded("dev", world.release("1.0.0"))
    world.succeeded("stg", world.release("2.0.0"))
    ops = _as(world, "operations")
    page = ops.get(f"/systems/{world.system}/promote", params={"to": "stg"})
    assert page.status_code == 200
    assert "✓" in page.text and "?" in page.text and "sha256:" in page.text and "1.0.0" in page.text
    assert 'data-key="no_freeze" data-status="pass"' in page.text
    prod = ops.get(f"/systems/{world.system}/promote", params={"to": "prod"})
    assert "2.0.0" in prod.text
    response = post_form(ops, f"/systems/{world.system}/promote", {"to": "prod", "reason": "release train"})
    assert response.status_code == 303
    deployment = response.headers["location"].rsplit("/", 1)[1]
    assert world.deployment(deployment).state == "pending_approval"
    refused = post_form(ops, f"/systems/{world.system}/promote", {"to": "dev", "reason": "x"})
    assert refused.status_code == 422 and "first environment" in refused.text


def test_rollback_page_lists_earlier_good_releases(world: World) -> None:
    world.succeeded("dev", world.release("1.0.0"), finished_at=utcnow() - timedelta(hours=1))
    world.succeeded("dev", world.release("1.1.0"))
    ops = _as(world, "operations")
    page = ops.get(f"/systems/{world.system}/rollback", params={"env": "dev"})
    assert page.status_code == 200
    assert 'value="1.0.0"' in page.text and 'value="1.1.0"' not in page.text
    response = post_form(ops, f"/systems/{world.system}/rollback",
                         {"env": "dev", "to_release": "1.0.0", "reason": "bad"})  # fmt: skip
    assert response.status_code == 303


def test_approvals_page_approve_reject_and_self_approval(world: World) -> None:
    world.release("1.0.0")
    ops = _as(world, "operations")
    base = {"system": world.system, "env": "prod", "release": "1.0.0"}
    first = post_form(ops, "/deployments/requests/new", {**base, "reason": "please"})
    second = post_form(ops, "/deployments/requests/new", {**base, "reason": "again"})
    assert first.status_code == 303 and second.status_code == 303
    one, two = (r.headers["location"].rsplit("/", 1)[1] for r in (first, second))
    assert f'id="approval-{one}"' not in ops.get("/approvals").text  # never your own
    executive = _as(world, "executive")
    page = executive.get("/approvals")
    assert f'id="approval-{one}"' in page.text and "sha256:" in page.text and "operations" in page.text
    approved = post_form(executive, f"/approvals/{one}/approve", {"comment": "ok"}, token_from="/approvals")
    assert approved.status_code == 303 and approved.headers["location"] == f"/deployments/{one}"
    assert world.deployment(one).state == "approved"
    missing = post_form(executive, f"/approvals/{two}/reject", {"comment": ""}, token_from="/approvals")
    assert missing.status_code == 422
    rejected = post_form(
        executive, f"/approvals/{two}/reject", {"comment": "not now"}, token_from="/approvals"
    )
    assert rejected.status_code == 303 and world.deployment(two).state == "rejected"


def test_self_approval_on_the_page_is_refused_with_a_message(world: World) -> None:
    world.release("1.0.0")
    admin = _as(world, "admin")
    created = post_form(admin, f"/systems/{world.system}/deploy", {"env": "prod", "release": "1.0.0"},
                        token_from=f"/systems/{world.system}/deploy")  # fmt: skip
    deployment = created.headers["location"].rsplit("/", 1)[1]
    refused = post_form(
        admin, f"/approvals/{deployment}/approve", {"comment": "mine"}, token_from="/approvals"
    )
    assert refused.status_code == 422
    assert "someone else" in refused.text or "다른 사람" in refused.text
    assert world.deployment(deployment).state == "pending_approval"


def test_request_form_and_cancel(world: World) -> None:
    world.release("1.0.0")
    ops = _as(world, "operations")
    page = ops.get("/deployments/requests/new", params={"system": world.system})
    assert page.status_code == 200 and 'id="request-form"' in page.text
    refused = post_form(ops, "/deployments/requests/new",
                        {"system": world.system, "env": "dev", "release": "1.0.0", "reason": ""})  # fmt: skip
    assert refused.status_code == 422 and 'id="request-form"' in refused.text
    base = {"system": world.system, "env": "dev", "release": "1.0.0"}
    created = post_form(ops, "/deployments/requests/new", {**base, "reason": "hotfix"})
    deployment = created.headers["location"].rsplit("/", 1)[1]
    cancelled = post_form(ops, f"/deployments/{deployment}/cancel", {"reason": "oops"})
    assert cancelled.status_code == 303 and world.deployment(deployment).state == "cancelled"
