"""The notification adapter: ``base.Notifier`` on top of apprise (Slack, e-mail, JSON webhooks, Teams, …).

Why apprise: one URL per channel covers every messaging service an admin may choose, and Timbel keeps one
code path. The apprise URL carries tokens and passwords, so it is the channel's secret; every message this
adapter produces (errors, checks, the channel description) masks its secret parts. apprise speaks HTTP
through ``requests`` and SMTP through ``smtplib``, so there is no httpx transport to inject here; the
per-instance circuit breaker still guards every send.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import apprise

from timbel.core.errors import IntegrationError
from timbel.integrations.base import Check, ConnectionReport, IntegrationKind, Message
from timbel.integrations.http import CircuitBreaker, breaker_for
from timbel.integrations.registry_of_adapters import InstanceConfig

from .config import NotifyConfig

MASK = "***"
SEVERITY_TO_TYPE = {
    "info": apprise.NotifyType.INFO,
    "success": apprise.NotifyType.SUCCESS,
    "warning": apprise.NotifyType.WARNING,
    "failure": apprise.NotifyType.FAILURE,
}
TEST_MESSAGES = {
    "ko": Message(title="Timbel 테스트 알림", body="이 채널은 Timbel 알림을 받을 수 있습니다."),
    "en": Message(title="Timbel test notification", body="This channel can receive Timbel notifications."),
}
_REASON_LIMIT = 500
_SPLIT = re.compile(r"[/:@?&=#,+\s]+")


class NotificationFailed(IntegrationError):
    """A channel did not accept a message; the message names the channel and the reason, never a secret."""

    code = "notification-failed"
    title = "Notification not delivered"


class NotifyAdapter:
    """Deliver messages to one channel (one apprise URL)."""

    kind = IntegrationKind.notify

    def __init__(
        self,
        config: NotifyConfig,
        *,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.breaker = breaker
        self.sleep = sleep  # kept for the common adapter shape; apprise itself is told not to retry
        self._secrets = secret_parts(config.url.get_secret_value())

    @property
    def scheme(self) -> str:
        """The apprise scheme of the channel (``slack``, ``mailto``, ``json``, …)."""
        return self.config.url.get_secret_value().partition("://")[0].lower()

    def describe(self) -> str:
        """The channel URL with its secrets masked (apprise's privacy view), for people."""
        plugin = apprise.Apprise.instantiate(self.config.url.get_secret_value())
        shown = plugin.url(privacy=True) if plugin else f"{self.scheme}://{MASK}"  # type: ignore[no-untyped-call]
        return self.scrub(str(shown))

    def send(self, message: Message) -> None:
        """Deliver one message; raise NotificationFailed (or IntegrationUnavailable: breaker open)."""
        if self.breaker is not None:
            self.breaker.before_call()
        try:
            self._deliver(message)
        except IntegrationError:
            if self.breaker is not None:
                self.breaker.record_failure()
            raise
        if self.breaker is not None:
            self.breaker.record_success()

    def test_connection(self, *, send_test: bool = False) -> ConnectionReport:
        """Check the URL's scheme and syntax; send a test message only when ``send_test`` is true."""
        name = self.config.name
        if self.scheme not in known_schemes():
            detail = f"{name}: apprise does not know the scheme '{self.scheme}://'"
            return ConnectionReport(checks=[Check("scheme", False, detail)])
        checks = [Check("scheme", True, f"{self.scheme}:// is supported")]
        try:
            self._plugin()
        except NotificationFailed as exc:
            return ConnectionReport(checks=[*checks, Check("url", False, exc.detail)])
        checks.append(Check("url", True, f"{name}: {self.describe()}"))
        if send_test:
            try:
                self.send(TEST_MESSAGES[self.config.language])
            except IntegrationError as exc:
                checks.append(Check("delivery", False, self.scrub(exc.detail)))
            else:
                checks.append(Check("delivery", True, f"{name}: test message accepted"))
        return ConnectionReport(checks=checks)

    def scrub(self, text: str) -> str:
        """Mask every secret part of the channel URL in a text."""
        for value in self._secrets:
            text = text.replace(value, MASK)
        return text

    def _plugin(self) -> Any:
        plugin = apprise.Apprise.instantiate(self.config.url.get_secret_value(), suppress_exceptions=True)
        if not plugin:
            raise NotificationFailed(
                f"notification channel '{self.config.name}': apprise cannot use this {self.scheme}:// URL "
                "(missing or malformed parts; see the apprise documentation of the service)"
            )
        plugin.socket_connect_timeout = self.config.timeout_seconds
        plugin.socket_read_timeout = self.config.timeout_seconds
        return plugin

    def _deliver(self, message: Message) -> None:
        channel = apprise.Apprise()
        channel.add(self._plugin())
        result = channel.notify(
            body=message.body,
            title=message.title,
            notify_type=SEVERITY_TO_TYPE.get(message.severity, apprise.NotifyType.INFO),
            body_format=apprise.NotifyFormat.TEXT,
            interpret_escapes=False,
        )
        if not result:
            reason = self.scrub(_reason(result))[:_REASON_LIMIT]
            raise NotificationFailed(f"notification channel '{self.config.name}' did not accept the message: "
                                     f"{reason}")  # fmt: skip


def _reason(result: Any) -> str:
    """The last warning or error apprise logged for this call, or a generic reason."""
    lines = [
        " ".join(str(entry.message).split())
        for entry in getattr(result, "logs", lambda: [])()
        if str(getattr(entry, "level", "")).upper() in ("WARNING", "ERROR", "CRITICAL")
    ]
    return lines[-1] if lines else "the service refused it or could not be reached"


def secret_parts(url: str) -> list[str]:
    """The parts of an apprise URL to mask: the whole URL, its user info, path and query values.

    The scheme, host and port stay readable so errors still say where a message was going.
    """
    parts = urlsplit(url)
    keep = {parts.scheme.lower(), (parts.hostname or "").lower(), str(_port(parts.netloc))}
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    pieces: set[str] = {url}
    for chunk in (userinfo, parts.path, parts.query, parts.fragment):
        for piece in _SPLIT.split(chunk):
            for value in (piece, unquote(piece)):
                if len(value) >= 4 and value.lower() not in keep and not _harmless(value):
                    pieces.add(value)
    return sorted(pieces, key=len, reverse=True)


def _harmless(value: str) -> bool:
    """Query keys and flags apprise uses (``mode``, ``insecure``, ``to``…) are not secret."""
    return value.lower() in {"mode", "insecure", "from", "format", "text", "true", "false", "post", "json",
                             "services", "hooks", "webhook", "yes", "starttls", "method"}  # fmt: skip


def _port(netloc: str) -> int | str:
    host = netloc.rpartition("@")[2]
    _, sep, port = host.rpartition(":")
    return port if sep and port.isdigit() else ""


def known_schemes() -> frozenset[str]:
    """Every scheme apprise (as installed) can send to."""
    manager = apprise.NotificationManager()  # type: ignore[no-untyped-call]
    return frozenset(str(s).lower() for s in manager.schemas())  # type: ignore[no-untyped-call]


def from_instance(c: InstanceConfig) -> NotifyAdapter:
    """Build the adapter of a stored ``notify`` instance (its breaker is per instance)."""
    config = NotifyConfig.model_validate(c.config_data())
    return NotifyAdapter(config, breaker=breaker_for(c.id, name=c.name))
