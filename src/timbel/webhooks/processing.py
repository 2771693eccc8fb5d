"""Process stored deliveries: a push finds its catalog systems and is handed to the push handlers.

A batch (what one receiver commit stored) is processed in two transactions: one moves every delivery
from received to processing, one stores what processing found and moves them to processed. If anything
in the second raises (a handler, a bad payload), it is rolled back as a whole and each delivery of the
batch is processed again on its own, so one bad delivery fails alone and keeps nothing a handler wrote
(handlers of the others ran twice then, the first time rolled back: they must be idempotent anyway).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from timbel.catalog.models import System
from timbel.core.db import session_scope
from timbel.webhooks import handlers, service
from timbel.webhooks.models import WebhookDelivery
from timbel.webhooks.payloads import PayloadError, Push, is_push, parse_push
from timbel.webhooks.urls import last_segment, repo_key

logger = logging.getLogger(__name__)
BATCH_LIMIT = 200  # a batch takes along other deliveries waiting in received, up to this many in all
Enqueue = Callable[..., str]
_COLUMNS = (
    WebhookDelivery.id, WebhookDelivery.source, WebhookDelivery.event, WebhookDelivery.payload,
    WebhookDelivery.integration_id,
)  # fmt: skip


def match_systems(session: Session, *, urls: Iterable[str]) -> list[str]:
    """Ids of the systems whose repository URL names the same repository as one of ``urls``."""
    keys = {k for k in (repo_key(u) for u in urls) if k}
    if not keys:
        return []
    names = {last_segment(k) for k in keys}
    rows = session.execute(
        select(System.id, System.repo_url).where(
            or_(*(System.repo_url.ilike(f"%{name}%", escape="\\") for name in map(_escape_like, names)))
        )
    ).all()
    return sorted(row_id for row_id, url in rows if repo_key(url) in keys)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Matcher:
    """``match_systems`` remembered per set of URLs for one batch (pushes to one repository repeat)."""

    def __init__(self, session: Session) -> None:
        self.session, self.seen = session, dict[tuple[str, ...], list[str]]()

    def __call__(self, urls: tuple[str, ...]) -> list[str]:
        if urls not in self.seen:
            self.seen[urls] = match_systems(self.session, urls=urls)
        return list(self.seen[urls])


def _handle(session: Session, row: Any, *, enqueue: Enqueue, matcher: _Matcher) -> dict[str, Any]:
    """What processing one started delivery found; push handlers run here (may raise)."""
    if not is_push(source=row.source, event=row.event):
        return {}
    push: Push = parse_push(source=row.source, payload=row.payload)
    systems = matcher(push.urls)
    event = handlers.PushEvent(
        delivery_id=row.id, source=row.source, integration_id=row.integration_id, ref=push.ref,
        branch=push.branch, tag=push.tag, before=push.before, after=push.after, deleted=push.deleted,
        repository=push.repository, urls=push.urls, system_ids=tuple(systems),
        commit_count=push.commit_count, pusher=push.pusher,
    )  # fmt: skip
    for handler in handlers.push_handlers().values():
        handler(session=session, event=event, enqueue=enqueue)
    return {
        "repository": push.repository[:1000],
        "branch": (push.branch or push.tag)[:255],
        "sha": push.after[:64],
        "system_ids": systems,
    }


def process_many(
    *, session_factory: sessionmaker[Session], delivery_ids: list[str], enqueue: Enqueue
) -> dict[str, Any]:
    """Process received deliveries, and others waiting in received (up to ``BATCH_LIMIT`` in all).

    Deliveries not in received are skipped: a second message for one processes nothing. Taking waiting
    ones along makes batches grow with the backlog (their own messages then find nothing to do).
    """
    asked = list(dict.fromkeys(delivery_ids))
    with session_scope(session_factory) as session:
        waiting = service.waiting(session, limit=max(0, BATCH_LIMIT - len(asked)), exclude=asked)
        started = service.begin_many(session, delivery_ids=asked + waiting)
    counts = {"skipped": len(set(asked) - set(started)), "processed": 0, "failed": 0}
    if len(started) > 1:
        try:
            with session_scope(session_factory) as session:
                found_rows = session.execute(select(*_COLUMNS).where(WebhookDelivery.id.in_(started))).all()
                rows = sorted(found_rows, key=lambda row: started.index(row.id))
                matcher = _Matcher(session)
                found = {row.id: _handle(session, row, enqueue=enqueue, matcher=matcher) for row in rows}
                counts["processed"] = len(service.finish_many(session, values=found))
            return counts
        except Exception:
            logger.info("a batch of %d webhook deliveries failed; processing them one by one", len(started))
    for row_id in started:  # alone, or one of the batch failed: each in a transaction of its own
        result = _one(session_factory, row_id, enqueue=enqueue)
        for key, value in result.items():
            counts[key] += value
    return counts


def _one(session_factory: sessionmaker[Session], row_id: str, *, enqueue: Enqueue) -> dict[str, int]:
    """Process one started delivery in its own transaction; record a failure with its reason."""
    try:
        with session_scope(session_factory) as session:
            row = session.execute(select(*_COLUMNS).where(WebhookDelivery.id == row_id)).one()
            values = _handle(session, row, enqueue=enqueue, matcher=_Matcher(session))
            done = service.finish(session, delivery_id=row_id, values=values)
        return {"processed": int(done.accepted)}
    except PayloadError as exc:
        message = f"The push payload cannot be read: {exc}."
    except Exception as exc:
        logger.exception("webhook delivery %s failed", row_id)
        message = f"Processing failed: {type(exc).__name__}: {exc}"
    with session_scope(session_factory) as session:
        failed = service.fail(session, delivery_id=row_id, message=message)
    return {"failed": int(failed.accepted)}


def process(*, session_factory: sessionmaker[Session], delivery_id: str, enqueue: Enqueue) -> dict[str, Any]:
    """Process one received delivery (see :func:`process_many`)."""
    counts = process_many(session_factory=session_factory, delivery_ids=[delivery_id], enqueue=enqueue)
    state = next((k for k in ("processed", "failed") if counts[k]), None)
    return {"delivery_id": delivery_id, **({"state": state} if state else {"skipped": "not received"})}
