"""The notify adapter against real loopback servers: the Slack fake gets apprise's exact Slack JSON, the
JSON webhook gets apprise's JSON, the SMTP sink gets an intact Korean mail; failures are precise and never
show a secret; test_connection checks the URL and sends only when asked."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from tests.fakes.server import RunningFake, as_json, header
from tests.fakes.slack import SlackState
from tests.notifications.conftest import HOOK_SECRET, SLACK_SECRET, SLACK_URL, hook_url, mail_url
from tests.servers.smtp import SmtpSink
from timbel.core.errors import IntegrationUnavailable
from timbel.integrations.base import IntegrationKind, Message, Notifier
from timbel.integrations.http import CircuitBreaker
from timbel.integrations.notify.adapter import NotificationFailed, NotifyAdapter, from_instance, secret_parts
from timbel.integrations.notify.config import NotifyConfig
from timbel.integrations.registry_of_adapters import InstanceConfig

KOREAN = Message(
    title="[결제] prod 배포 실패: 1.4.2",
    body="prod 환경 배포가 실패했습니다.\n원인: 이미지 없음",
    severity="failure",
)


def adapter(url: str, **options: object) -> NotifyAdapter:
    config = NotifyConfig(
        name="ops-alerts", base_url="https://hooks.slack.com", url=SecretStr(url), **options
    )
    return NotifyAdapter(config)


class TestConfig:
    def test_the_apprise_url_is_the_secret_and_base_url_is_display_only(self) -> None:
        config = NotifyConfig.model_validate(
            {"name": "c", "base_url": "https://hooks.slack.com/", "url": SLACK_URL, "events": ["alert"]}
        )
        assert config.base_url == "https://hooks.slack.com"
        assert SLACK_SECRET not in repr(config) and SLACK_SECRET not in str(config.model_dump())
        assert (config.language, config.min_severity) == ("ko", "info")
        with pytest.raises(ValidationError, match="display-only"):
            NotifyConfig.model_validate({"name": "c", "base_url": "https://u:p@x.example", "url": SLACK_URL})
        with pytest.raises(ValidationError, match="unknown event types"):
            NotifyConfig.model_validate(
                {"name": "c", "base_url": "https://x", "url": SLACK_URL, "events": ["x"]}
            )
        with pytest.raises(ValidationError, match="apprise URL"):
            NotifyConfig.model_validate({"name": "c", "base_url": "https://x", "url": "no-scheme"})

    def test_subscription_and_least_severity(self) -> None:
        config = NotifyConfig.model_validate(
            {"name": "c", "base_url": "https://x", "url": SLACK_URL, "events": ["deployment"],
             "min_severity": "warning"}
        )  # fmt: skip
        assert config.wants(event="deployment.failed", severity="failure")
        assert config.wants(event="deployment.rolled_back", severity="warning")
        assert not config.wants(event="deployment.succeeded", severity="success")
        assert not config.wants(event="pipeline.failed", severity="failure")


class TestSend:
    def test_slack_receives_the_exact_json(self, slack: tuple[RunningFake, SlackState]) -> None:
        fake, _ = slack
        notifier: Notifier = adapter(SLACK_URL)
        notifier.send(Message(title="배포 <실패>", body="원인: a & b\n둘째 줄", severity="failure"))
        [request] = fake.recorder.requests
        assert (request.method, request.path) == ("POST", f"/services/T0TIMBEL1/B0TIMBEL2/{SLACK_SECRET}")
        assert str(header(request, "content-type")).startswith("application/json")
        body = as_json(request)
        # Slack's control characters are escaped by apprise; Korean text arrives intact (failure colour)
        assert body == {
            "mrkdwn": False,
            "attachments": [
                {"title": "배포 &lt;실패&gt;", "text": "원인: a &amp; b\n둘째 줄", "color": "#A32037"}
            ],
        }

    def test_json_webhook_receives_apprise_json(self, slack: tuple[RunningFake, SlackState]) -> None:
        fake, _ = slack
        adapter(hook_url(fake)).send(KOREAN)
        [request] = fake.recorder.requests
        assert request.path == f"/hooks/{HOOK_SECRET}"
        assert as_json(request) == {
            "version": "1.0", "title": KOREAN.title, "message": KOREAN.body, "attachments": [],
            "type": "failure",
        }  # fmt: skip

    def test_smtp_sink_receives_the_korean_mail(self, smtp: SmtpSink) -> None:
        adapter(mail_url(smtp, to="release@example.com")).send(KOREAN)
        [mail] = smtp.messages
        assert mail.mail_from == "timbel@example.com"
        assert mail.rcpt_tos == ("release@example.com",)
        assert mail.subject == KOREAN.title
        assert "prod 환경 배포가 실패했습니다." in mail.text() and "원인: 이미지 없음" in mail.text()
        assert "utf-8" in str(mail.message.get_body(preferencelist=("plain",)).get_content_charset())  # type: ignore[union-attr]

    def test_a_refusing_server_gives_a_precise_secret_free_error(
        self, slack: tuple[RunningFake, SlackState]
    ) -> None:
        fake, state = slack
        state.fail(1, status=500)
        with pytest.raises(NotificationFailed) as caught:
            adapter(hook_url(fake)).send(KOREAN)
        assert "ops-alerts" in caught.value.detail and "500" in caught.value.detail
        assert HOOK_SECRET not in caught.value.detail

    def test_an_unreachable_mail_server_names_the_channel(self, smtp: SmtpSink) -> None:
        url = f"mailto://user:mailpass-91c@127.0.0.1:{smtp.port}?mode=insecure&from=t@example.com&to=o@example.com"
        with pytest.raises(NotificationFailed) as caught:  # the sink offers no AUTH: login fails
            adapter(url).send(KOREAN)
        assert "ops-alerts" in caught.value.detail and "mailpass-91c" not in caught.value.detail

    def test_the_breaker_opens_after_repeated_failures(self, slack: tuple[RunningFake, SlackState]) -> None:
        fake, state = slack
        state.fail(5)
        breaker = CircuitBreaker("ops-alerts", failure_threshold=2, cooldown_seconds=60)
        notifier = NotifyAdapter(adapter(hook_url(fake)).config, breaker=breaker)
        for _ in range(2):
            with pytest.raises(NotificationFailed):
                notifier.send(KOREAN)
        with pytest.raises(IntegrationUnavailable, match="circuit open"):
            notifier.send(KOREAN)
        assert len(fake.recorder.requests) == 2


class TestConnection:
    def test_an_unknown_scheme_is_reported(self) -> None:
        report = adapter("nosuchservice://abc/def").test_connection()
        assert not report.ok
        assert "does not know the scheme 'nosuchservice://'" in report.checks[0].detail

    def test_a_malformed_url_is_reported_without_its_secret(self) -> None:
        report = adapter("slack://only-one-part-s3cret").test_connection()
        assert [c.name for c in report.checks] == ["scheme", "url"]
        assert not report.checks[1].ok and "cannot use this slack:// URL" in report.checks[1].detail
        assert "only-one-part-s3cret" not in report.checks[1].detail

    def test_nothing_is_sent_unless_asked(self, slack: tuple[RunningFake, SlackState]) -> None:
        fake, _ = slack
        notifier = adapter(SLACK_URL)
        report = notifier.test_connection()
        assert report.ok and [c.name for c in report.checks] == ["scheme", "url"]
        assert SLACK_SECRET not in str(report)
        assert fake.recorder.requests == []
        sent = notifier.test_connection(send_test=True)
        assert sent.ok and sent.checks[-1].name == "delivery"
        assert as_json(fake.recorder.requests[0])["attachments"][0]["title"] == "Timbel 테스트 알림"

    def test_a_failed_test_message_is_a_failed_check(self, slack: tuple[RunningFake, SlackState]) -> None:
        fake, state = slack
        state.fail(1, status=404)
        report = adapter(hook_url(fake), language="en").test_connection(send_test=True)
        assert not report.ok and "404" in report.checks[-1].detail
        assert HOOK_SECRET not in str(report)


def test_from_instance_builds_from_stored_settings() -> None:
    instance = InstanceConfig(
        id="notify-from-instance-test", kind=IntegrationKind.notify, name="mail",
        base_url="https://mail.example.com",
        options={"language": "en"}, secrets={"url": "json://127.0.0.1:9/x"},
    )  # fmt: skip
    built = from_instance(instance)
    assert built.config.language == "en" and built.breaker is not None and built.breaker.name == "mail"


def test_secret_parts_keep_host_and_port_readable() -> None:
    parts = secret_parts("mailto://bob:pw-123456@127.0.0.1:2525?mode=insecure&to=ops@example.com")
    assert "pw-123456" in parts and "127.0.0.1" not in parts and "2525" not in parts
