"""Executing deployments through Argo CD (the fake, serving the real GitOps repository's branch)."""

from __future__ import annotations

import threading

from sqlalchemy import select

from tests.deployments._exec_support import (  # noqa: F401
    GOLDEN_VALUES,
    GitArgoCD,
    World,
    add_channel,
    argo_fixture,
    remote_log,
    states,
    wait_for,
    world_fixture,
)
from tests.fakes.server import RunningFake
from timbel.core.db import session_scope
from timbel.deployments import targets
from timbel.deployments.models import DeploymentKind, Environment
from timbel.notifications.models import NotificationDelivery

Argo = tuple[GitArgoCD, RunningFake]


def deliveries(world: World) -> list[tuple[str, str]]:
    with session_scope(world.factory) as session:
        return [
            (r.event, r.title)
            for r in session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id))
        ]


def calls(running: RunningFake) -> list[str]:
    return [f"{r.method} {r.path}" for r in running.recorder.requests if r.method == "POST"]


class TestSuccess:
    def test_sync_is_watched_until_healthy_at_the_commit_then_verified(
        self, world: World, argo: Argo
    ) -> None:
        fake, running = argo
        world.seed_values("dev", GOLDEN_VALUES.read_text())
        add_channel(world)
        deployment_id = world.deploy("dev", "v2")
        assert world.run(deployment_id)["state"] == "succeeded"
        row = world.get(deployment_id)
        assert (row.verified, row.health) == (True, "Healthy")
        assert row.checks == [
            {"name": "health", "passed": True, "detail": f"Healthy, Synced at {row.gitops_sha[:12]}"}
        ]
        assert states(world, deployment_id) == [
            "approved→syncing",
            "syncing→verifying",
            "verifying→succeeded",
        ]
        app = fake.app_of("acme-shop-dev")
        assert app["status"]["sync"] == {"status": "Synced", "revision": row.gitops_sha}
        assert calls(running) == ["POST /api/v1/applications/acme-shop-dev/sync"]
        assert row.outcome.startswith(f"verified: healthy at {row.gitops_sha[:12]}")
        assert [e for e, _ in deliveries(world)] == ["deployment.succeeded"]

    def test_live_status_reads_the_application_and_never_raises(self, world: World, argo: Argo) -> None:
        fake, _ = argo
        world.run(world.deploy("dev", "v1"))
        with session_scope(world.factory) as session:
            from timbel.catalog.models import System
            from timbel.deployments import service

            system = session.get(System, world.system_id)
            dev = service.get_environment(session, domain_id=world.domain_id, name="dev")
            live = targets.live_status(session, settings=world.settings, system=system, environment=dev)
            assert (live.target_kind, live.health, live.sync) == ("argocd", "Healthy", "Synced")
            assert live.images == {}  # Argo CD lists images only once it has a summary
            images = ["registry.example.com/acme/shop-api:1.1.0", "registry.example.com/acme/shop-web:1.1.0"]
            fake.app_of("acme-shop-dev")["status"]["summary"] = {"images": images}
            live = targets.live_status(session, settings=world.settings, system=system, environment=dev)
            assert live.images == {"api": images[0], "web": images[1]}
            stg = service.get_environment(session, domain_id=world.domain_id, name="stg")
            assert targets.live_status(
                session, settings=world.settings, system=system, environment=stg
            ).health == ("not-verified")
            fake.fail(403, message="permission denied: applications, get")
            down = targets.live_status(session, settings=world.settings, system=system, environment=dev)
            assert down.health == "unreachable" and "permission denied" in down.detail
            dev.argocd_integration_id = None
            none = targets.live_status(session, settings=world.settings, system=system, environment=dev)
            assert none.health == "unreachable" and "no Argo CD instance" in none.detail


class TestFailure:
    def test_degraded_rolls_back_automatically_to_the_last_good_release(
        self, world: World, argo: Argo
    ) -> None:
        fake, _ = argo
        world.seed_values("dev", GOLDEN_VALUES.read_text())
        add_channel(world)
        good = world.deploy("dev", "v1")
        world.run(good)
        fake.fail_syncs = True
        bad = world.deploy("dev", "v2")
        result = world.run(bad)
        assert result["state"] == "rolled_back"
        row = world.get(bad)
        assert row.outcome.startswith("Argo CD sync Failed: one or more objects failed to apply")
        rollback = world.get(row.rolled_back_by_id)
        assert (rollback.kind, rollback.state, rollback.requested_by) == (
            "auto_rollback",
            "approved",
            "timbel",
        )
        assert rollback.release_id == world.releases["v1"] and rollback.rollback_of_id == bad
        assert f"Deployment {bad} of v2 failed: Argo CD sync Failed" in rollback.reason
        assert world.executes()[-1] == rollback.id
        fake.fail_syncs = False
        assert world.run(rollback.id)["state"] == "succeeded"
        messages = remote_log(world)
        assert messages[0].splitlines()[0] == "Automatic rollback of shop dev to v1"
        assert f"Deployment {bad} of v2 failed" in messages[0] and "Requested-by: timbel" in messages[0]
        assert messages[1].splitlines()[0] == "Deploy shop v2 to dev"
        assert fake.app_of("acme-shop-dev")["status"]["health"]["status"] == "Healthy"
        events = [e for e, _ in deliveries(world)]
        assert sorted(events) == ["deployment.rolled_back", "deployment.succeeded", "deployment.succeeded"]
        assert "[Shop] dev 롤백: v1" in [t for _, t in deliveries(world)]

    def test_a_failed_automatic_rollback_ends_failed(self, world: World, argo: Argo) -> None:
        fake, _ = argo
        world.run(world.deploy("dev", "v1"))
        fake.fail_syncs = True
        results = world.run_all(world.deploy("dev", "v2"))
        assert [r["state"] for r in results] == ["rolled_back", "failed"]
        rollback = world.get(results[1]["deployment_id"])
        assert rollback.kind == "auto_rollback" and rollback.rolled_back_by_id is None

    def test_without_auto_rollback_or_a_good_release_it_fails(self, world: World, argo: Argo) -> None:
        fake, _ = argo
        add_channel(world)
        fake.fail_syncs = True
        first = world.deploy("dev", "v1")
        assert world.run(first)["state"] == "failed"  # nothing good to go back to
        fake.fail_syncs = False
        world.run(world.deploy("dev", "v2"))
        world.env("dev", auto_rollback=False)
        fake.fail_syncs = True
        assert world.run(world.deploy("dev", "v3"))["state"] == "failed"
        assert [e for e, _ in deliveries(world)].count("deployment.failed") == 2

    def test_health_not_reached_in_time_fails_with_the_last_status(self, world: World, argo: Argo) -> None:
        fake, _ = argo
        world.run(world.deploy("dev", "v1"))
        fake.running_polls = 10_000
        world.env("dev", health_timeout_seconds=0, auto_rollback=False)
        result = world.run(world.deploy("dev", "v2"))
        assert result["state"] == "failed"
        assert result["why"] == "not healthy within 0 s (health Progressing, sync Synced)"

    def test_an_unreachable_argo_cd_fails_the_deployment_without_secrets(
        self, world: World, argo: Argo
    ) -> None:
        fake, _ = argo
        fake.fail(401, message="invalid session")
        result = world.run(world.deploy("dev", "v1"))
        assert result["state"] == "failed" and "argo" in result["why"]
        assert "argo-account-token" not in world.get(result["deployment_id"]).outcome


class TestSerialisation:
    def test_two_deployments_to_one_environment_never_sync_together(self, world: World, argo: Argo) -> None:
        fake, _ = argo
        fake.running_polls = 30
        first, second = world.deploy("dev", "v1"), world.deploy("dev", "v2")
        done: dict[str, dict] = {}
        thread = threading.Thread(target=lambda: done.update(first=world.run(first)))
        thread.start()
        wait_for(lambda: world.get(first).state == "verifying")
        assert world.run(second)["result"] == "waiting"
        assert world.get(second).state == "approved"
        thread.join(20)
        assert done["first"]["state"] == "succeeded"
        assert world.executes()[-1] == second
        assert world.run(second)["state"] == "succeeded"
        first_row, second_row = world.get(first), world.get(second)
        assert first_row.finished_at <= second_row.started_at
        with session_scope(world.factory) as session:
            assert session.get(Environment, first_row.environment_id).name == "dev"
        assert [m.splitlines()[0] for m in remote_log(world)] == [
            "Deploy shop v2 to dev",
            "Deploy shop v1 to dev",
        ]
        assert DeploymentKind.deploy.value == first_row.kind
