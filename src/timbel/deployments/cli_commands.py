"""``timbel deploy|promote|rollback`` and ``timbel releases list|create``: deployments from the shell.

The process owner acts as an administrator (like the other CLI commands) and is recorded as
``cli:<os user>``. A command writes the deployment and enqueues its execution; ``--wait`` follows it
until it ends. Exit codes: 0 succeeded (or accepted without ``--wait``), 1 failed, rolled back, rejected
or refused, 2 usage errors (unknown system, release or environment, bad input).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from timbel.auth.principal import Principal
    from timbel.catalog.models import System
    from timbel.core.settings import Settings

releases_app = typer.Typer(help="Releases: list and cut a system's releases.", no_args_is_help=True)
Echo = Callable[[str], None]
USAGE_ERRORS = ("not-found", "validation-failed", "bad-request")


class UsageError(LookupError):
    """The command cannot run as typed (exit 2)."""


def cli_principal(actor: str) -> Principal:
    """The process owner as an administrator without a user row (``user_id`` None in the database)."""
    from timbel.auth.permissions import Role, permissions_for
    from timbel.auth.principal import Principal

    roles = frozenset({Role.admin})
    return Principal(
        user_id=cast(str, None), username=actor, display_name=actor, email=None, locale="ko",
        must_change_password=False, roles=roles, permissions=frozenset(permissions_for(roles)), domains=(),
        credential="cli",
    )  # fmt: skip


def _system(session: Session, key: str) -> System:
    from sqlalchemy import or_, select

    from timbel.catalog.models import System

    system = session.scalar(select(System).where(or_(System.slug == key, System.id == key)))
    if system is None:
        raise UsageError(f"no registered system {key!r}")
    return system


def act(
    factory: sessionmaker[Session],
    *,
    settings: Settings,
    enqueue: Callable[..., str],
    actor: str,
    action: str,
    system_key: str,
    env: str,
    release_ref: str | None = None,
    reason: str = "",
) -> tuple[str, str]:
    """Deploy, promote or roll back; return (deployment id, state). UsageError / AppError on refusal."""
    from timbel.audit.service import AuditContext
    from timbel.core.db import session_scope
    from timbel.core.errors import NotFound
    from timbel.deployments import actions, service

    ctx = AuditContext(actor_name=actor)
    common: dict[str, Any] = {"principal": cli_principal(actor), "settings": settings, "ctx": ctx,
                              "enqueue": enqueue}  # fmt: skip
    with session_scope(factory) as session:
        system = _system(session, system_key)
        try:
            release = (
                service.find_release(session, system_id=system.id, ref=release_ref) if release_ref else None
            )
        except NotFound as exc:
            raise UsageError(f"no release {release_ref!r} for {system.slug}") from exc
        why = reason or f"{action} from the command line"
        if action == "deploy":
            if release is None:
                raise UsageError("--release is required")
            row = actions.deploy(session, **common, system=system, env=env, release=release, reason=why)
        elif action == "promote":
            row = actions.promote(session, **common, system=system, to_env=env, reason=why)
        else:
            row = actions.rollback(session, **common, system=system, env=env, to_release=release, reason=why)
        return row.id, row.state


def follow(
    factory: sessionmaker[Session],
    *,
    deployment_id: str,
    echo: Echo,
    sleep: Callable[[float], None] = time.sleep,
    poll_seconds: float = 2.0,
) -> str:
    """Print each state change of a deployment until it ends; return the final state."""
    from timbel.deployments.models import TERMINAL_STATES, Deployment

    shown = ""
    while True:
        with factory() as session:
            row = session.get(Deployment, deployment_id)
            state, outcome = (
                (row.state, row.outcome) if row is not None else ("failed", "deployment vanished")
            )
        if state != shown:
            shown = state
            suffix = f": {outcome}" if outcome and state in TERMINAL_STATES else ""
            echo(f"deployment {deployment_id}: {state}{suffix}")
            if state == "pending_approval":
                echo("waiting for approval")
        if state in TERMINAL_STATES:
            return state
        sleep(poll_seconds)


def _who() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli:unknown"


def _runtime() -> tuple[Any, Any, Any]:
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
    return settings, engine, (factory, JobRuntime(settings, factory))


def run_action(action: str, *, system: str, env: str, release: str | None, reason: str, wait: bool) -> None:
    """Run one deployment command and exit with its code."""
    from timbel.core.errors import AppError

    settings, engine, (factory, jobs) = _runtime()
    try:
        deployment_id, state = act(factory, settings=settings, enqueue=jobs.enqueue, actor=_who(),
                                   action=action, system_key=system, env=env, release_ref=release,
                                   reason=reason)  # fmt: skip
        typer.echo(f"deployment {deployment_id}: {state}")
        if state == "pending_approval" and not wait:
            typer.echo("waiting for approval (follow it with --wait or on /approvals)")
        if wait:
            state = follow(factory, deployment_id=deployment_id, echo=typer.echo)
    except UsageError as exc:
        typer.echo(f"timbel: {exc}", err=True)
        raise typer.Exit(2) from exc
    except AppError as exc:
        typer.echo(f"timbel: {exc.detail}", err=True)
        raise typer.Exit(2 if exc.code in USAGE_ERRORS else 1) from exc
    finally:
        engine.dispose()
    raise typer.Exit(
        0 if state in ("succeeded", "approved", "syncing", "verifying", "pending_approval") else 1
    )


Reason = Annotated[str, typer.Option(help="Why (recorded in the GitOps commit and audit log).")]
Wait = Annotated[bool, typer.Option(help="Follow the deployment until it ends.")]


def deploy_command(
    system: Annotated[str, typer.Argument(help="The system's slug or id.")],
    env: Annotated[str, typer.Option(help="The environment, e.g. dev.")],
    release: Annotated[str, typer.Option(help="The release version or id.")],
    reason: Reason = "",
    wait: Wait = False,
) -> None:
    """Deploy a release to an environment."""
    run_action("deploy", system=system, env=env, release=release, reason=reason, wait=wait)


def promote_command(
    system: Annotated[str, typer.Argument(help="The system's slug or id.")],
    to: Annotated[str, typer.Option(help="The environment to promote into, e.g. stg.")],
    reason: Reason = "",
    wait: Wait = False,
) -> None:
    """Promote the release running in the previous environment."""
    run_action("promote", system=system, env=to, release=None, reason=reason, wait=wait)


def rollback_command(
    system: Annotated[str, typer.Argument(help="The system's slug or id.")],
    env: Annotated[str, typer.Option(help="The environment to roll back.")],
    to: Annotated[
        str | None, typer.Option(help="The release to restore (default: the last good one).")
    ] = None,
    reason: Reason = "",
    wait: Wait = False,
) -> None:
    """Roll an environment back to an earlier good release."""
    run_action("rollback", system=system, env=env, release=to, reason=reason, wait=wait)


def release_lines(factory: sessionmaker[Session], *, system_key: str) -> list[str]:
    """One line per release of a system, newest first."""
    from sqlalchemy import select

    from timbel.deployments.models import Release

    with factory() as session:
        system = _system(session, system_key)
        rows = session.scalars(
            select(Release)
            .where(Release.system_id == system.id)
            .order_by(Release.created_at.desc())
            .limit(100)
        )
        return [
            f"{r.version}\t{r.source_commit[:12]}\t{r.created_at:%Y-%m-%d %H:%M}\t{_images(r.images)}"
            for r in rows
        ]


def _images(images: list[dict[str, Any]]) -> str:
    return " ".join(
        f"{i['service']}={i['repository']}:{i['tag']}" + (f"@{i['digest'][7:19]}" if i["digest"] else "")
        for i in images
    )


def cut(
    factory: sessionmaker[Session], *, settings: Settings, system_key: str, version: str, commit: str,
    images: list[str], actor: str, notes: str = "",
) -> tuple[str, list[dict[str, Any]], str]:  # fmt: skip
    """Create a release; return (id, images, notes)."""
    from timbel.core.db import session_scope
    from timbel.deployments import releases

    with session_scope(factory) as session:
        system = _system(session, system_key)
        row = releases.create_release(
            session, settings=settings, system=system, version=version, source_commit=commit,
            images=releases.parse_images(images), actor_id=None, actor=actor, notes=notes,
        )  # fmt: skip
        return row.id, list(row.images), row.notes


@releases_app.command("list")
def releases_list(system: Annotated[str, typer.Argument(help="The system's slug or id.")]) -> None:
    """List a system's releases, newest first."""
    _, engine, (factory, _) = _runtime()
    try:
        lines = release_lines(factory, system_key=system)
    except UsageError as exc:
        typer.echo(f"timbel: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    for line in lines or ["no releases yet"]:
        typer.echo(line)


@releases_app.command("create")
def releases_create(
    system: Annotated[str, typer.Argument(help="The system's slug or id.")],
    version: Annotated[str, typer.Option(help="The version label (unique per system).")],
    commit: Annotated[str, typer.Option(help="The source commit SHA.")],
    image: Annotated[list[str], typer.Option(help="[service=]repo:tag or repo@sha256:… (repeat).")],
    notes: Annotated[str, typer.Option(help="Free text notes.")] = "",
) -> None:
    """Cut a release from a commit and image references."""
    from timbel.core.errors import AppError

    settings, engine, (factory, _) = _runtime()
    try:
        release_id, images, text = cut(factory, settings=settings, system_key=system, version=version,
                                       commit=commit, images=image, actor=_who(), notes=notes)  # fmt: skip
    except UsageError as exc:
        typer.echo(f"timbel: {exc}", err=True)
        raise typer.Exit(2) from exc
    except AppError as exc:
        typer.echo(f"timbel: {exc.detail}", err=True)
        raise typer.Exit(2 if exc.code in USAGE_ERRORS else 1) from exc
    finally:
        engine.dispose()
    typer.echo(f"release {version} created ({release_id})")
    for item in images:
        typer.echo(
            f"  {item['service']}: {item['repository']}:{item['tag']} {item['digest'] or '(no digest)'}"
        )
    if text:
        typer.echo(text)
