"""``timbel pipelines run``: queue a run by slug or id, follow it with ``--wait``."""

# ruff: noqa: F811  (fixtures imported from test_runs_support are parameters here)

from __future__ import annotations

from collections.abc import Callable

import pytest
import typer
from fastapi import FastAPI
from typer.testing import CliRunner

from tests.pipelines.test_runs_support import (  # noqa: F401  (fixtures)
    PipelineFactory,
    Recorder,
    StubEngine,
    app,
    make_pipeline,
    run_row,
    stub_engine,
)
from timbel.core.db import session_scope
from timbel.pipelines import cli_commands, logs
from timbel.pipelines.run_models import Pipeline


def test_start_by_slug_or_id_then_follow_prints_the_log(
    app: FastAPI, make_pipeline: PipelineFactory, stub_engine: StubEngine
) -> None:
    pipeline_id = make_pipeline()
    factory = app.state.session_factory
    run_id, number = cli_commands.start(
        factory, system_key="shop", ref=None, actor="cli:me", enqueue=Recorder()
    )
    assert number == 1 and run_row(app, run_id).ref == "main" and run_row(app, run_id).actor == "cli:me"
    with session_scope(factory) as session:
        system_id = session.get(Pipeline, pipeline_id).system_id  # type: ignore[union-attr]
    second, number = cli_commands.start(
        factory, system_key=system_id, ref="dev", actor="cli:me", enqueue=app.state.jobs.enqueue
    )
    assert number == 2 and run_row(app, second).state == "succeeded"
    printed: list[str] = []
    assert (
        cli_commands.follow(factory, run_id=second, echo=printed.append, sleep=lambda _: None) == "succeeded"
    )
    assert "running checkout 한글" in "\n".join(printed)


def test_follow_waits_for_the_run_to_end(app: FastAPI, make_pipeline: PipelineFactory) -> None:
    make_pipeline()
    factory = app.state.session_factory
    run_id, _ = cli_commands.start(factory, system_key="shop", ref=None, actor="cli:me", enqueue=Recorder())
    pauses: list[float] = []

    def sleep(seconds: float) -> None:  # the "worker" writes a line, then cancels the queued run
        pauses.append(seconds)
        with session_scope(factory) as session:
            if len(pauses) == 1:
                logs.append_log(session, run_id=run_id, text="hello\n")
            else:
                from timbel.audit.service import AuditContext
                from timbel.pipelines import run_service
                from timbel.pipelines.run_models import PipelineRun

                run = session.get(PipelineRun, run_id)
                run_service.cancel_run(session, run=run, ctx=AuditContext(actor_name="t"))  # type: ignore[arg-type]

    printed: list[str] = []
    assert cli_commands.follow(factory, run_id=run_id, echo=printed.append, sleep=sleep) == "cancelled"
    assert len(pauses) == 2 and "hello" in printed[0]


def test_unknown_systems_and_systems_without_a_pipeline_are_refused(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str]
) -> None:
    factory = app.state.session_factory
    with pytest.raises(LookupError, match="no registered system 'ghost'"):
        cli_commands.start(factory, system_key="ghost", ref=None, actor="x", enqueue=Recorder())
    make_system(make_domain("acme"), "bare")
    with pytest.raises(LookupError, match="has no pipeline"):
        cli_commands.start(factory, system_key="bare", ref=None, actor="x", enqueue=Recorder())


def test_the_command_queues_and_prints_the_number(
    app: FastAPI, make_pipeline: PipelineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_pipeline()
    settings = app.state.settings
    monkeypatch.setenv("TIMBEL_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("TIMBEL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TIMBEL_SECRET_KEY", settings.secret())
    monkeypatch.setenv("TIMBEL_ENV", "test")
    cli = typer.Typer()
    cli.add_typer(cli_commands.pipelines_app, name="pipelines")
    result = CliRunner().invoke(cli, ["pipelines", "run", "shop", "--ref", "release/2"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("run #1 queued (")
    bad = CliRunner().invoke(cli, ["pipelines", "run", "shop", "--ref", "a..b"])
    assert bad.exit_code == 2
    assert CliRunner().invoke(cli, ["pipelines", "run", "ghost"]).exit_code == 2
