"""The engine registry: the shipped engines are found by name, lazily; missing ones fail clearly."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI

import timbel.pipelines.run_job  # noqa: F401  (declares the pipelines.* jobs before the app's runtime is built)
from timbel.audit.service import AuditContext
from timbel.catalog.models import System
from timbel.core.db import session_scope
from timbel.core.errors import AppError
from timbel.pipelines import logs, pipeline_service, run_service
from timbel.pipelines.engines import (
    EngineContext,
    EngineUnavailableError,
    engine_for,
    engine_names,
    register_engine,
    unregister_engine,
)
from timbel.pipelines.run_models import PipelineRun
from timbel.pipelines.template_seeds import ensure_seeds


def _ctx(app: FastAPI) -> EngineContext:
    return EngineContext(
        settings=app.state.settings, session_factory=app.state.session_factory, pipeline_id="p"
    )


def test_the_local_engine_is_built_by_name(app: FastAPI) -> None:
    from timbel.pipelines.engines.local import LocalEngine

    engine = engine_for("local", _ctx(app))
    assert isinstance(engine, LocalEngine) and engine.name == "local"
    assert {"local", "jenkins"} <= set(engine_names())


def test_jenkins_without_a_pipeline_or_instance_is_a_clear_error(app: FastAPI) -> None:
    with pytest.raises(AppError):
        engine_for("jenkins", _ctx(app))


def test_unknown_names_and_missing_modules_are_clear_errors(app: FastAPI) -> None:
    with pytest.raises(EngineUnavailableError, match="Unknown pipeline engine 'ghost'"):
        engine_for("ghost", _ctx(app))
    register_engine("gone", "timbel.pipelines.engines.not_there:Engine")
    register_engine("typo", "timbel.pipelines.engines.local:NoSuchEngine")
    try:
        with pytest.raises(EngineUnavailableError, match="not installed"):
            engine_for("gone", _ctx(app))
        with pytest.raises(EngineUnavailableError, match="missing"):
            engine_for("typo", _ctx(app))
    finally:
        unregister_engine("gone")
        unregister_engine("typo")


def test_a_run_on_the_real_local_engine_records_stages_and_log(
    app: FastAPI, tmp_path: Path, make_domain: Callable[[str], str], make_system: Callable[..., str]
) -> None:
    """Service + DbRunEvents + LocalEngine together (a file repository, allowed for this test engine)."""
    from timbel.pipelines.engines.local import LocalEngine

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "hello.txt").write_text("안녕\n", encoding="utf-8")
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "first"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    register_engine("local-files", lambda ctx: LocalEngine(allow_local=True, builder=None))
    try:
        system_id = make_system(make_domain("acme"), "files", repo_url=str(repo))
        with session_scope(app.state.session_factory) as session:
            ensure_seeds(session)
            system = session.get(System, system_id)
            assert system is not None
            ctx = AuditContext(actor_name="t")
            pipeline = pipeline_service.create_for_system(
                session, system=system, ctx=ctx, template_key="python-fastapi", engine="local-files"
            )
            stages = [dict(pipeline.stages[0]), {"name": "show", "kind": "test", "command": "cat hello.txt"}]
            pipeline_service.update(session, pipeline=pipeline, data={"stages": stages}, ctx=ctx)
            run = run_service.start_run(
                session,
                pipeline=pipeline,
                trigger="manual",
                actor="t",
                ref="main",
                enqueue=app.state.jobs.enqueue,
            )
            run_id = run.id
        with session_scope(app.state.session_factory) as session:
            done = session.get(PipelineRun, run_id)
            assert done is not None
            assert done.state == "succeeded", done.reason
            assert done.commit_after and len(done.commit_after) == 40
            stage_rows, _, _ = run_service.details(session, run=done)
            assert [(s.name, s.state) for s in stage_rows] == [
                ("checkout", "succeeded"),
                ("show", "succeeded"),
            ]
            assert "안녕" in logs.read_log(session, run_id=run_id).text
    finally:
        unregister_engine("local-files")
