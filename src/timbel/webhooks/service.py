"""Deliveries as stored work: store once, move through the state machine, reconcile, read, redeliver.

The receive path is one INSERT on a plain connection (no ORM unit of work): the unique index on
(source, delivery id) decides which of two concurrent copies wins, the loser sees IntegrityError and is
answered as a duplicate. Everything else follows the analysis pattern (``set_state`` with history rows;
jobs are queued after commit).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, Select, Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.core.db import after_commit, new_id, utcnow
from timbel.core.errors import InvalidTransition, NotFound
from timbel.core.pagination import PageParams, fetch_page
from timbel.core.states import Transition, set_state
from timbel.webhooks.models import DELIVERY_MACHINE, DeliveryState, WebhookDelivery, WebhookStateChange

PROCESS_JOB = "webhooks.process"
PROCESS_MANY_JOB = "webhooks.process_many"
MAX_ATTEMPTS = 3
REQUEUE_SECONDS = 60  # a received delivery nobody started for this long lost its message
STALE_SECONDS = 120  # a delivery processing for this long lost its worker
ERROR_LIMIT = 2000
Enqueue = Callable[..., str]
_TABLE: Table = WebhookDelivery.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Received:
    """What storing a delivery did: the row id, whether it was a duplicate, the row's state."""

    id: str
    duplicate: bool
    state: str


def _row(
    *,
    source: str,
    delivery_id: str,
    event: str,
    integration_id: str | None,
    headers: Mapping[str, str],
    payload: bytes,
    processed: bool = False,
) -> dict[str, Any]:
    now = utcnow()
    state = DeliveryState.processed if processed else DeliveryState.received
    return {
        "id": new_id(), "source": source, "delivery_id": delivery_id, "event": event,
        "integration_id": integration_id, "headers": dict(headers), "payload": payload,
        "state": state.value, "attempts": 0, "enqueues": 0 if processed else 1, "last_error": "",
        "repository": "", "branch": "", "sha": "", "system_ids": [],
        "received_at": now, "enqueued_at": now, "finished_at": now if processed else None,
    }  # fmt: skip


def _insert_once(connection: Connection, values: dict[str, Any]) -> Received:
    """INSERT … ON CONFLICT DO NOTHING; a conflict answers with the stored row (a duplicate)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(_TABLE)
        .on_conflict_do_nothing(index_elements=["source", "delivery_id"])
        .returning(_TABLE.c.id)  # rowcount is not reliable here (psycopg answers -1)
    )
    if connection.execute(stmt, values).scalar() is not None:
        return Received(values["id"], False, values["state"])
    found = connection.execute(
        select(_TABLE.c.id, _TABLE.c.state).where(
            _TABLE.c.source == values["source"], _TABLE.c.delivery_id == values["delivery_id"]
        )
    ).one()
    return Received(found.id, True, found.state)


def receive_many(*, engine: Engine, items: list[dict[str, Any]]) -> list[Received]:
    """Insert deliveries in one transaction, each at most once per (source, delivery id); committed.

    ``items`` hold the keyword arguments of :func:`receive`. Copies of a stored delivery, also within the
    batch, come back as duplicates. Race-safe: the unique index decides between concurrent writers.
    """
    if engine.dialect.name not in ("sqlite", "postgresql"):
        return [receive(engine=engine, **item) for item in items]
    with engine.begin() as connection:
        return [_insert_once(connection, _row(**item)) for item in items]


def receive(
    *,
    engine: Engine,
    source: str,
    delivery_id: str,
    event: str,
    integration_id: str | None,
    headers: Mapping[str, str],
    payload: bytes,
    processed: bool = False,
) -> Received:
    """Insert one delivery (committed); a copy of a stored (source, delivery id) is a duplicate."""
    values = _row(
        source=source, delivery_id=delivery_id, event=event, integration_id=integration_id,
        headers=headers, payload=payload, processed=processed,
    )  # fmt: skip
    try:
        with engine.begin() as connection:
            connection.execute(insert(_TABLE), values)
    except IntegrityError:
        with engine.connect() as connection:
            found = connection.execute(
                select(_TABLE.c.id, _TABLE.c.state).where(
                    _TABLE.c.source == source, _TABLE.c.delivery_id == delivery_id
                )
            ).first()
        if found is None:  # not a duplicate after all (e.g. the instance vanished meanwhile)
            raise
        return Received(found.id, True, found.state)
    return Received(values["id"], False, values["state"])


def transition(
    session: Session,
    *,
    delivery_id: str,
    to: DeliveryState,
    reason: str = "",
    actor_id: str | None = None,
    values: Mapping[str, Any] | None = None,
) -> Transition:
    """Change a delivery's state through its machine, with a history row."""
    return set_state(
        session,
        machine=DELIVERY_MACHINE,
        model=WebhookDelivery,
        row_id=delivery_id,
        to=to,
        values=values,
        history=lambda old, new: WebhookStateChange(
            delivery_id=delivery_id, from_state=old, to_state=new, reason=reason[:500], actor_id=actor_id
        ),
    )


def begin(session: Session, *, delivery_id: str) -> Transition:
    """Mark a received delivery processing (a second message for the same delivery is refused)."""
    attempts = (
        session.scalar(select(WebhookDelivery.attempts).where(WebhookDelivery.id == delivery_id)) or 0
    ) + 1
    return transition(
        session,
        delivery_id=delivery_id,
        to=DeliveryState.processing,
        reason=f"attempt {attempts}",
        values={"attempts": attempts, "started_at": utcnow()},
    )


def waiting(session: Session, *, limit: int, exclude: list[str] | None = None) -> list[str]:
    """Ids of deliveries waiting in received, oldest hand-off first (at most ``limit``)."""
    if limit <= 0:
        return []
    query = select(WebhookDelivery.id).where(WebhookDelivery.state == DeliveryState.received.value)
    if exclude:
        query = query.where(WebhookDelivery.id.not_in(exclude))
    return list(session.scalars(query.order_by(WebhookDelivery.enqueued_at).limit(limit)))


def begin_many(session: Session, *, delivery_ids: list[str]) -> list[str]:
    """Mark received deliveries processing in one statement (compare-and-set); return those it moved.

    The bulk form of :func:`begin` for a batch: the same transition of ``DELIVERY_MACHINE`` (checked
    here), the same ``WHERE state = 'received'`` guard, one history row per moved delivery.
    """
    old, new = DeliveryState.received, DeliveryState.processing
    assert DELIVERY_MACHINE.allows(old, new)
    if not delivery_ids:
        return []
    now = utcnow()
    moved = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(delivery_ids), WebhookDelivery.state == old.value)
        .values(state=new.value, attempts=WebhookDelivery.attempts + 1, started_at=now)
        .returning(WebhookDelivery.id, WebhookDelivery.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    _add_history(session, [(row_id, old, new, f"attempt {attempts}") for row_id, attempts in moved], at=now)
    ids = {row_id for row_id, _ in moved}
    return [row_id for row_id in delivery_ids if row_id in ids]  # in the caller's (arrival) order


def finish_many(session: Session, *, values: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Mark processing deliveries processed with what processing found (``{row id: values}``)."""
    old, new = DeliveryState.processing, DeliveryState.processed
    assert DELIVERY_MACHINE.allows(old, new)
    now = utcnow()
    done: list[str] = []
    for row_id, found in values.items():
        result = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == row_id, WebhookDelivery.state == old.value)
            .values(state=new.value, finished_at=now, last_error="", **dict(found))
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:
            done.append(row_id)
    _add_history(session, [(row_id, old, new, "") for row_id in done], at=now)
    return done


def _add_history(
    session: Session, changes: list[tuple[str, DeliveryState, DeliveryState, str]], *, at: datetime
) -> None:
    if changes:
        session.execute(
            insert(WebhookStateChange),
            [
                {"id": new_id(), "delivery_id": row_id, "from_state": old.value, "to_state": new.value,
                 "reason": reason, "actor_id": None, "at": at}
                for row_id, old, new, reason in changes
            ],
        )  # fmt: skip


def finish(session: Session, *, delivery_id: str, values: Mapping[str, Any] | None = None) -> Transition:
    """Mark a processing delivery processed, storing what processing found."""
    return transition(
        session,
        delivery_id=delivery_id,
        to=DeliveryState.processed,
        values={**dict(values or {}), "finished_at": utcnow(), "last_error": ""},
    )


def fail(session: Session, *, delivery_id: str, message: str) -> Transition:
    """Mark a delivery failed with a one-sentence reason."""
    return transition(
        session,
        delivery_id=delivery_id,
        to=DeliveryState.failed,
        reason=message,
        values={"last_error": message[:ERROR_LIMIT], "finished_at": utcnow()},
    )


def reconcile(
    session: Session,
    *,
    enqueue: Enqueue,
    now: datetime | None = None,
    requeue_seconds: int = REQUEUE_SECONDS,
    stale_seconds: int = STALE_SECONDS,
    max_attempts: int = MAX_ATTEMPTS,
) -> dict[str, int]:
    """Queue again deliveries whose message or worker was lost; fail those queued ``max_attempts`` times."""
    now = now or utcnow()
    counts = {"requeued": 0, "woken": 0, "failed": 0}
    stale = select(WebhookDelivery.id, WebhookDelivery.enqueues).where(
        WebhookDelivery.state == DeliveryState.processing.value,
        WebhookDelivery.started_at < now - timedelta(seconds=stale_seconds),
    )
    for row_id, enqueues in session.execute(stale).all():
        if enqueues >= max_attempts:
            message = f"Processing stopped without finishing; gave up after {enqueues} attempts."
            counts["failed"] += fail(session, delivery_id=row_id, message=message).accepted
            continue
        moved = transition(
            session,
            delivery_id=row_id,
            to=DeliveryState.received,
            reason="no result: the worker stopped",
            values={"enqueued_at": now, "enqueues": enqueues + 1},
        )
        if moved.accepted:
            counts["requeued"] += 1
            after_commit(session, partial(enqueue, PROCESS_JOB, delivery_id=row_id))
    lost = select(WebhookDelivery.id, WebhookDelivery.enqueues).where(
        WebhookDelivery.state == DeliveryState.received.value,
        WebhookDelivery.enqueued_at < now - timedelta(seconds=requeue_seconds),
    )
    for row_id, enqueues in session.execute(lost).all():
        if enqueues >= max_attempts:
            message = f"The delivery was queued {enqueues} times and never processed."
            counts["failed"] += fail(session, delivery_id=row_id, message=message).accepted
            continue
        woken = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == row_id, WebhookDelivery.state == DeliveryState.received.value)
            .values(enqueued_at=now, enqueues=enqueues + 1)
            .execution_options(synchronize_session=False)
        )
        if getattr(woken, "rowcount", 0) == 1:
            counts["woken"] += 1
            after_commit(session, partial(enqueue, PROCESS_JOB, delivery_id=row_id))
    return counts


def get_or_raise(session: Session, *, delivery_id: str) -> WebhookDelivery:
    """Return a stored delivery or raise NotFound."""
    row = session.get(WebhookDelivery, delivery_id)
    if row is None:
        raise NotFound("No such webhook delivery.")
    return row


def history(session: Session, *, delivery_id: str) -> list[WebhookStateChange]:
    """A delivery's state changes, oldest first."""
    return list(
        session.scalars(
            select(WebhookStateChange)
            .where(WebhookStateChange.delivery_id == delivery_id)
            .order_by(WebhookStateChange.at, WebhookStateChange.id)
        )
    )


def list_deliveries(
    session: Session,
    *,
    paging: PageParams,
    source: str | None = None,
    state: str | None = None,
    event: str | None = None,
) -> tuple[list[WebhookDelivery], int]:
    """Stored deliveries, newest first, optionally by source, state and event."""
    stmt: Select[Any] = select(WebhookDelivery)
    if source:
        stmt = stmt.where(WebhookDelivery.source == source)
    if state:
        stmt = stmt.where(WebhookDelivery.state == state)
    if event:
        stmt = stmt.where(WebhookDelivery.event == event)
    return fetch_page(
        session, stmt, model=WebhookDelivery, order=WebhookDelivery.received_at.desc(), paging=paging
    )


def redeliver(session: Session, *, delivery_id: str, ctx: AuditContext, enqueue: Enqueue) -> WebhookDelivery:
    """Process a failed delivery again (audited); other states answer 409."""
    row = get_or_raise(session, delivery_id=delivery_id)
    moved = transition(
        session,
        delivery_id=delivery_id,
        to=DeliveryState.received,
        reason="redelivered by an administrator",
        actor_id=ctx.actor_id,
        values={"enqueued_at": utcnow(), "enqueues": 1, "finished_at": None},
    )
    if not moved.accepted:
        raise InvalidTransition(f"Only a failed delivery can be processed again (it is {moved.from_state}).")
    audit_service.record(
        session, ctx=ctx, action="webhook.redeliver", target_type="webhook_delivery", target_id=delivery_id,
        summary=f"processing {row.source} delivery {row.delivery_id} again",
        changes={"from": moved.from_state, "to": moved.to_state},
    )  # fmt: skip
    after_commit(session, partial(enqueue, PROCESS_JOB, delivery_id=delivery_id))
    session.refresh(row)
    return row
