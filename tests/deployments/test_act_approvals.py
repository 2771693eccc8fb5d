"""Approval requests: self-approval refused (admins too), expiry, cancel, requests, pending lists, the job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.deployments._act_support import World, world_fixture  # noqa: F401
from timbel.audit.models import AuditEntry
from timbel.core.db import session_scope, utcnow
from timbel.core.jobs import JobContext, registered_jobs
from timbel.deployments import approval_jobs, approvals
from timbel.deployments.models import ApprovalRequest


def _post(w: World, who: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = w.client.post(path, json=body, headers=w.headers(who))
    return response.status_code, response.json()


def _prod(w: World, who: str) -> str:
    w.release("1.0.0")
    code, body = _post(w, who, f"/api/v1/systems/{w.system}/deployments", {"env": "prod", "release": "1.0.0"})
    assert code == 201, body
    return str(body["id"])


def test_requester_never_approves_their_own_request_even_as_admin(world: World) -> None:
    deployment = _prod(world, "admin")
    code, body = _post(world, "admin", f"/api/v1/deployments/{deployment}/approve", {"comment": "mine"})
    assert code == 403
    assert "someone else" in body["detail"]
    code, body = _post(world, "admin", f"/api/v1/deployments/{deployment}/reject", {"comment": "mine"})
    assert code == 403
    code, body = _post(world, "admin2", f"/api/v1/deployments/{deployment}/approve", {"comment": "ok"})
    assert code == 200 and body["state"] == "approved"
    assert body["approved_by_id"] == world.account("admin2").id
    with session_scope(world.app.state.session_factory) as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == deployment)).all()
    assert {"deployment.deploy", "deployment.approve"} <= set(actions)


def test_request_always_waits_and_operations_may_approve_another_persons_dev_request(world: World) -> None:
    world.release("1.0.0")
    path = f"/api/v1/systems/{world.system}/requests"
    code, body = _post(world, "operations", path, {"env": "dev", "release": "1.0.0", "reason": "please"})
    assert code == 201 and body["state"] == "pending_approval" and body["kind"] == "request"
    deployment = body["id"]
    code, refused = _post(world, "operations", f"/api/v1/deployments/{deployment}/approve", {})
    assert code == 403 and "someone else" in refused["detail"]
    pending = world.client.get("/api/v1/approvals", headers=world.headers("operations")).json()
    assert pending == []  # never your own
    pending = world.client.get("/api/v1/approvals", headers=world.headers("operations2")).json()
    assert [p["deployment"]["id"] for p in pending] == [deployment]
    assert pending[0]["release"]["images"][0]["digest"].startswith("sha256:")
    assert world.client.get("/api/v1/approvals", headers=world.headers("viewer")).json() == []
    assert world.client.get("/api/v1/approvals", headers=world.headers("other-operations")).json() == []
    code, body = _post(world, "operations2", f"/api/v1/deployments/{deployment}/approve", {"comment": "go"})
    assert code == 200 and body["state"] == "approved"
    assert world.enqueued.executions() == [deployment]


def test_request_needs_a_reason(world: World) -> None:
    world.release("1.0.0")
    path = f"/api/v1/systems/{world.system}/requests"
    code, _body = _post(world, "operations", path, {"env": "dev", "release": "1.0.0", "reason": ""})
    assert code == 422


def test_expired_request_cannot_be_approved_and_the_job_cancels_it(world: World) -> None:
    deployment = _prod(world, "operations")
    with session_scope(world.app.state.session_factory) as session:
        approval = approvals.approval_of(session, deployment_id=deployment)
        assert approval is not None
        assert timedelta(hours=71) < approval.expires_at - utcnow() <= timedelta(hours=72)
        approval.expires_at = utcnow() - timedelta(minutes=1)
    code, body = _post(world, "executive", f"/api/v1/deployments/{deployment}/approve", {"comment": "late"})
    assert code == 409 and "expired" in body["detail"]
    assert world.client.get("/api/v1/approvals", headers=world.headers("executive")).json() == []
    assert "deployments.expire_approvals" in registered_jobs()
    ctx = JobContext(
        settings=world.app.state.settings, session_factory=world.app.state.session_factory, job_id="t",
        enqueue=world.enqueued,
    )  # fmt: skip
    assert approval_jobs.expire_approvals(ctx) == {"expired": 1}
    row = world.deployment(deployment)
    assert row.state == "cancelled" and row.outcome == "approval expired"
    with session_scope(world.app.state.session_factory) as session:
        state = session.scalar(
            select(ApprovalRequest.state).where(ApprovalRequest.deployment_id == deployment)
        )
    assert state == "expired"
    assert approval_jobs.expire_approvals(ctx) == {"expired": 0}


def test_expire_with_an_injected_clock(world: World) -> None:
    deployment = _prod(world, "operations")
    with session_scope(world.app.state.session_factory) as session:
        assert approvals.expire(session, now=utcnow() + timedelta(hours=71)) == 0
        assert approvals.expire(session, now=utcnow() + timedelta(hours=73)) == 1
    assert world.deployment(deployment).state == "cancelled"


def test_cancel_by_requester_or_admin_only(world: World) -> None:
    deployment = _prod(world, "operations")
    code, _body = _post(world, "operations2", f"/api/v1/deployments/{deployment}/cancel", {"reason": "x"})
    assert code == 403
    code, _body = _post(
        world, "other-operations", f"/api/v1/deployments/{deployment}/cancel", {"reason": "x"}
    )
    assert code == 404
    code, body = _post(
        world, "operations", f"/api/v1/deployments/{deployment}/cancel", {"reason": "wrong one"}
    )
    assert code == 200 and body["state"] == "cancelled" and body["approval"]["state"] == "cancelled"
    code, _body = _post(world, "operations", f"/api/v1/deployments/{deployment}/cancel", {"reason": "again"})
    assert code == 409
    other = _post(world, "operations", f"/api/v1/systems/{world.system}/deployments",
                  {"env": "dev", "release": "1.0.0"})[1]["id"]  # fmt: skip
    code, body = _post(world, "admin", f"/api/v1/deployments/{other}/cancel", {"reason": "stop"})
    assert code == 200 and body["state"] == "cancelled"


def test_decided_request_cannot_be_decided_again(world: World) -> None:
    deployment = _prod(world, "operations")
    assert _post(world, "executive", f"/api/v1/deployments/{deployment}/reject", {"comment": "no"})[0] == 200
    code, _body = _post(world, "admin", f"/api/v1/deployments/{deployment}/approve", {"comment": "yes"})
    assert code == 409


def test_notifications_for_requested_approved_and_rejected(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, dict[str, Any], str | None]] = []

    def notify(session: object, *, event: str, data: dict[str, Any], enqueue: object,
               domain_id: str | None = None, dedup_key: str | None = None) -> list[object]:  # fmt: skip
        sent.append((event, data, domain_id))
        return []

    monkeypatch.setattr("timbel.deployments.approvals.notify", notify)
    monkeypatch.setattr("timbel.deployments.decisions.notify", notify)
    first = _prod(world, "operations")
    _code, second = _post(world, "operations", f"/api/v1/systems/{world.system}/deployments",
                         {"env": "prod", "release": "1.0.0"})  # fmt: skip
    _post(world, "executive", f"/api/v1/deployments/{first}/approve", {"comment": "ok"})
    _post(world, "executive", f"/api/v1/deployments/{second['id']}/reject", {"comment": "twice"})
    assert [e for e, _d, _dom in sent] == [
        "approval.requested", "approval.requested", "approval.approved", "approval.rejected",
    ]  # fmt: skip
    assert sent[0][1]["requester"] == world.account("operations").username and sent[0][2] == world.domain
    assert sent[2][1]["approver"] == world.account("executive").username and sent[2][1]["env"] == "prod"
    assert sent[3][1]["reason"] == "twice" and sent[3][1]["version"] == "1.0.0"
