"""The polling ``watch``: yields every status, stops on the predicate, times out with a clear error."""

from __future__ import annotations

import pytest

from tests.fakes.argocd import FakeArgoCD
from tests.fakes.server import RunningFake
from tests.integrations.argocd.conftest import guestbook
from timbel.integrations.argocd.adapter import (
    ArgoCDAdapter,
    ArgoCDWatchTimeout,
    operation_finished,
    settled,
    synced_and_healthy,
)
from timbel.integrations.base import AppStatus


class TestWatch:
    def test_default_stops_when_synced_and_healthy(
        self, adapter: ArgoCDAdapter, server: RunningFake, sleeps: list[float]
    ) -> None:
        adapter.upsert_application(guestbook())
        adapter.sync("guestbook")
        server.recorder.clear()
        seen = list(adapter.watch("guestbook", poll_seconds=0.5))
        assert [(s.operation_phase, s.health) for s in seen] == [
            ("Running", "Progressing"), ("Succeeded", "Progressing"), ("Succeeded", "Healthy"),
        ]  # fmt: skip
        assert sleeps == [0.5, 0.5]  # a pause between polls, none after the last
        assert server.recorder.calls() == ["GET /api/v1/applications/guestbook"] * 3

    def test_default_stops_on_a_failed_operation(self, adapter: ArgoCDAdapter, fake: FakeArgoCD) -> None:
        fake.fail_syncs = True
        adapter.upsert_application(guestbook())
        adapter.sync("guestbook")
        final = list(adapter.watch("guestbook"))[-1]
        assert (final.operation_phase, final.health) == ("Failed", "Degraded")

    def test_until_operation_finished_stops_before_healthy(self, adapter: ArgoCDAdapter) -> None:
        adapter.upsert_application(guestbook())
        adapter.sync("guestbook")
        final = list(adapter.watch("guestbook", until=operation_finished))[-1]
        assert (final.operation_phase, final.health) == ("Succeeded", "Progressing")

    def test_times_out_naming_the_app_and_its_state(
        self, adapter: ArgoCDAdapter, fake: FakeArgoCD, sleeps: list[float]
    ) -> None:
        fake.running_polls = 1000
        adapter.upsert_application(guestbook())
        adapter.sync("guestbook")
        seen: list[AppStatus] = []
        with pytest.raises(ArgoCDWatchTimeout) as caught:
            seen.extend(adapter.watch("guestbook", timeout=6, poll_seconds=2))
        assert len(seen) == 4 and sleeps == [2, 2, 2]
        assert str(caught.value) == (
            "Argo CD 'argo-test': application 'guestbook' did not reach the awaited state within 6 s "
            "(sync OutOfSync, health Progressing, operation Running)"
        )
        assert caught.value.status == 504

    def test_rejects_a_non_positive_poll(self, adapter: ArgoCDAdapter) -> None:
        with pytest.raises(ValueError):
            next(adapter.watch("guestbook", poll_seconds=0))


class TestPredicates:
    @pytest.mark.parametrize(
        ("sync", "health", "phase", "healthy", "finished", "done"),
        [
            ("Synced", "Healthy", None, True, False, True),
            ("Synced", "Healthy", "Succeeded", True, True, True),
            ("Synced", "Healthy", "Running", False, False, False),
            ("OutOfSync", "Healthy", "Succeeded", False, True, False),
            ("Synced", "Progressing", "Succeeded", False, True, False),
            ("OutOfSync", "Degraded", "Failed", False, True, True),
            ("Unknown", "Unknown", "Error", False, True, True),
        ],
    )
    def test_table(
        self, sync: str, health: str, phase: str | None, healthy: bool, finished: bool, done: bool
    ) -> None:
        status = AppStatus(name="a", sync=sync, health=health, operation_phase=phase)
        assert (synced_and_healthy(status), operation_finished(status), settled(status)) == (
            healthy,
            finished,
            done,
        )
