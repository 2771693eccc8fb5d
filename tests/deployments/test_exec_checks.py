"""Pluggable verification checks run during the verify window; the built-in health check's verdicts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.deployments._exec_support import GitArgoCD, World, argo_fixture, world_fixture  # noqa: F401
from tests.fakes.server import RunningFake
from timbel.core.jobs import registered_jobs
from timbel.deployments import verify
from timbel.deployments.live import LiveStatus
from timbel.deployments.verify import CheckContext, CheckResult, HealthCheck, register_check


class ErrorBudget:
    """A stand-in for a monitoring check: fails once it has been asked ``fail_after`` times."""

    name = "error-budget"
    asked = 0
    fail_after = 10**6

    def run(self, ctx: CheckContext) -> CheckResult:
        ErrorBudget.asked += 1
        if ErrorBudget.asked > ErrorBudget.fail_after:
            return CheckResult(self.name, False, "5xx ratio 7.5% > 1% for shop")
        return CheckResult(self.name, True, "5xx ratio 0.1%")


class Broken:
    name = "broken"

    def run(self, ctx: CheckContext) -> CheckResult:
        raise RuntimeError("secret-token-in-message")


@pytest.fixture
def extra_checks() -> Iterator[None]:
    saved = dict(verify._FACTORIES)
    ErrorBudget.asked, ErrorBudget.fail_after = 0, 10**6
    register_check(ErrorBudget)
    try:
        yield
    finally:
        verify._FACTORIES.clear()
        verify._FACTORIES.update(saved)


def context(live: LiveStatus, **images: str) -> CheckContext:
    refs = [{"service": s, "repository": "reg/" + s, "tag": t, "digest": None} for s, t in images.items()]
    return CheckContext(deployment_id="d", system_id="s", system="shop", domain="acme", environment="dev",
                        version="v1", images=refs, revision="a" * 40, live=live,
                        contains=lambda rev: rev == "b" * 40)  # fmt: skip


class TestHealthCheck:
    @pytest.mark.parametrize(
        ("live", "passed", "detail"),
        [
            (LiveStatus("argocd", "Healthy", "Synced", "a" * 40), True, "Healthy, Synced at aaaaaaaaaaaa"),
            (LiveStatus("argocd", "Healthy", "Synced", "b" * 40), True, "Healthy, Synced at bbbbbbbbbbbb"),
            (
                LiveStatus("argocd", "Healthy", "Synced", "c" * 40),
                False,
                f"target at {'c' * 40}, not at {'a' * 40}",
            ),
            (LiveStatus("argocd", "Healthy", "OutOfSync", "a" * 40), False, "sync status OutOfSync"),
            (
                LiveStatus("argocd", "Progressing", "Synced", "a" * 40, detail="waiting"),
                False,
                "health Progressing: waiting",
            ),
            (
                LiveStatus("kubernetes", "Healthy", images={"shop-api": "reg/api:2"}),
                False,
                "images not running: api",
            ),
            (LiveStatus("kubernetes", "Healthy", images={"shop-api": "reg/api:1"}), True, "Healthy, applied"),
        ],
    )
    def test_verdicts(self, live: LiveStatus, passed: bool, detail: str) -> None:
        assert HealthCheck().run(context(live, api="1")) == CheckResult("health", passed, detail)

    def test_a_raising_check_fails_without_its_message(self) -> None:
        results = verify.run_checks(context(LiveStatus("argocd", "Healthy")), [Broken()])
        assert results == [CheckResult("broken", False, "check raised RuntimeError")]


class TestRegisteredChecks:
    def test_every_check_runs_through_the_window_and_is_recorded(
        self, world: World, argo: tuple[GitArgoCD, RunningFake], extra_checks: None
    ) -> None:
        world.env("dev", verify_window_seconds=1)
        deployment_id = world.deploy("dev", "v1")
        assert world.run(deployment_id)["state"] == "succeeded"
        assert ErrorBudget.asked > 1
        assert [c["name"] for c in world.get(deployment_id).checks] == ["health", "error-budget"]

    def test_a_failing_check_in_the_window_rolls_back(
        self, world: World, argo: tuple[GitArgoCD, RunningFake], extra_checks: None
    ) -> None:
        world.run(world.deploy("dev", "v1"))
        world.env("dev", verify_window_seconds=5)
        ErrorBudget.asked, ErrorBudget.fail_after = 0, 2
        result = world.run(world.deploy("dev", "v2"))
        assert result["state"] == "rolled_back"
        assert result["why"] == "verification check error-budget failed: 5xx ratio 7.5% > 1% for shop"
        row = world.get(result["deployment_id"])
        assert row.checks[1] == {
            "name": "error-budget",
            "passed": False,
            "detail": "5xx ratio 7.5% > 1% for shop",
        }


def test_jobs_are_declared() -> None:
    import timbel.deployments.jobs  # noqa: F401

    jobs = registered_jobs()
    assert jobs["deployments.execute"].periodic is None
    assert jobs["deployments.reconcile"].periodic is not None
