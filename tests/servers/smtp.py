"""An in-process SMTP sink for tests: aiosmtpd on a free loopback port, recording every message it accepts.

Why in-process: there is no SMTP binary to run here, and aiosmtpd speaks real SMTP over a real socket, so
apprise's ``mailto://`` plugin (``smtplib``) is exercised end to end. ``fail_with`` makes it refuse mail.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from . import LOOPBACK, free_port


@dataclass(frozen=True)
class ReceivedMail:
    """One accepted message: envelope sender, recipients, and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        """The decoded Subject header."""
        return str(self.message["Subject"] or "")

    def text(self) -> str:
        """The decoded text/plain (or first) body part."""
        part = self.message.get_body(preferencelist=("plain", "html"))
        return str((part or self.message).get_content())


@dataclass
class SinkHandler:
    """aiosmtpd handler: keep each message, or answer ``fail_with`` (e.g. "554 refused") to DATA."""

    messages: list[ReceivedMail] = field(default_factory=list)
    fail_with: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
        """Record the message (or refuse it)."""
        if self.fail_with:
            return self.fail_with
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append(ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class SmtpSink:
    """A running sink: host, port and what it received."""

    host: str
    port: int
    handler: SinkHandler

    @property
    def messages(self) -> list[ReceivedMail]:
        """The accepted messages, in order."""
        return list(self.handler.messages)


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    """Run a plain (no TLS, no AUTH) SMTP sink on 127.0.0.1 until the block ends."""
    handler = SinkHandler()
    port = free_port()
    controller = Controller(handler, hostname=LOOPBACK, port=port, decode_data=False)
    controller.start()
    try:
        yield SmtpSink(LOOPBACK, port, handler)
    finally:
        controller.stop()
