"""Notify channels about events: render per channel language, log one delivery per channel, deliver.

Why the database drives retries: a delivery row is the source of truth (convention 9). ``notify`` writes
pending rows and wakes ``notifications.deliver`` after commit; a delivery is claimed atomically (pending →
sending), sent outside any transaction, then recorded as sent, failed, or pending again with an exponential
``next_attempt_at``. The periodic reconcile re-enqueues due retries and rows a dead worker left in sending,
so retries survive restarts and a message is never sent twice by two workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.core.db import after_commit, session_scope, utcnow
from timbel.core.errors import IntegrationError, InvalidTransition, NotFound, ValidationFailed
from timbel.core.settings import Settings
from timbel.integrations import service as integrations_service
from timbel.integrations.base import Check, ConnectionReport, IntegrationKind, Message
from timbel.integrations.models import Integration
from timbel.integrations.notify.adapter import secret_parts
from timbel.integrations.notify.config import ChannelOptions
from timbel.integrations.registry_of_adapters import InstanceConfig, NoAdapter, build_adapter
from timbel.notifications import templates
from timbel.notifications.models import TRANSITIONS, DeliveryState, NotificationDelivery

DELIVER_JOB = "notifications.deliver"
MAX_ATTEMPTS = 3
BACKOFF_SECONDS = 30  # after the 1st failure; doubles after each further one
STUCK_AFTER = timedelta(minutes=10)  # a row "sending" this long lost its worker
FRESH_GRACE = timedelta(seconds=60)  # new rows are woken by notify(); reconcile leaves them alone meanwhile
RECONCILE_BATCH = 200
ERROR_LIMIT = 2000
Enqueue = Callable[..., str]


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries a list shows."""

    state: str | None = None
    event: str | None = None
    integration_id: str | None = None
    domain_id: str | None = None


def options_of(row: Integration) -> ChannelOptions | None:
    """A channel's language/events/least severity, or None when its stored options are invalid."""
    try:
        return ChannelOptions.model_validate(dict(row.options or {}))
    except ValidationError:
        return None


def channels_for(session: Session, *, event: str, severity: str, domain_id: str | None) -> list[Integration]:
    """The notify channels (global, and those of ``domain_id``) subscribed to the event at this severity."""
    scope: ColumnElement[bool] = Integration.domain_id.is_(None)
    if domain_id is not None:
        scope = or_(scope, Integration.domain_id == domain_id)
    rows = session.scalars(
        select(Integration)
        .where(Integration.kind == IntegrationKind.notify.value, scope)
        .order_by(Integration.name)
    )
    return [r for r in rows if (o := options_of(r)) is not None and o.wants(event=event, severity=severity)]


def notify(
    session: Session,
    *,
    event: str,
    data: dict[str, Any],
    enqueue: Enqueue,
    domain_id: str | None = None,
    dedup_key: str | None = None,
) -> list[NotificationDelivery]:
    """Log one pending delivery per subscribed channel and wake the sender after commit.

    ``dedup_key`` (e.g. ``deployment:<id>:failed``) makes a repeated call a no-op for channels that already
    have it.
    """
    if event not in templates.TEMPLATES:
        raise ValidationFailed(f"Unknown notification event {event!r}.")
    severity = templates.severity_of(event, data)
    created: list[NotificationDelivery] = []
    for channel in channels_for(session, event=event, severity=severity, domain_id=domain_id):
        if dedup_key is not None and session.scalar(
            select(NotificationDelivery.id).where(
                NotificationDelivery.integration_id == channel.id, NotificationDelivery.dedup_key == dedup_key
            )
        ):
            continue
        options = options_of(channel)
        language = options.language if options is not None else "ko"
        message = templates.render(event, data, language=language)
        row = NotificationDelivery(
            event=event, integration_id=channel.id, channel_name=channel.name, domain_id=domain_id,
            language=language, severity=message.severity, title=message.title, body=message.body,
            state=DeliveryState.pending.value, attempts=0, last_error="", dedup_key=dedup_key,
            next_attempt_at=utcnow(),
        )  # fmt: skip
        session.add(row)
        created.append(row)
    session.flush()
    for row in created:
        after_commit(session, _waker(enqueue, row.id))
    return created


def _waker(enqueue: Enqueue, delivery_id: str) -> Callable[[], object]:
    return lambda: enqueue(DELIVER_JOB, delivery_id=delivery_id)


def set_state(row: NotificationDelivery, to: DeliveryState) -> None:
    """Move a delivery to ``to`` if the transition table allows it."""
    current = DeliveryState(row.state)
    if to not in TRANSITIONS[current]:
        raise InvalidTransition(f"A {current.value} delivery cannot become {to.value}.")
    row.state = to.value


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    return timedelta(seconds=BACKOFF_SECONDS * 2 ** max(0, attempts - 1))


def _claim(session: Session, *, delivery_id: str, now: datetime) -> bool:
    """Atomically take a due pending delivery (pending → sending, one more attempt); False if not ours."""
    result = session.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.id == delivery_id,
            NotificationDelivery.state == DeliveryState.pending.value,
            or_(NotificationDelivery.next_attempt_at.is_(None), NotificationDelivery.next_attempt_at <= now),
        )
        .values(state=DeliveryState.sending.value, claimed_at=now, attempts=NotificationDelivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def _channel_config(
    session: Session, *, settings: Settings, row: NotificationDelivery
) -> InstanceConfig | str:
    """The channel's decrypted config, or why it cannot be used (a permanent failure)."""
    channel = session.get(Integration, row.integration_id) if row.integration_id else None
    if channel is None:
        return f"channel '{row.channel_name}' no longer exists"
    config = integrations_service.config_or_report(channel, settings=settings)
    if isinstance(config, ConnectionReport):
        return "; ".join(c.detail for c in config.checks)
    return config


def _send(config: InstanceConfig, message: Message) -> tuple[str | None, bool]:
    """Send through the channel's adapter; return (error or None, whether the error is permanent)."""
    try:
        adapter = build_adapter(config)
        send = getattr(adapter, "send", None)
        if send is None:
            return f"{config.name}: the {config.kind.value} adapter cannot send messages", True
        send(message)
    except NoAdapter:
        return f"{config.name}: no adapter for kind {config.kind.value}", True
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        return f"{config.name}: invalid configuration ({fields})", True
    except IntegrationError as exc:
        return exc.detail, False
    except Exception as exc:  # a broken plugin must not kill the worker; never echo its text (may hold URLs)
        return f"{config.name}: unexpected failure ({type(exc).__name__})", False
    return None, False


def secret_free(text: str, config: InstanceConfig | None) -> str:
    """Mask the channel's secrets (and every part of its apprise URL) in a text."""
    if config is None:
        return text[:ERROR_LIMIT]
    values = list(config.secrets.values())
    parts = [p for value in values for p in secret_parts(value)]
    return integrations_service.scrub(text, [*values, *parts])[:ERROR_LIMIT]


def deliver(
    *,
    session_factory: sessionmaker[Session],
    settings: Settings,
    delivery_id: str,
    now: datetime | None = None,
) -> str:
    """Send one due delivery and record the outcome: sent, retry (pending again), failed, or skipped."""
    now = now or utcnow()
    with session_scope(session_factory) as session:
        if not _claim(session, delivery_id=delivery_id, now=now):
            return "skipped"
        row = session.get(NotificationDelivery, delivery_id)
        assert row is not None
        config = _channel_config(session, settings=settings, row=row)
        message = Message(title=row.title, body=row.body, severity=row.severity)
    error: str | None
    instance: InstanceConfig | None
    if isinstance(config, str):
        error, permanent, instance = config, True, None
    else:
        (error, permanent), instance = _send(config, message), config
    with session_scope(session_factory) as session:
        row = session.get(NotificationDelivery, delivery_id)
        if row is None:
            return "skipped"
        if row.state != DeliveryState.sending.value:  # reconcile released a very slow claim meanwhile
            if error is None and row.state == DeliveryState.pending.value:
                set_state(row, DeliveryState.sent)
                row.sent_at, row.last_error, row.next_attempt_at = now, "", None
            return "late"
        return _record(row, error=None if error is None else secret_free(error, instance),
                       permanent=permanent, now=now)  # fmt: skip


def _record(row: NotificationDelivery, *, error: str | None, permanent: bool, now: datetime) -> str:
    if error is None:
        set_state(row, DeliveryState.sent)
        row.sent_at, row.last_error, row.next_attempt_at = now, "", None
        return "sent"
    row.last_error = f"attempt {row.attempts}/{MAX_ATTEMPTS}: {error}"[:ERROR_LIMIT]
    if permanent or row.attempts >= MAX_ATTEMPTS:
        set_state(row, DeliveryState.failed)
        row.next_attempt_at = None
        return "failed"
    set_state(row, DeliveryState.pending)
    row.next_attempt_at = now + backoff(row.attempts)
    return "retry"


def reconcile(session: Session, *, now: datetime | None = None) -> list[str]:
    """Release deliveries stuck in sending and return the ids of pending deliveries due for an attempt."""
    now = now or utcnow()
    stuck = session.scalars(
        select(NotificationDelivery)
        .where(
            NotificationDelivery.state == DeliveryState.sending.value,
            NotificationDelivery.claimed_at <= now - STUCK_AFTER,
        )
        .limit(RECONCILE_BATCH)
    )
    for row in stuck:
        _record(row, error="the sender stopped before recording the outcome", permanent=False, now=now)
    session.flush()
    due = select(NotificationDelivery.id).where(
        NotificationDelivery.state == DeliveryState.pending.value,
        or_(NotificationDelivery.next_attempt_at.is_(None), NotificationDelivery.next_attempt_at <= now),
        or_(NotificationDelivery.attempts > 0, NotificationDelivery.created_at <= now - FRESH_GRACE),
    )
    return list(session.scalars(due.order_by(NotificationDelivery.created_at).limit(RECONCILE_BATCH)))


def _filtered(query: Any, flt: DeliveryFilter) -> Any:
    for column, value in (
        (NotificationDelivery.state, flt.state),
        (NotificationDelivery.event, flt.event),
        (NotificationDelivery.integration_id, flt.integration_id),
        (NotificationDelivery.domain_id, flt.domain_id),
    ):
        if value:
            query = query.where(column == value)
    return query


def list_deliveries(
    session: Session, *, flt: DeliveryFilter, page: int, per_page: int
) -> tuple[Sequence[NotificationDelivery], int]:
    """One page of matching deliveries, newest first, and the total count."""
    total = session.scalar(_filtered(select(func.count(NotificationDelivery.id)), flt)) or 0
    rows = session.scalars(
        _filtered(select(NotificationDelivery), flt)
        .order_by(NotificationDelivery.created_at.desc(), NotificationDelivery.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return rows, int(total)


def send_test(
    session: Session, *, settings: Settings, integration_id: str, ctx: AuditContext
) -> ConnectionReport:
    """Check a notify channel and send it a test message now (in its language); audit the outcome."""
    row = integrations_service.get_or_raise(session, integration_id=integration_id)
    if row.kind != IntegrationKind.notify.value:
        raise NotFound("No such notification channel.")
    config = integrations_service.config_or_report(row, settings=settings)
    report = config if isinstance(config, ConnectionReport) else _test_report(config)
    audit_service.record(
        session, ctx=ctx, action="notification.test", target_type="integration", target_id=row.id,
        summary=f"sent a test notification to {row.name}: {'ok' if report.ok else 'failing'}",
        changes={"checks": [{"name": c.name, "ok": c.ok} for c in report.checks]},
        outcome="success" if report.ok else "failure",
    )  # fmt: skip
    return report


def _test_report(config: InstanceConfig) -> ConnectionReport:
    """Run the adapter's check with a real test message; every detail is scrubbed of secrets."""
    try:
        adapter = build_adapter(config)  # NoAdapter (501) propagates
        report: ConnectionReport = adapter.test_connection(send_test=True)  # type: ignore[call-arg]
    except ValidationError:
        report = integrations_service.run_check(config)  # reports which fields are invalid
    except IntegrationError as exc:
        report = ConnectionReport(checks=[Check("delivery", False, exc.detail)])
    except Exception as exc:  # a broken plugin must not crash the request; its text may hold the URL
        report = ConnectionReport(checks=[Check("delivery", False, f"{config.name}: {type(exc).__name__}")])
    return ConnectionReport(
        checks=[Check(c.name, c.ok, secret_free(c.detail, config)) for c in report.checks],
        version=report.version,
    )
