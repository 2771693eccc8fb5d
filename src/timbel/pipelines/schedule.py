"""Pipeline schedules: five-field cron text (UTC), checked with the same parser the scheduler uses.

The periodic job itself is ``pipelines.schedule`` in ``run_job`` (``run_triggers.scheduled_runs``).
"""

from __future__ import annotations

from timbel.core.jobs import crontab

CRON_HELP = "the schedule is a five-field cron expression (minute hour day month weekday), e.g. 0 3 * * 1-5"


def normalize_cron(value: str | None) -> str | None:
    """The schedule with single spaces (None for empty); ValueError when huey's crontab refuses it."""
    if value is None or not value.strip():
        return None
    fields = value.split()
    if len(fields) != 5:
        raise ValueError(CRON_HELP)
    try:
        crontab(*fields)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{CRON_HELP}: {exc}") from exc
    return " ".join(fields)
