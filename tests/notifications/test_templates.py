"""Message templates: every event in Korean and English, named fields, safe values, severities."""

from __future__ import annotations

import pytest

from timbel.notifications.templates import EVENTS, TEMPLATES, render, severity_of

EXPECTED_EVENTS = {
    "pipeline.started", "pipeline.succeeded", "pipeline.failed", "deployment.succeeded", "deployment.failed",
    "deployment.rolled_back", "approval.requested", "approval.approved", "approval.rejected",
    "alert.firing", "alert.resolved",
}  # fmt: skip
DATA = {"system": "결제", "env": "prod", "version": "1.4.2", "reason": "이미지 없음", "pipeline": "build",
        "run": 7, "branch": "main", "commit": "abc1234", "duration": "3m", "stage": "test",
        "requester": "kim", "approver": "lee", "alert": "HighLatency", "summary": "p99 > 2s"}  # fmt: skip


def test_every_event_has_a_title_and_body_in_both_languages() -> None:
    assert set(EVENTS) == EXPECTED_EVENTS
    for event, template in TEMPLATES.items():
        assert set(template.title) == set(template.body) == {"ko", "en"}, event
        ko, en = render(event, DATA, language="ko"), render(event, DATA, language="en")
        assert ko.title != en.title and "-" not in ko.title.split(), event


@pytest.mark.parametrize(
    ("language", "title", "body"),
    [
        (
            "ko",
            "[결제] prod 배포 실패: 1.4.2",
            "prod 환경 배포가 실패했습니다.\n원인: 이미지 없음\n자세히 보기: https://t/d/1",
        ),
        (
            "en",
            "[결제] Deployment to prod failed: 1.4.2",
            "The deployment to prod failed.\nReason: 이미지 없음\nDetails: https://t/d/1",
        ),
    ],
)
def test_render_fills_named_fields_in_the_language(language: str, title: str, body: str) -> None:
    message = render("deployment.failed", {**DATA, "url": "https://t/d/1"}, language=language)
    assert (message.title, message.body, message.severity) == (title, body, "failure")


def test_missing_fields_show_a_dash_and_values_are_one_safe_line() -> None:
    message = render("deployment.rolled_back", {"system": "a\nb\x07c", "reason": "x" * 500}, language="en")
    assert message.title == "[a bc] - rolled back: -"
    assert len(message.body.split("Reason: ")[1]) == 300
    assert render("pipeline.failed", {"system": "{env}"}, language="ko").title.startswith("[{env}] ")


def test_severity_follows_the_event_and_the_alert_label() -> None:
    assert severity_of("deployment.rolled_back", {}) == "warning"
    assert severity_of("alert.firing", {"severity": "critical"}) == "failure"
    assert severity_of("alert.firing", {"severity": "warning"}) == "warning"
    assert severity_of("alert.resolved", {}) == "success"


def test_an_unknown_event_or_language() -> None:
    with pytest.raises(KeyError, match="unknown notification event"):
        render("nope.nope", {}, language="ko")
    assert render("alert.resolved", {"alert": "A"}, language="fr").title == "[-] 경보 해소: A"
