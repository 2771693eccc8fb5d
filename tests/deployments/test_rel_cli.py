"""``timbel deploy|promote|rollback`` and ``timbel releases list|create`` against a temp database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import typer
from fastapi import FastAPI
from sqlalchemy import select
from typer.testing import CliRunner

from timbel.audit.models import AuditEntry
from timbel.catalog.models import System
from timbel.core.db import session_scope
from timbel.deployments import cli_commands, service
from timbel.deployments.models import Deployment, DeploymentState, Release


class Recorder:
    """An enqueue that only remembers what was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, /, **kwargs: Any) -> str:
        self.calls.append((name, kwargs))
        return f"task-{len(self.calls)}"


@pytest.fixture
def cli(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    """The commands wired as the lead wires them, with settings from the environment."""
    settings = app.state.settings
    monkeypatch.setenv("TIMBEL_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("TIMBEL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TIMBEL_SECRET_KEY", settings.secret())
    monkeypatch.setenv("TIMBEL_ENV", "test")
    application = typer.Typer()
    application.command("deploy")(cli_commands.deploy_command)
    application.command("promote")(cli_commands.promote_command)
    application.command("rollback")(cli_commands.rollback_command)
    application.add_typer(cli_commands.releases_app, name="releases")
    return application


def _shop(make_domain: Callable[[str], str], make_system: Callable[..., str]) -> str:
    return make_system(make_domain("acme"), "shop")


def test_releases_create_and_list(
    app: FastAPI, cli: typer.Typer, make_domain: Callable[[str], str], make_system: Callable[..., str]
) -> None:
    _shop(make_domain, make_system)
    runner = CliRunner()
    made = runner.invoke(
        cli,
        [
            "releases",
            "create",
            "shop",
            "--version",
            "1.0",
            "--commit",
            "a" * 40,
            "--image",
            "reg.local/shop-api:1.0",
            "--image",
            "web=reg.local/shop-web:1.0",
        ],
    )
    assert made.exit_code == 0, made.output
    assert (
        made.output.startswith("release 1.0 created (")
        and "shop-api: reg.local/shop-api:1.0 (no digest)" in made.output
    )
    listed = runner.invoke(cli, ["releases", "list", "shop"])
    assert listed.exit_code == 0 and listed.output.startswith("1.0\taaaaaaaaaaaa\t")
    assert "web=reg.local/shop-web:1.0" in listed.output
    again = runner.invoke(
        cli,
        ["releases", "create", "shop", "--version", "1.0", "--commit", "a" * 40, "--image", "reg.local/x:1"],
    )
    assert again.exit_code == 1 and "already exists" in again.output
    bad = runner.invoke(
        cli, ["releases", "create", "shop", "--version", "2", "--commit", "a" * 40, "--image", "x"]
    )
    assert bad.exit_code == 2 and "needs a tag or a digest" in bad.output
    assert runner.invoke(cli, ["releases", "list", "ghost"]).exit_code == 2
    with session_scope(app.state.session_factory) as session:
        row = session.scalar(select(Release).where(Release.version == "1.0"))
        assert row is not None and row.created_by.startswith("cli:")


def _release(app: FastAPI, system_id: str, version: str) -> str:
    with session_scope(app.state.session_factory) as session:
        images = [{"service": "api", "repository": "reg.local/shop-api", "tag": version, "digest": None}]
        row = Release(
            system_id=system_id,
            version=version,
            source_commit="b" * 40,
            images=images,
            values={
                "services": {
                    "api": {"image": {"repository": "reg.local/shop-api", "tag": version, "digest": None}}
                }
            },
        )
        session.add(row)
        session.flush()
        return row.id


def test_deploy_prints_the_deployment_and_enqueues_it_as_the_cli_user(
    app: FastAPI, cli: typer.Typer, make_domain: Callable[[str], str], make_system: Callable[..., str]
) -> None:
    system_id = _shop(make_domain, make_system)
    _release(app, system_id, "1.0")
    factory, settings = app.state.session_factory, app.state.settings
    enqueue = Recorder()
    deployment_id, state = cli_commands.act(
        factory,
        settings=settings,
        enqueue=enqueue,
        actor="cli:kim",
        action="deploy",
        system_key="shop",
        env="dev",
        release_ref="1.0",
    )
    assert state == "approved" and enqueue.calls == [
        ("deployments.execute", {"deployment_id": deployment_id})
    ]
    with session_scope(factory) as session:
        row = session.get(Deployment, deployment_id)
        assert row is not None and row.requested_by == "cli:kim" and row.requested_by_id is None
        assert session.scalar(select(AuditEntry.actor_name).where(AuditEntry.target_id == deployment_id)) in (
            "cli:kim",
            None,
        )
    result = CliRunner().invoke(
        cli, ["deploy", "shop", "--env", "dev", "--release", "1.0", "--reason", "hotfix"]
    )
    assert result.exit_code == 0 and result.output.startswith("deployment ") and ": approved" in result.output
    for argv in (
        ["deploy", "ghost", "--env", "dev", "--release", "1.0"],
        ["deploy", "shop", "--env", "dev", "--release", "9.9"],
        ["deploy", "shop", "--env", "nowhere", "--release", "1.0"],
    ):
        assert CliRunner().invoke(cli, argv).exit_code == 2, argv


def test_prod_waits_for_approval_and_wait_follows_to_the_end(
    app: FastAPI,
    cli: typer.Typer,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    system_id = _shop(make_domain, make_system)
    _release(app, system_id, "1.0")
    result = CliRunner().invoke(cli, ["deploy", "shop", "--env", "prod", "--release", "1.0"])
    assert result.exit_code == 0, result.output
    assert "pending_approval" in result.output and "waiting for approval" in result.output
    ends = ["rejected", "succeeded"]
    monkeypatch.setattr(cli_commands, "follow", lambda factory, **_: ends.pop(0))
    rejected = CliRunner().invoke(cli, ["deploy", "shop", "--env", "prod", "--release", "1.0", "--wait"])
    assert rejected.exit_code == 1, rejected.output
    succeeded = CliRunner().invoke(cli, ["deploy", "shop", "--env", "dev", "--release", "1.0", "--wait"])
    assert succeeded.exit_code == 0, succeeded.output
    refused = CliRunner().invoke(cli, ["rollback", "shop", "--env", "prod", "--to", "1.0"])
    assert refused.exit_code == 1 and "never succeeded in prod" in refused.output


def test_follow_prints_each_state_until_terminal(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str]
) -> None:
    system_id = _shop(make_domain, make_system)
    _release(app, system_id, "1.0")
    factory, settings = app.state.session_factory, app.state.settings
    deployment_id, _ = cli_commands.act(
        factory,
        settings=settings,
        enqueue=Recorder(),
        actor="cli:kim",
        action="deploy",
        system_key="shop",
        env="dev",
        release_ref="1.0",
    )
    steps = [DeploymentState.syncing, DeploymentState.verifying, DeploymentState.failed]

    def sleep(_: float) -> None:  # the "worker" moves the deployment on
        with session_scope(factory) as session:
            service.transition(
                session, deployment_id=deployment_id, to=steps.pop(0), reason="health degraded"
            )

    printed: list[str] = []
    assert (
        cli_commands.follow(factory, deployment_id=deployment_id, echo=printed.append, sleep=sleep)
        == "failed"
    )
    assert [line.split(": ")[1] for line in printed] == ["approved", "syncing", "verifying", "failed"]


def test_promote_takes_the_release_running_in_the_previous_environment(
    app: FastAPI, cli: typer.Typer, make_domain: Callable[[str], str], make_system: Callable[..., str]
) -> None:
    system_id = _shop(make_domain, make_system)
    release_id = _release(app, system_id, "1.0")
    refused = CliRunner().invoke(cli, ["promote", "shop", "--to", "stg"])
    assert refused.exit_code == 1 and refused.output.startswith("timbel: ")
    with session_scope(app.state.session_factory) as session:
        system = session.get(System, system_id)
        assert system is not None
        session.add(
            Deployment(
                system_id=system_id,
                domain_id=system.domain_id,
                environment="dev",
                release_id=release_id,
                state="succeeded",
            )
        )
    promoted = CliRunner().invoke(cli, ["promote", "shop", "--to", "stg", "--reason", "QA 통과"])
    assert promoted.exit_code == 0, promoted.output
    with session_scope(app.state.session_factory) as session:
        row = session.scalar(select(Deployment).where(Deployment.environment == "stg"))
        assert row is not None and row.release_id == release_id and row.kind == "promote"
        assert row.reason == "QA 통과"
