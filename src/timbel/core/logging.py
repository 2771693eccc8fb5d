"""Structured logging with structlog (JSON in production, readable on a console)."""

from __future__ import annotations

import logging
import sys

import structlog

from timbel.core.settings import Settings


def configure_logging(settings: Settings) -> None:
    """Route stdlib and structlog output through one structured pipeline."""
    level = logging.getLevelNamesMapping().get(settings.log.level.upper(), logging.INFO)
    as_json = settings.log.json_output if settings.log.json_output is not None else not sys.stderr.isatty()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
