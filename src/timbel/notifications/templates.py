"""Message templates per event type, in Korean and English, with named fields.

Why plain ``str.format`` templates: messages are short and fixed; every field is named, a missing field
renders as "-", and values are flattened to one line and cut to a sane length. Bodies are plain text;
apprise escapes them for the channel (``&``, ``<``, ``>`` for Slack; nothing for e-mail), and the delivery
log page escapes them as HTML.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from timbel.integrations.base import Message

LANGUAGES = ("ko", "en")
FIELD_LIMIT = 300
MISSING = "-"


@dataclass(frozen=True)
class Template:
    """An event's severity and its title/body per language."""

    severity: str
    title: Mapping[str, str]
    body: Mapping[str, str]


def _t(severity: str, ko: tuple[str, str], en: tuple[str, str]) -> Template:
    return Template(severity, {"ko": ko[0], "en": en[0]}, {"ko": ko[1], "en": en[1]})


TEMPLATES: dict[str, Template] = {
    "pipeline.started": _t(
        "info",
        (
            "[{system}] 파이프라인 시작: {pipeline} #{run}",
            "브랜치 {branch}, 트리거 {trigger}, 실행자 {actor}",
        ),
        ("[{system}] Pipeline started: {pipeline} #{run}", "Branch {branch}, trigger {trigger}, by {actor}"),
    ),
    "pipeline.succeeded": _t(
        "success",
        ("[{system}] 파이프라인 성공: {pipeline} #{run}", "브랜치 {branch}, 커밋 {commit}, 소요 {duration}"),
        (
            "[{system}] Pipeline succeeded: {pipeline} #{run}",
            "Branch {branch}, commit {commit}, took {duration}",
        ),
    ),
    "pipeline.failed": _t(
        "failure",
        (
            "[{system}] 파이프라인 실패: {pipeline} #{run}",
            "브랜치 {branch}, 커밋 {commit}\n실패 단계: {stage}",
        ),
        (
            "[{system}] Pipeline failed: {pipeline} #{run}",
            "Branch {branch}, commit {commit}\nFailed stage: {stage}",
        ),
    ),
    "deployment.succeeded": _t(
        "success",
        ("[{system}] {env} 배포 완료: {version}", "{env} 환경에 {version} 버전이 배포되었습니다."),
        ("[{system}] Deployed to {env}: {version}", "Version {version} is live in {env}."),
    ),
    "deployment.failed": _t(
        "failure",
        ("[{system}] {env} 배포 실패: {version}", "{env} 환경 배포가 실패했습니다.\n원인: {reason}"),
        (
            "[{system}] Deployment to {env} failed: {version}",
            "The deployment to {env} failed.\nReason: {reason}",
        ),
    ),
    "deployment.rolled_back": _t(
        "warning",
        (
            "[{system}] {env} 롤백: {version}",
            "{env} 환경이 {version} 버전으로 롤백되었습니다.\n원인: {reason}",
        ),
        ("[{system}] {env} rolled back: {version}", "{env} was rolled back to {version}.\nReason: {reason}"),
    ),
    "approval.requested": _t(
        "info",
        ("[{system}] {env} 배포 승인 요청: {version}", "{requester} 님이 {env} 배포 승인을 요청했습니다."),
        (
            "[{system}] Approval requested for {env}: {version}",
            "{requester} asks to approve the {env} deployment.",
        ),
    ),
    "approval.approved": _t(
        "success",
        ("[{system}] {env} 배포 승인됨: {version}", "{approver} 님이 {env} 배포를 승인했습니다."),
        ("[{system}] {env} deployment approved: {version}", "{approver} approved the {env} deployment."),
    ),
    "approval.rejected": _t(
        "warning",
        (
            "[{system}] {env} 배포 반려됨: {version}",
            "{approver} 님이 {env} 배포를 반려했습니다.\n사유: {reason}",
        ),
        (
            "[{system}] {env} deployment rejected: {version}",
            "{approver} rejected the {env} deployment.\nReason: {reason}",
        ),
    ),
    "alert.firing": _t(
        "failure",
        ("[{system}] 경보 발생: {alert}", "심각도 {severity}\n{summary}"),
        ("[{system}] Alert firing: {alert}", "Severity {severity}\n{summary}"),
    ),
    "alert.resolved": _t(
        "success",
        ("[{system}] 경보 해소: {alert}", "{summary}"),
        ("[{system}] Alert resolved: {alert}", "{summary}"),
    ),
}
EVENTS = tuple(TEMPLATES)
ALERT_SEVERITIES = {"critical": "failure", "error": "failure", "warning": "warning", "info": "info"}
LINK_LABEL = {"ko": "자세히 보기", "en": "Details"}


class _Fields(dict[str, str]):
    """Template fields: a missing name renders as "-"."""

    def __missing__(self, key: str) -> str:
        return MISSING


def _clean(value: Any) -> str:
    """One line of printable text, at most ``FIELD_LIMIT`` characters."""
    text = " ".join(str(value).split()) if value is not None else ""
    text = "".join(ch for ch in text if ch.isprintable())
    return (text[: FIELD_LIMIT - 1] + "…") if len(text) > FIELD_LIMIT else (text or MISSING)


def severity_of(event: str, data: Mapping[str, Any]) -> str:
    """The severity of an event (a firing alert takes its own ``severity`` label into account)."""
    template = TEMPLATES[event]
    if event == "alert.firing":
        return ALERT_SEVERITIES.get(str(data.get("severity", "")).lower(), template.severity)
    return template.severity


def render(event: str, data: Mapping[str, Any], *, language: str) -> Message:
    """The event's message in ``language`` (ko or en) with ``data`` filled in; a ``url`` adds a link line."""
    if event not in TEMPLATES:
        raise KeyError(f"unknown notification event {event!r}; known: {', '.join(EVENTS)}")
    lang = language if language in LANGUAGES else "ko"
    template = TEMPLATES[event]
    fields = _Fields({str(k): _clean(v) for k, v in data.items()})
    formatter = string.Formatter()
    title = formatter.vformat(template.title[lang], (), fields)
    body = formatter.vformat(template.body[lang], (), fields)
    if data.get("url"):
        body += f"\n{LINK_LABEL[lang]}: {fields['url']}"
    return Message(title=title[:500], body=body, severity=severity_of(event, data))
