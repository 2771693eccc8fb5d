"""Settings of one notification channel; the apprise URL carries tokens, so it is the secret ``url``.

``base_url`` is display-only (a link for people, e.g. https://hooks.slack.com); nothing is ever sent there.
``ChannelOptions`` is the non-secret part (stored as the instance's options), read without decrypting
anything when the service picks the channels for an event.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

EVENT_CATEGORIES = ("pipeline", "deployment", "approval", "alert")
SEVERITY_RANK = {"info": 0, "success": 0, "warning": 1, "failure": 2}

LanguageOption = Annotated[
    Literal["ko", "en"], Field(default="ko", description="Language of the messages: ko or en")
]
EventsOption = Annotated[
    list[str],
    Field(
        default_factory=lambda: list(EVENT_CATEGORIES),
        description="Event types this channel receives: pipeline, deployment, approval, alert",
    ),
]
SeverityOption = Annotated[
    Literal["info", "warning", "failure"],
    Field(default="info", description="Least severity delivered (info < warning < failure)"),
]
TimeoutOption = Annotated[
    float, Field(default=10.0, gt=0, le=120, description="Connect and read timeout (s)")
]


def _check_events(value: list[str]) -> list[str]:
    """Known event types only, each once."""
    unknown = sorted(set(value) - set(EVENT_CATEGORIES))
    if unknown:
        raise ValueError(f"unknown event types {unknown}; choose from {list(EVENT_CATEGORIES)}")
    return list(dict.fromkeys(value))


def _wants(events: list[str], min_severity: str, *, event: str, severity: str) -> bool:
    category = event.split(".", 1)[0]
    return category in events and SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[min_severity]


class ChannelOptions(BaseModel):
    """The non-secret choices of a channel (its stored options): language, events, least severity."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    language: LanguageOption
    events: EventsOption
    min_severity: SeverityOption
    timeout_seconds: TimeoutOption

    _events = field_validator("events")(_check_events)

    def wants(self, *, event: str, severity: str) -> bool:
        """True when this channel subscribes to the event's type and the severity reaches the minimum."""
        return _wants(self.events, self.min_severity, event=event, severity=severity)


class NotifyConfig(BaseModel):
    """Where a channel delivers (an apprise URL, secret), in which language, and which events it gets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200, description="Channel name used in every message")
    base_url: str = Field(
        description="Display-only link for people (e.g. https://hooks.slack.com or the webmail); "
        "never used to send and never holds credentials"
    )
    url: SecretStr = Field(
        description="Apprise URL the channel sends to (slack://…, mailto://…, json://…); "
        "secret because it carries tokens and passwords"
    )
    language: LanguageOption
    events: EventsOption
    min_severity: SeverityOption
    timeout_seconds: TimeoutOption

    _events = field_validator("events")(_check_events)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        """Accept an http(s) link without credentials, query or fragment."""
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http:// or https:// URL with a host")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("base_url is display-only: no credentials, query or fragment (use url)")
        return value.strip().rstrip("/")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: SecretStr) -> SecretStr:
        """Require ``scheme://…`` (whether apprise knows the scheme is checked by test_connection)."""
        scheme, sep, rest = value.get_secret_value().strip().partition("://")
        if not sep or not scheme or not rest:
            raise ValueError("url must be an apprise URL like slack://…, mailto://… or json://…")
        return SecretStr(value.get_secret_value().strip())

    def wants(self, *, event: str, severity: str) -> bool:
        """True when this channel subscribes to the event's type and the severity reaches the minimum."""
        return _wants(self.events, self.min_severity, event=event, severity=severity)
