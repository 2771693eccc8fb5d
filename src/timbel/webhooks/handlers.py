"""Who reacts to a push: ``on_push(fn)`` registers a handler, the processing job calls every handler.

A handler runs inside the processing transaction: ``fn(session=…, event=…, enqueue=…)``. It must be
idempotent per ``event.delivery_id`` and hand slow work to a job (``enqueue`` after commit). If it raises,
the delivery is marked failed with the error and nothing the handlers wrote is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class PushEvent:
    """A push as Timbel understood it (GitHub or GitLab)."""

    delivery_id: str  # the stored delivery's row id
    source: str
    integration_id: str | None
    ref: str
    branch: str  # "" for tags
    tag: str  # "" for branches
    before: str
    after: str
    deleted: bool
    repository: str  # full name (owner/name or group/…/name)
    urls: tuple[str, ...] = ()
    system_ids: tuple[str, ...] = ()
    commit_count: int = 0
    pusher: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class PushHandler(Protocol):
    """A subscriber to pushes."""

    def __call__(self, *, session: Session, event: PushEvent, enqueue: Callable[..., str]) -> None:
        """React to one push."""
        ...


_HANDLERS: dict[str, PushHandler] = {}


def on_push(fn: PushHandler, *, name: str | None = None) -> PushHandler:
    """Register a push handler (usable as a decorator); the same name registered again replaces it."""
    key = name or f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
    _HANDLERS[key] = fn
    return fn


def remove(name: str) -> None:
    """Unregister a handler by name (tests)."""
    _HANDLERS.pop(name, None)


def push_handlers() -> dict[str, PushHandler]:
    """Every registered handler, by name, in registration order."""
    return dict(_HANDLERS)
