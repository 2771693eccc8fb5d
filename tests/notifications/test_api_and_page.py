"""The delivery log API (admin-only, filtered, paged), the test-message endpoint, and the delivery log page:
what a failed channel shows there is clear and never contains the channel's secret."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import MakeUser
from tests.fakes.server import RunningFake, as_json
from tests.fakes.slack import SlackState
from tests.notifications.conftest import HOOK_SECRET, SLACK_SECRET, SLACK_URL, Enqueue, MakeChannel, hook_url
from tests.notifications.test_delivery import deliver, notify
from tests.web.conftest import sign_in
from timbel.core.db import session_scope
from timbel.notifications import service

API = "/api/v1/notifications"


def failed_delivery(app: FastAPI, enqueue: Enqueue, make_channel: MakeChannel, fake: RunningFake,
                    state: SlackState) -> str:  # fmt: skip
    """A channel answering 500 until its delivery has failed for good."""
    state.fail(10)
    make_channel("broken-hook", hook_url(fake), language="en", events=["deployment"])
    [delivery_id] = notify(app, enqueue, "deployment.failed")
    deliver(app, delivery_id, after=timedelta(minutes=1))
    deliver(app, delivery_id, after=timedelta(minutes=5))
    state.fail(0)
    return delivery_id


class TestDeliveriesApi:
    def test_admins_list_filter_and_page_the_log(
        self, app: FastAPI, client: TestClient, admin: dict[str, str], make_channel: MakeChannel,
        slack: tuple[RunningFake, SlackState], enqueue: Enqueue,
    ) -> None:  # fmt: skip
        fake, state = slack
        failed_id = failed_delivery(app, enqueue, make_channel, fake, state)
        make_channel("ok-slack", SLACK_URL, events=["pipeline"])
        notify(app, enqueue, "pipeline.succeeded", {"system": "결제", "pipeline": "build", "run": 3})
        page = client.get(f"{API}/deliveries", headers=admin).json()
        assert page["total"] == 2 and page["page"] == 1
        assert page["items"][0]["channel_name"] == "ok-slack"  # newest first
        failed = client.get(f"{API}/deliveries", params={"state": "failed"}, headers=admin).json()
        [item] = failed["items"]
        assert (item["id"], item["attempts"], item["language"]) == (failed_id, 3, "en")
        assert "did not accept" in item["last_error"] and "500" in item["last_error"]
        text = client.get(f"{API}/deliveries", headers=admin).text
        assert HOOK_SECRET not in text and SLACK_SECRET not in text
        paged = client.get(f"{API}/deliveries", params={"per_page": 1, "page": 2}, headers=admin).json()
        assert [i["id"] for i in paged["items"]] == [failed_id]
        by_event = client.get(f"{API}/deliveries", params={"event": "pipeline.succeeded"}, headers=admin)
        assert by_event.json()["total"] == 1
        assert client.get(f"{API}/deliveries", params={"state": "nope"}, headers=admin).status_code == 422

    def test_only_integration_admins(
        self, client: TestClient, auth_headers: Callable[..., dict[str, str]]
    ) -> None:
        assert client.get(f"{API}/deliveries").status_code == 401
        for role in ("operations", "viewer", "executive"):
            headers = auth_headers(role)
            assert client.get(f"{API}/deliveries", headers=headers).status_code == 403
            assert (
                client.post(f"{API}/test", json={"integration_id": "x"}, headers=headers).status_code == 403
            )


class TestChannelConfiguration:
    def test_invalid_channel_options_are_refused_by_the_integrations_api(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        body = {
            "kind": "notify", "name": "bad", "base_url": "https://hooks.slack.com",
            "options": {"events": ["deploys"], "language": "ja"}, "secrets": {"url": SLACK_URL},
        }  # fmt: skip
        response = client.post("/api/v1/integrations", json=body, headers=admin)
        assert response.status_code == 422
        locs = {tuple(e["loc"]) for e in response.json()["errors"]}
        assert ("body", "options", "events") in locs and ("body", "options", "language") in locs
        assert SLACK_SECRET not in response.text

    def test_the_url_is_write_only(
        self, client: TestClient, admin: dict[str, str], make_channel: MakeChannel
    ) -> None:
        channel_id = make_channel("slack", SLACK_URL)
        shown = client.get(f"/api/v1/integrations/{channel_id}", headers=admin)
        assert shown.json()["secret_fields"] == ["url"] and SLACK_SECRET not in shown.text


class TestTestMessage:
    def test_a_test_message_goes_out_in_the_channel_language(
        self, client: TestClient, admin: dict[str, str], make_channel: MakeChannel,
        slack: tuple[RunningFake, SlackState],
    ) -> None:  # fmt: skip
        fake, _ = slack
        channel_id = make_channel("en-hook", hook_url(fake), language="en")
        report = client.post(f"{API}/test", json={"integration_id": channel_id}, headers=admin)
        assert report.status_code == 200, report.text
        assert report.json()["ok"] is True
        assert [c["name"] for c in report.json()["checks"]] == ["scheme", "url", "delivery"]
        assert as_json(fake.recorder.requests[0])["title"] == "Timbel test notification"
        assert HOOK_SECRET not in report.text

    def test_a_failing_channel_reports_why_without_secrets(
        self, client: TestClient, admin: dict[str, str], make_channel: MakeChannel,
        slack: tuple[RunningFake, SlackState],
    ) -> None:  # fmt: skip
        fake, state = slack
        state.fail(1, status=404)
        channel_id = make_channel("gone-hook", hook_url(fake))
        body = client.post(f"{API}/test", json={"integration_id": channel_id}, headers=admin).json()
        assert body["ok"] is False and "404" in body["checks"][-1]["detail"]
        assert HOOK_SECRET not in str(body)

    def test_an_unknown_or_non_notify_integration_is_404(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        assert client.post(f"{API}/test", json={"integration_id": "nope"}, headers=admin).status_code == 404


class TestDeliveryLogPage:
    def test_the_page_lists_deliveries_with_their_state(
        self, app: FastAPI, client: TestClient, make_user: MakeUser, make_channel: MakeChannel,
        slack: tuple[RunningFake, SlackState], enqueue: Enqueue,
    ) -> None:  # fmt: skip
        fake, state = slack
        failed_id = failed_delivery(app, enqueue, make_channel, fake, state)
        sign_in(client, make_user(roles=("admin",)))
        page = client.get("/admin/notifications")
        assert page.status_code == 200, page.text
        assert f'data-delivery="{failed_id}" data-state="failed"' in page.text
        assert "broken-hook" in page.text and "3 / 3" in page.text and "did not accept" in page.text
        assert HOOK_SECRET not in page.text
        korean = "the Korean catalog lacks /work/i18n-pending/notify.json (run scripts/i18n.py with it)"
        assert "알림 발송 이력" in page.text and "마지막 오류" in page.text, korean
        filtered = client.get("/admin/notifications", params={"state": "sent"})
        assert "deliveries-empty" in filtered.text

    def test_the_admin_menu_links_to_it(self, client: TestClient, make_user: MakeUser) -> None:
        sign_in(client, make_user(roles=("admin",)))
        assert 'href="/admin/notifications"' in client.get("/").text

    def test_the_page_is_for_integration_admins(self, client: TestClient, make_user: MakeUser) -> None:
        sign_in(client, make_user(roles=("operations",)))
        assert client.get("/admin/notifications").status_code == 403


def test_the_job_modules_deliver_and_reconcile(
    app: FastAPI, make_channel: MakeChannel, slack: tuple[RunningFake, SlackState], enqueue: Enqueue
) -> None:
    """The jobs themselves: deliver records the outcome, reconcile wakes due rows (here: none yet)."""
    fake, _ = slack
    make_channel("c", hook_url(fake))
    with session_scope(app.state.session_factory) as session:
        [row] = service.notify(
            session, event="alert.resolved", data={"alert": "A"}, enqueue=lambda *a, **k: ""
        )
    enqueue("notifications.reconcile")
    assert fake.recorder.requests == []
    enqueue("notifications.deliver", delivery_id=row.id)
    assert as_json(fake.recorder.requests[0])["title"] == "[-] 경보 해소: A"
