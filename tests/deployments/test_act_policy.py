"""Freeze windows and emergencies, promotion of the previous environment's release, rollback targets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.deployments._act_support import World, world_fixture  # noqa: F401
from timbel.audit.models import AuditEntry
from timbel.core.db import session_scope, utcnow


def _post(w: World, who: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = w.client.post(path, json=body, headers=w.headers(who))
    return response.status_code, response.json()


def _freeze(w: World, env: str, reason: str = "year-end freeze") -> None:
    now = utcnow()
    starts, ends = (now - timedelta(hours=1)).isoformat(), (now + timedelta(hours=1)).isoformat()
    window = {"starts_at": starts, "ends_at": ends, "reason": reason}
    past = {"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2020-01-02T00:00:00Z", "reason": "old"}
    w.env_update(env, freeze_windows=[past, window])


def test_freeze_refuses_deploys_and_rollbacks_but_not_an_admin_emergency(world: World) -> None:
    world.succeeded("dev", world.release("0.9.0"), finished_at=utcnow() - timedelta(days=1))
    world.succeeded("dev", world.release("1.0.0"))
    _freeze(world, "dev")
    path = f"/api/v1/systems/{world.system}/deployments"
    code, body = _post(world, "operations", path, {"env": "dev", "release": "1.0.0"})
    assert code == 409 and "year-end freeze" in body["detail"]
    code, body = _post(world, "admin", path, {"env": "dev", "release": "1.0.0"})
    assert code == 409
    code, body = _post(
        world, "operations", path, {"env": "dev", "release": "1.0.0", "emergency": True, "reason": "x"}
    )
    assert code == 403 and "administrator" in body["detail"]
    code, body = _post(
        world, "admin", path, {"env": "dev", "release": "1.0.0", "emergency": True, "reason": " "}
    )
    assert code == 422
    code, body = _post(world, "admin", path, {"env": "dev", "release": "1.0.0", "emergency": True,
                                               "reason": "payment outage"})  # fmt: skip
    assert code == 201 and body["state"] == "approved" and body["emergency"] is True
    with session_scope(world.app.state.session_factory) as session:
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "deployment.emergency", AuditEntry.target_id == body["id"]
            )
        )
        assert entry is not None and "payment outage" in entry.summary
    rollback = f"/api/v1/systems/{world.system}/rollbacks"
    code, body = _post(world, "operations", rollback, {"env": "dev"})
    assert code == 409 and "frozen" in body["detail"]


def test_emergency_by_an_admin_skips_the_production_approval(world: World) -> None:
    world.release("1.0.0")
    path = f"/api/v1/systems/{world.system}/deployments"
    code, body = _post(world, "admin", path, {"env": "prod", "release": "1.0.0", "emergency": True,
                                               "reason": "hotfix for incident 42"})  # fmt: skip
    assert code == 201 and body["state"] == "approved"
    assert world.enqueued.executions() == [body["id"]]


def test_approving_inside_a_freeze_is_refused(world: World) -> None:
    world.release("1.0.0")
    code, body = _post(world, "operations", f"/api/v1/systems/{world.system}/deployments",
                       {"env": "prod", "release": "1.0.0"})  # fmt: skip
    _freeze(world, "prod")
    code, refused = _post(world, "executive", f"/api/v1/deployments/{body['id']}/approve", {"comment": "ok"})
    assert code == 409 and "frozen" in refused["detail"]


def test_promote_uses_the_exact_release_of_the_previous_environment(world: World) -> None:
    promotions = f"/api/v1/systems/{world.system}/promotions"
    code, body = _post(world, "operations", promotions, {"to": "stg"})
    assert code == 409 and "Nothing has succeeded in dev" in body["detail"]
    code, body = _post(world, "operations", promotions, {"to": "dev"})
    assert code == 409 and "first environment" in body["detail"]
    old, new = world.release("1.0.0"), world.release("1.1.0")
    world.release("1.2.0")  # never deployed: must not be picked
    world.succeeded("dev", old, finished_at=utcnow() - timedelta(hours=2))
    world.succeeded("dev", new)
    checklist = world.client.get(
        f"/api/v1/systems/{world.system}/promotions/checklist",
        params={"to": "stg"},
        headers=world.headers("viewer"),
    ).json()
    assert checklist["release"]["version"] == "1.1.0" and checklist["from_env"] == "dev"
    items = {i["key"]: i for i in checklist["items"]}
    assert set(items) == {"previous_healthy", "tests_passed", "no_critical_alert", "no_freeze"}
    assert items["previous_healthy"]["status"] == "unknown" and not items["previous_healthy"]["blocking"]
    assert "not verified" in items["previous_healthy"]["evidence"]
    assert items["tests_passed"]["status"] == "unknown" and "Cut by hand" in items["tests_passed"]["evidence"]
    assert items["no_critical_alert"]["evidence"] == "No alert source configured."
    assert items["no_freeze"]["status"] == "pass" and checklist["refused"] is False
    code, body = _post(world, "operations", promotions, {"to": "stg", "reason": "sprint 12"})
    assert code == 201, body
    assert body["release_id"] == new and body["kind"] == "promote" and body["state"] == "approved"
    detail = world.client.get(f"/api/v1/deployments/{body['id']}", headers=world.headers("viewer")).json()
    assert detail["checklist"][0]["key"] == "previous_healthy"
    assert detail["release"]["version"] == "1.1.0"


def test_promotion_into_a_frozen_environment_lists_the_checklist(world: World) -> None:
    world.succeeded("dev", world.release("1.0.0"))
    _freeze(world, "stg", reason="launch week")
    code, body = _post(world, "operations", f"/api/v1/systems/{world.system}/promotions", {"to": "stg"})
    assert code == 409 and "launch week" in body["detail"]
    failing = [e for e in body["errors"] if e["status"] == "fail"]
    assert [e["key"] for e in failing] == ["no_freeze"]
    code, body = _post(world, "admin", f"/api/v1/systems/{world.system}/promotions",
                       {"to": "stg", "emergency": True, "reason": "security fix"})  # fmt: skip
    assert code == 201 and body["emergency"] is True


def test_promotion_to_production_waits_for_approval(world: World) -> None:
    world.succeeded("stg", world.release("2.0.0"))
    code, body = _post(world, "operations", f"/api/v1/systems/{world.system}/promotions", {"to": "prod"})
    assert code == 201 and body["state"] == "pending_approval"
    code, _body = _post(world, "executive", f"/api/v1/systems/{world.system}/promotions", {"to": "prod"})
    assert code == 403


def test_rollback_targets_must_have_succeeded_in_that_environment(world: World) -> None:
    rollbacks = f"/api/v1/systems/{world.system}/rollbacks"
    first, second, never = world.release("1.0.0"), world.release("1.1.0"), world.release("1.2.0")
    world.succeeded("dev", first, finished_at=utcnow() - timedelta(hours=3))
    code, body = _post(world, "operations", rollbacks, {"env": "dev"})
    assert code == 409 and "No earlier good release" in body["detail"]
    current = world.succeeded("dev", second)
    world.succeeded("stg", never)  # good in stg only
    code, body = _post(world, "operations", rollbacks, {"env": "dev", "to_release": "1.2.0"})
    assert code == 409 and "never succeeded in dev" in body["detail"]
    code, body = _post(world, "operations", rollbacks, {"env": "dev", "to_release": "1.1.0"})
    assert code == 409 and "already" in body["detail"]
    code, body = _post(world, "operations", rollbacks, {"env": "dev", "reason": "bad build"})
    assert code == 201, body
    assert body["release_id"] == first and body["kind"] == "rollback" and body["rollback_of_id"] == current
    code, body = _post(world, "viewer", rollbacks, {"env": "dev"})
    assert code == 403


def test_rollback_in_production_needs_approval(world: World) -> None:
    one, two = world.release("1.0.0"), world.release("1.1.0")
    world.succeeded("prod", one, finished_at=utcnow() - timedelta(days=1))
    world.succeeded("prod", two)
    code, body = _post(world, "operations", f"/api/v1/systems/{world.system}/rollbacks",
                       {"env": "prod", "to_release": "1.0.0"})  # fmt: skip
    assert code == 201 and body["state"] == "pending_approval" and body["release_id"] == one


def test_unknown_environment_and_foreign_release_are_not_found(world: World) -> None:
    world.release("1.0.0")
    world.release("9.0.0", system=world.other_system)
    path = f"/api/v1/systems/{world.system}/deployments"
    assert _post(world, "operations", path, {"env": "qa", "release": "1.0.0"})[0] == 404
    assert _post(world, "operations", path, {"env": "dev", "release": "9.0.0"})[0] == 404
