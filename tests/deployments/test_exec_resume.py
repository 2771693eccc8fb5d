"""A worker killed mid-deployment: reconcile finds the silent deployment and execute resumes it."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

from tests.deployments._exec_support import (  # noqa: F401
    GOLDEN_VALUES,
    GitArgoCD,
    World,
    argo_fixture,
    child_execute,
    remote_log,
    wait_for,
    world_fixture,
)
from tests.fakes.server import RunningFake
from timbel.core.db import session_scope, utcnow
from timbel.deployments.jobs import reconcile_deployments
from timbel.deployments.models import EnvironmentLock


def sync_calls(running: RunningFake) -> int:
    return sum(1 for r in running.recorder.requests if r.method == "POST" and r.path.endswith("/sync"))


def reconcile(world: World, *, ahead: float = 0.0) -> dict[str, int]:
    with session_scope(world.factory) as session:
        return reconcile_deployments(
            session, settings=world.settings, enqueue=world.enqueue,
            clock=lambda: utcnow() + timedelta(seconds=ahead),
        )  # fmt: skip


class TestKilledWorker:
    def test_sigkill_while_watching_then_reconcile_and_execute_end_succeeded_with_one_commit(
        self, world: World, argo: tuple[GitArgoCD, RunningFake]
    ) -> None:
        fake, running = argo
        world.seed_values("dev", GOLDEN_VALUES.read_text())
        fake.running_polls = 1_000_000  # Argo CD keeps syncing while the worker watches
        deployment_id = world.deploy("dev", "v2")
        child = child_execute(world, deployment_id)
        try:
            wait_for(lambda: world.get(deployment_id).progress.get("step") == "applied", timeout=30)
            wait_for(lambda: sync_calls(running) == 1 and world.get(deployment_id).heartbeat_at is not None)
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
        assert child.returncode == -signal.SIGKILL
        killed = world.get(deployment_id)
        assert (killed.state, killed.attempts) == ("verifying", 1)
        assert len(remote_log(world)) == 2  # the scaffold and this deployment's commit

        assert reconcile(world)["resumed"] == 0  # the heartbeat is still fresh
        assert reconcile(world, ahead=world.settings.deployments.stale_seconds + 1)["resumed"] == 1
        assert world.executes()[-1] == deployment_id

        fake.running_polls = 1  # the sync that was started before the crash now finishes
        world.settings.deployments.stale_seconds = 0.2
        wait_for(lambda: utcnow() - world.get(deployment_id).heartbeat_at > timedelta(seconds=0.3))
        assert world.run(deployment_id)["state"] == "succeeded"
        row = world.get(deployment_id)
        assert (row.attempts, row.verified, row.gitops_sha) == (2, True, killed.gitops_sha)
        assert sync_calls(running) == 1  # watched, not re-triggered
        assert len(remote_log(world)) == 2  # no second GitOps commit
        assert remote_log(world)[0].splitlines()[0] == "Deploy shop v2 to dev"

    def test_a_fresh_heartbeat_means_another_worker_runs_it(self, world: World) -> None:
        deployment_id = world.deploy("dev", "v1")
        with session_scope(world.factory) as session:
            from timbel.deployments.models import Deployment

            row = session.get(Deployment, deployment_id)
            row.state, row.heartbeat_at = "syncing", utcnow()
        assert world.run(deployment_id)["result"] == "running elsewhere"


class TestReconcile:
    def test_stale_locks_are_dropped_and_waiting_deployments_enqueued_again(self, world: World) -> None:
        done = world.deploy("dev", "v1")
        world.run(done)
        waiting = world.deploy("stg", "v1")
        with session_scope(world.factory) as session:
            session.add(EnvironmentLock(system_id=world.system_id, environment="dev", deployment_id=done))
            session.add(EnvironmentLock(system_id=world.system_id, environment="stg", deployment_id=waiting))
        world.enqueued.clear()
        assert reconcile(world) == {"resumed": 0, "locks_dropped": 1}
        assert reconcile(world, ahead=121) == {"resumed": 1, "locks_dropped": 0}
        assert world.executes() == [waiting]
        with session_scope(world.factory) as session:
            assert session.get(EnvironmentLock, (world.system_id, "dev")) is None
            assert session.get(EnvironmentLock, (world.system_id, "stg")) is not None
