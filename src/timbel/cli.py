"""Timbel's command line: serve, worker, database, users, analysis, scaffolding and GitOps history."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from timbel.deployments.cli_commands import deploy_command, promote_command, releases_app, rollback_command
from timbel.integrations.cli_commands import secrets_app
from timbel.pipelines.cli_commands import pipelines_app
from timbel.scaffold.cli_commands import scaffold
from timbel.scaffold.cli_system import gitops_app

if TYPE_CHECKING:
    from timbel.core.settings import Settings

app = typer.Typer(help="Timbel CI/CD operations platform.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")


def _settings() -> Settings:
    """Load the settings (imported here: `timbel analyze` needs none, and starts faster without them)."""
    from timbel.core.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(f"timbel: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Start the web UI and API (embedded mode also migrates the database and runs jobs in-process)."""
    import uvicorn

    from timbel.app import create_app
    from timbel.core import migrate
    from timbel.core.bootstrap import ensure_first_admin

    settings = _settings()
    app_ = create_app(settings)
    if settings.embedded:
        migrate.upgrade(app_.state.engine)
        password = ensure_first_admin(app_.state.session_factory, settings=settings)
        if password is not None:
            typer.echo(
                "\n  First start: an administrator account was created.\n"
                f"    username: admin\n    password: {password}\n"
                "  This password is shown only now and must be changed at first sign-in.\n"
            )
    elif migrate.current_revision(app_.state.engine) != migrate.head_revision():
        typer.echo("timbel: the database is not at the newest schema; run `timbel db upgrade`", err=True)
        raise typer.Exit(2)
    _seed(app_.state.session_factory)
    bind_host = host or settings.http.host
    bind_port = port or settings.http.port
    typer.echo(f"Timbel listening on http://{bind_host}:{bind_port}/")
    # live streams (SSE) never end by themselves: a stop waits this long for them, then cancels them
    uvicorn.run(
        app_,
        host=bind_host,
        port=bind_port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )


def _seed(session_factory: Any) -> None:
    """Add the shipped pipeline templates that are missing (never changes edited ones)."""
    from timbel.core.db import session_scope
    from timbel.pipelines.template_seeds import ensure_seeds

    with session_scope(session_factory) as session:
        ensure_seeds(session)


@app.command()
def worker(
    workers: Annotated[int | None, typer.Option(help="Worker threads (default from settings).")] = None,
    scheduler: Annotated[
        bool,
        typer.Option("--scheduler/--no-scheduler", help="Also run periodic jobs (one worker is enough)."),
    ] = True,
) -> None:
    """Consume background jobs and run periodic jobs (for scale-out with Redis)."""
    from timbel.core.db import create_db_engine, create_session_factory
    from timbel.core.jobs import JobRuntime
    from timbel.core.logging import configure_logging

    settings = _settings()
    if settings.redis_url is None:
        typer.echo(
            "timbel: `timbel worker` needs TIMBEL_REDIS_URL; embedded mode runs jobs inside `timbel serve`",
            err=True,
        )
        raise typer.Exit(2)
    configure_logging(settings)
    engine = create_db_engine(settings.effective_database_url)
    JobRuntime(settings, create_session_factory(engine)).run_worker(workers, periodic=scheduler)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Upgrade the database schema (forward-only)."""
    from timbel.core import migrate
    from timbel.core.db import create_db_engine

    settings = _settings()
    engine = create_db_engine(settings.effective_database_url)
    try:
        migrate.upgrade(engine, revision)
        typer.echo(f"database at revision {migrate.current_revision(engine)}")
    finally:
        engine.dispose()


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision and the newest one."""
    from timbel.core import migrate
    from timbel.core.db import create_db_engine

    engine = create_db_engine(_settings().effective_database_url)
    try:
        typer.echo(f"current: {migrate.current_revision(engine) or 'none'}  head: {migrate.head_revision()}")
    finally:
        engine.dispose()


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[
        list[str], typer.Option("--role", help="Role (repeatable): admin, operations, executive, viewer.")
    ],
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    display_name: Annotated[str, typer.Option(help="Name shown in the UI.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Create a user; the password comes from stdin (never from arguments)."""
    from pydantic import ValidationError

    from timbel.audit.service import AuditContext
    from timbel.auth import service as user_service
    from timbel.auth.schemas import UserCreate
    from timbel.core.db import create_db_engine, create_session_factory, session_scope
    from timbel.core.errors import AppError

    if not password_stdin:
        typer.echo("timbel: pass --password-stdin and pipe the password in", err=True)
        raise typer.Exit(2)
    password = sys.stdin.readline().rstrip("\r\n")
    settings = _settings()
    engine = create_db_engine(settings.effective_database_url)
    try:
        data = UserCreate(
            username=username,
            password=password,
            email=email,
            display_name=display_name,
            roles=role,
            must_change_password=False,
        )
        with session_scope(create_session_factory(engine)) as session:
            user = user_service.create(
                session,
                data=data,
                min_password_length=settings.auth.password_min_length,
                ctx=AuditContext(actor_name="cli", method="CLI", path="timbel users create"),
            )
            typer.echo(
                f"created user {user.username} ({', '.join(sorted(g.role for g in user.role_grants))})"
            )
    except ValidationError as exc:
        for err in exc.errors():
            typer.echo(f"timbel: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}", err=True)
        raise typer.Exit(2) from exc
    except AppError as exc:
        typer.echo(f"timbel: {exc.detail}", err=True)
        for problem in exc.errors:
            typer.echo(f"  - {problem.get('msg')}", err=True)
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()


search_app = typer.Typer(help="Catalog search index.", no_args_is_help=True)
app.add_typer(search_app, name="search")


@search_app.command("reindex")
def search_reindex(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Also rebuild the full-text indexes from the rows.")
    ] = False,
) -> None:
    """Bring the catalog search index up to date with every domain, project, system and asset."""
    from timbel.catalog import search_index
    from timbel.core.db import create_db_engine, create_session_factory, session_scope

    engine = create_db_engine(_settings().effective_database_url)
    try:
        with session_scope(create_session_factory(engine)) as session:
            stats = search_index.reindex(session, rebuild=rebuild)
        checked = ", ".join(f"{count} {kind}" for kind, count in stats.scanned.items())
        typer.echo(f"search index: checked {checked}; {stats.written} rows written")
    finally:
        engine.dispose()


demo_app = typer.Typer(help="Demo data (only ever loaded on request).", no_args_is_help=True)
app.add_typer(demo_app, name="demo")


@demo_app.command("load")
def demo_load() -> None:
    """Fill an empty catalog with 8 demo customer domains, their projects, systems and assets."""
    from timbel.audit.service import AuditContext
    from timbel.catalog import demo
    from timbel.core import migrate
    from timbel.core.db import create_db_engine, create_session_factory, session_scope
    from timbel.core.errors import Conflict

    engine = create_db_engine(_settings().effective_database_url)
    try:
        if migrate.current_revision(engine) != migrate.head_revision():
            typer.echo("timbel: the database is not at the newest schema; run `timbel db upgrade`", err=True)
            raise typer.Exit(2)
        repo = demo.find_repository()
        ctx = AuditContext(actor_name="cli", method="CLI", path="timbel demo load")
        with session_scope(create_session_factory(engine)) as session:
            result = demo.load(session, ctx=ctx, repo=repo)
    except Conflict as exc:
        typer.echo(f"timbel: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    typer.echo("demo data loaded: " + ", ".join(f"{count} {kind}" for kind, count in result.counts.items()))
    if repo is None:
        typer.echo("no git repository found above the Timbel sources; the system timbel-ops has no repo URL")
    else:
        typer.echo(f"the system timbel-ops points at the local repository {repo}")


@app.command()
def analyze(
    target: Annotated[str, typer.Argument(help="A git URL (https, ssh, git) or a local directory.")],
    ref: Annotated[
        str | None, typer.Option(help="Branch, tag or full commit SHA to clone (URLs only).")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="json (the full report) or table.")] = "table",
    allow_host: Annotated[
        list[str] | None, typer.Option("--allow-host", help="Permit an internal host or CIDR (repeatable).")
    ] = None,
) -> None:
    """Analyse a repository: languages, services with ports and evidence, delivery assets, readiness, git."""
    from pathlib import Path

    from timbel.analysis import analyzer, cli_format
    from timbel.analysis.clone import CloneFailed
    from timbel.analysis.files import TooManyFilesError
    from timbel.analysis.schema import SourceInfo
    from timbel.analysis.url_guard import AllowList, UnsafeRepositoryUrl

    if output not in ("json", "table"):
        typer.echo("timbel: --format must be json or table", err=True)
        raise typer.Exit(2)
    progress = cli_format.stderr_progress if output == "table" and sys.stderr.isatty() else None
    local = Path(target).expanduser()
    try:
        if local.is_dir():
            if ref is not None:
                typer.echo(
                    "timbel: --ref works only with a git URL; check the ref out locally instead", err=True
                )
                raise typer.Exit(2)
            source = SourceInfo(path=str(local.resolve()))
            report = analyzer.analyze_path(local, source=source, on_progress=progress)
        elif cli_format.looks_like_url(target):
            allow = AllowList.from_entries(allow_host or [])
            report = analyzer.analyze_url(target, ref=ref, allow=allow, on_progress=progress)
        else:
            typer.echo(f"timbel: {target} is neither a directory nor a git URL", err=True)
            raise typer.Exit(2)
    except UnsafeRepositoryUrl as exc:
        typer.echo(f"timbel: repository URL refused: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    except CloneFailed as exc:
        typer.echo(f"timbel: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    except TooManyFilesError as exc:
        typer.echo(f"timbel: {exc}", err=True)
        raise typer.Exit(1) from exc
    if progress is not None:
        typer.echo("", err=True)
    typer.echo(report.to_json() if output == "json" else cli_format.render_table(report))


app.command()(scaffold)
app.add_typer(gitops_app, name="gitops")
app.add_typer(secrets_app, name="secrets")
app.add_typer(pipelines_app, name="pipelines")
app.command("deploy")(deploy_command)
app.command("promote")(promote_command)
app.command("rollback")(rollback_command)
app.add_typer(releases_app, name="releases")


def main() -> None:
    """Entry point of the ``timbel`` command."""
    app()
