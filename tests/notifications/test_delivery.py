"""notify → delivery rows → the deliver job: channel choice by event type, scope and severity; messages in
each channel's language; retries with backoff then failed with a clear secret-free error; reconcile; dedup."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from tests.conftest import MakeUser  # noqa: F401  (fixture types)
from tests.fakes.server import RunningFake, as_json
from tests.fakes.slack import SlackState
from tests.notifications.conftest import (
    HOOK_SECRET,
    SLACK_SECRET,
    SLACK_URL,
    Enqueue,
    MakeChannel,
    hook_url,
    mail_url,
)
from tests.servers.smtp import SmtpSink
from timbel.core.db import session_scope, utcnow
from timbel.core.errors import InvalidTransition, ValidationFailed
from timbel.integrations.base import Message
from timbel.integrations.notify.adapter import NotifyAdapter
from timbel.notifications import service
from timbel.notifications.models import DeliveryState, NotificationDelivery

DATA = {"system": "결제", "env": "prod", "version": "1.4.2", "reason": "image missing"}


def notify(app: FastAPI, enqueue: Enqueue, event: str, data: dict[str, Any] | None = None,
           **kwargs: Any) -> list[str]:  # fmt: skip
    """Call the service in a committed transaction (the deliver job is woken after commit)."""
    with session_scope(app.state.session_factory) as session:
        rows = service.notify(session, event=event, data=data or DATA, enqueue=enqueue, **kwargs)
        return [r.id for r in rows]


def deliveries(app: FastAPI) -> dict[str, NotificationDelivery]:
    """Every delivery by channel name."""
    with session_scope(app.state.session_factory) as session:
        rows = session.scalars(select(NotificationDelivery)).all()
        for row in rows:
            session.expunge(row)
    return {r.channel_name: r for r in rows}


def deliver(app: FastAPI, delivery_id: str, *, after: timedelta = timedelta(0)) -> str:
    return service.deliver(
        session_factory=app.state.session_factory, settings=app.state.settings, delivery_id=delivery_id,
        now=utcnow() + after,
    )  # fmt: skip


class TestChannelChoice:
    def test_event_type_scope_and_severity_pick_the_channels(
        self, app: FastAPI, make_channel: MakeChannel, make_domain: Callable[[str], str],
        slack: tuple[RunningFake, SlackState], enqueue: Enqueue,
    ) -> None:  # fmt: skip
        fake, _ = slack
        here, there = make_domain("pay"), make_domain("crm")
        make_channel("deploys", hook_url(fake, "deploys"), events=["deployment"])
        make_channel("alerts-only", hook_url(fake, "alerts"), events=["alert"])
        make_channel("pay-team", hook_url(fake, "pay"), domain_id=here)
        make_channel("crm-team", hook_url(fake, "crm"), domain_id=there)
        make_channel("failures-only", hook_url(fake, "fail"), min_severity="failure")
        notify(app, enqueue, "deployment.succeeded", domain_id=here)
        assert sorted(deliveries(app)) == ["deploys", "pay-team"]
        assert sorted(r.path for r in fake.recorder.requests) == ["/hooks/deploys", "/hooks/pay"]
        notify(app, enqueue, "deployment.failed")  # global event: no domain channel gets it
        assert sorted(r.path for r in fake.recorder.requests[2:]) == ["/hooks/deploys", "/hooks/fail"]

    def test_each_channel_gets_its_language(
        self, app: FastAPI, make_channel: MakeChannel, slack: tuple[RunningFake, SlackState], enqueue: Enqueue
    ) -> None:
        fake, _ = slack
        make_channel("ko-slack", SLACK_URL)
        make_channel("en-hook", hook_url(fake), language="en")
        notify(app, enqueue, "deployment.failed")
        rows = deliveries(app)
        assert (rows["ko-slack"].language, rows["en-hook"].language) == ("ko", "en")
        by_path = {r.path: as_json(r) for r in fake.recorder.requests}
        slack_body = by_path[f"/services/T0TIMBEL1/B0TIMBEL2/{SLACK_SECRET}"]
        assert slack_body["attachments"][0]["title"] == "[결제] prod 배포 실패: 1.4.2"
        assert slack_body["attachments"][0]["text"] == "prod 환경 배포가 실패했습니다.\n원인: image missing"
        assert by_path[f"/hooks/{HOOK_SECRET}"]["title"] == "[결제] Deployment to prod failed: 1.4.2"
        assert {r.state for r in rows.values()} == {"sent"} and {r.attempts for r in rows.values()} == {1}

    def test_the_mail_channel_delivers_korean_mail(
        self, app: FastAPI, make_channel: MakeChannel, smtp: SmtpSink, enqueue: Enqueue
    ) -> None:
        make_channel("release-mail", mail_url(smtp), events=["approval"])
        notify(app, enqueue, "approval.requested", {**DATA, "requester": "김운영"})
        [mail] = smtp.messages
        assert mail.subject == "[결제] prod 배포 승인 요청: 1.4.2"
        assert "김운영 님이 prod 배포 승인을 요청했습니다." in mail.text()
        assert deliveries(app)["release-mail"].sent_at is not None

    def test_a_dedup_key_makes_a_repeat_a_no_op(
        self, app: FastAPI, make_channel: MakeChannel, slack: tuple[RunningFake, SlackState], enqueue: Enqueue
    ) -> None:
        fake, _ = slack
        make_channel("deploys", hook_url(fake))
        assert len(notify(app, enqueue, "deployment.failed", dedup_key="deploy:9:failed")) == 1
        assert notify(app, enqueue, "deployment.failed", dedup_key="deploy:9:failed") == []
        assert len(fake.recorder.requests) == 1


def test_an_unknown_event_is_refused(app: FastAPI, enqueue: Enqueue) -> None:
    with pytest.raises(ValidationFailed, match="Unknown notification event"):
        notify(app, enqueue, "deployment.exploded")


class TestRetries:
    def test_a_failing_channel_is_retried_with_backoff_then_failed(
        self, app: FastAPI, make_channel: MakeChannel, slack: tuple[RunningFake, SlackState], enqueue: Enqueue
    ) -> None:
        fake, state = slack
        state.fail(10, status=500)
        make_channel("broken", hook_url(fake))
        [delivery_id] = notify(app, enqueue, "deployment.failed")  # attempt 1 runs after commit
        row = deliveries(app)["broken"]
        assert (row.state, row.attempts) == ("pending", 1)
        assert row.next_attempt_at is not None and row.next_attempt_at > utcnow() + timedelta(seconds=25)
        assert deliver(app, delivery_id) == "skipped"  # not due yet
        with session_scope(app.state.session_factory) as session:
            assert service.reconcile(session) == []
            assert service.reconcile(session, now=utcnow() + timedelta(seconds=31)) == [delivery_id]
        assert deliver(app, delivery_id, after=timedelta(seconds=31)) == "retry"
        second = deliveries(app)["broken"]
        assert second.next_attempt_at is not None
        assert second.next_attempt_at - utcnow() > timedelta(seconds=31 + 55)  # the wait doubled
        assert deliver(app, delivery_id, after=timedelta(seconds=200)) == "failed"
        final = deliveries(app)["broken"]
        assert (final.state, final.attempts, final.sent_at) == ("failed", 3, None)
        assert final.last_error.startswith("attempt 3/3: notification channel 'broken' did not accept")
        assert "500" in final.last_error and HOOK_SECRET not in final.last_error
        assert len(fake.recorder.requests) == 3
        assert deliver(app, delivery_id, after=timedelta(hours=1)) == "skipped"

    def test_a_channel_that_recovers_is_sent_on_the_retry(
        self, app: FastAPI, make_channel: MakeChannel, slack: tuple[RunningFake, SlackState], enqueue: Enqueue
    ) -> None:
        fake, state = slack
        state.fail(1, status=503)
        make_channel("flaky", hook_url(fake))
        notify(app, enqueue, "alert.firing", {"alert": "HighLatency", "severity": "critical"})
        with session_scope(app.state.session_factory) as session:
            due = service.reconcile(session, now=utcnow() + timedelta(minutes=1))
        for item in due:
            assert deliver(app, item, after=timedelta(minutes=1)) == "sent"
        row = deliveries(app)["flaky"]
        assert (row.state, row.attempts, row.last_error, row.severity) == ("sent", 2, "", "failure")

    def test_a_deleted_channel_fails_at_once(
        self, app: FastAPI, make_channel: MakeChannel, slack: tuple[RunningFake, SlackState],
        enqueue: Enqueue, client: Any, admin: dict[str, str],
    ) -> None:  # fmt: skip
        fake, _ = slack
        channel_id = make_channel("gone", hook_url(fake))
        with session_scope(app.state.session_factory) as session:
            [row] = service.notify(session, event="pipeline.failed", data={}, enqueue=lambda *a, **k: "")
            delivery_id = row.id
        assert client.delete(f"/api/v1/integrations/{channel_id}", headers=admin).status_code == 204
        assert deliver(app, delivery_id) == "failed"
        row = deliveries(app)["gone"]
        assert row.integration_id is None and "channel 'gone' no longer exists" in row.last_error

    def test_reconcile_releases_stuck_rows_and_leaves_fresh_ones(
        self, app: FastAPI, make_channel: MakeChannel, slack: tuple[RunningFake, SlackState]
    ) -> None:
        fake, _ = slack
        make_channel("c", hook_url(fake))
        with session_scope(app.state.session_factory) as session:
            fresh, stuck = (
                service.notify(session, event="pipeline.failed", data={}, enqueue=lambda *a, **k: "")[0]
                for _ in range(2)
            )
            stuck.state, stuck.attempts = DeliveryState.sending.value, 1
            stuck.claimed_at = utcnow() - timedelta(minutes=11)
            ids = (fresh.id, stuck.id)
        with session_scope(app.state.session_factory) as session:
            assert service.reconcile(session) == []  # the stuck one is pending again but waits its backoff
            again = session.get(NotificationDelivery, ids[1])
            assert again is not None and again.state == "pending" and "stopped" in again.last_error
            later = service.reconcile(session, now=utcnow() + timedelta(minutes=2))
        assert sorted(later) == sorted(ids)


def test_a_late_success_after_a_released_claim_is_recorded_once(
    app: FastAPI,
    make_channel: MakeChannel,
    slack: tuple[RunningFake, SlackState],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A send slower than the stuck threshold: reconcile released it, the late outcome still counts."""
    fake, _ = slack
    make_channel("slow", hook_url(fake))
    with session_scope(app.state.session_factory) as session:
        [row] = service.notify(session, event="pipeline.failed", data={}, enqueue=lambda *a, **k: "")
        delivery_id = row.id

    def slow_send(self: NotifyAdapter, message: Message) -> None:
        with session_scope(app.state.session_factory) as session:  # meanwhile, reconcile releases the claim
            service.reconcile(session, now=utcnow() + timedelta(minutes=11))

    monkeypatch.setattr(NotifyAdapter, "send", slow_send)
    assert deliver(app, delivery_id) == "late"
    row = deliveries(app)["slow"]
    assert row.state == "sent" and row.sent_at is not None
    with pytest.raises(InvalidTransition):  # a sent delivery never moves again
        service.set_state(row, DeliveryState.pending)
