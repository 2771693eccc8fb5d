"""``timbel pipelines run SYSTEM [--ref REF] [--wait]``: queue a run of a system's pipeline from the shell.

The command writes the run row and wakes dispatch through the job queue (the server's or worker's
consumer executes it); ``--wait`` follows the run's state and prints its log as it grows, and exits 0
only when the run succeeded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from timbel.catalog.models import System

pipelines_app = typer.Typer(help="Pipelines: start runs of a system's pipeline.", no_args_is_help=True)
Echo = Callable[[str], None]


def _find_system(session: Session, key: str) -> System | None:
    from sqlalchemy import or_, select

    from timbel.catalog.models import System

    return session.scalar(select(System).where(or_(System.slug == key, System.id == key)))


def start(
    factory: sessionmaker[Session],
    *,
    system_key: str,
    ref: str | None,
    actor: str,
    enqueue: Callable[..., str],
) -> tuple[str, int]:
    """Queue a manual run of the system's pipeline; return (run id, run number). Raises LookupError."""
    from timbel.core.db import session_scope
    from timbel.pipelines import pipeline_service, run_service
    from timbel.pipelines.run_schemas import check_ref

    with session_scope(factory) as session:
        system = _find_system(session, system_key)
        if system is None:
            raise LookupError(f"no registered system {system_key!r}")
        pipeline = pipeline_service.get_for_system(session, system_id=system.id)
        if pipeline is None:
            raise LookupError(f"the system {system.slug} has no pipeline")
        chosen = check_ref(ref or system.default_branch or "main")
        run = run_service.start_run(
            session, pipeline=pipeline, trigger="manual", actor=actor, ref=chosen, enqueue=enqueue
        )
        return run.id, run.number


def follow(
    factory: sessionmaker[Session],
    *,
    run_id: str,
    echo: Echo,
    sleep: Callable[[float], None] = time.sleep,
    poll_seconds: float = 1.0,
) -> str:
    """Print the run's log as it grows until the run ends; return its final state."""
    from timbel.pipelines import logs
    from timbel.pipelines.run_models import TERMINAL_RUN_STATES, PipelineRun

    offset, state = 0, ""
    while True:
        with factory() as session:
            piece = logs.read_log(session, run_id=run_id, offset=offset)
            run = session.get(PipelineRun, run_id)
            state = run.state if run is not None else "failed"
        if piece.text:
            echo(piece.text.rstrip("\n"))
        offset = piece.next_offset
        if state in TERMINAL_RUN_STATES and (piece.complete or not piece.text):
            return state
        if not piece.text:
            sleep(poll_seconds)


def _who() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli:unknown"


@pipelines_app.command("run")
def run_command(
    system: Annotated[str, typer.Argument(help="The system's slug or id.")],
    ref: Annotated[
        str | None, typer.Option(help="Branch, tag or commit (default: the default branch).")
    ] = None,
    wait: Annotated[bool, typer.Option(help="Follow the run and print its log until it ends.")] = False,
) -> None:
    """Start a run of a system's pipeline."""
    from timbel.core.db import create_db_engine, create_session_factory
    from timbel.core.jobs import JobRuntime
    from timbel.core.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(f"timbel: {exc}", err=True)
        raise typer.Exit(2) from exc
    engine = create_db_engine(settings.effective_database_url)
    factory = create_session_factory(engine)
    jobs = JobRuntime(settings, factory)
    try:
        run_id, number = start(factory, system_key=system, ref=ref, actor=_who(), enqueue=jobs.enqueue)
        typer.echo(f"run #{number} queued ({run_id})")
        if not wait:
            return
        state = follow(factory, run_id=run_id, echo=typer.echo)
    except (LookupError, ValueError) as exc:
        typer.echo(f"timbel: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    typer.echo(f"run #{number}: {state}")
    raise typer.Exit(0 if state == "succeeded" else 1)
