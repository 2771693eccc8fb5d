"""Explicit state machines: a transition table per run-like kind and one ``set_state`` that writes states.

Why: every run-like object (analysis, pipeline run, deployment, approval, incident) changes state in
exactly one place, which checks the table, refuses a raced change, and appends a history row. The
write is a compare-and-set (``UPDATE … WHERE state = :seen``) after a ``FOR UPDATE`` read, so two
workers racing on one row cannot both win on PostgreSQL or SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class Machine(Generic[S]):
    """A named transition table; states without outgoing transitions are terminal."""

    name: str
    transitions: Mapping[S, frozenset[S]]

    def allows(self, old: S, new: S) -> bool:
        """Tell whether ``old → new`` is in the table."""
        return new in self.transitions.get(old, frozenset())

    def terminal(self, state: S) -> bool:
        """Tell whether nothing can follow ``state``."""
        return not self.transitions.get(state)


@dataclass(frozen=True)
class Transition:
    """What ``set_state`` did: accepted or not, from which state to which, and why not."""

    accepted: bool
    from_state: str
    to_state: str
    refusal: str = ""


HistoryFactory = Callable[[str, str], object]


def set_state(
    session: Session,
    *,
    machine: Machine[Any],
    model: type[Any],
    row_id: str,
    to: StrEnum,
    history: HistoryFactory,
    values: Mapping[str, Any] | None = None,
) -> Transition:
    """Move row ``row_id`` of ``model`` to ``to`` if the table allows it; write ``values`` with it.

    ``history(from_state, to_state)`` builds the history row that is added when the change is accepted.
    """
    seen = session.execute(
        select(model.state).where(model.id == row_id).with_for_update()
    ).scalar_one_or_none()
    if seen is None:
        return Transition(False, "", str(to), "missing")
    state_type = type(to)
    if not machine.allows(state_type(seen), to):
        return Transition(False, str(seen), str(to), f"{machine.name}: {seen} → {to} is not allowed")
    result = cast(
        CursorResult[Any],
        session.execute(
            update(model)
            .where(model.id == row_id, model.state == seen)
            .values(state=to.value, **dict(values or {}))
            .execution_options(synchronize_session="fetch")
        ),
    )
    if result.rowcount != 1:
        return Transition(False, str(seen), str(to), f"{machine.name}: changed concurrently")
    session.add(history(str(seen), to.value))
    session.flush()
    return Transition(True, str(seen), to.value)
