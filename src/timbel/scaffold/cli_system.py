"""``timbel scaffold SYSTEM`` and ``timbel gitops log|show``: a registered system, with the database.

Why the plan comes from the newest draft: what an operator configured and reviewed in the wizard is what the
command line writes or commits; without a draft, the plan Timbel proposes from the newest analysis is used.
The command line commits as ``cli:<os user>`` (no user row: the operation's ``created_by`` stays empty).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from timbel.scaffold.cli_commands import fail, parse_environments, write_and_report

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from timbel.catalog.models import System
    from timbel.core.settings import Settings
    from timbel.scaffold.plan import DeliveryPlan

gitops_app = typer.Typer(help="The GitOps repository: history and diffs of a system.", no_args_is_help=True)


def _settings() -> Settings:
    """Load the settings like the other database commands (a refused configuration exits 2)."""
    from timbel.core.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc))


def _open_system(session: Session, slug: str) -> System:
    """Find a registered system by its slug; an unknown one exits 2."""
    from sqlalchemy import select

    from timbel.catalog.models import System

    found = session.scalar(select(System).where(System.slug == slug))
    if found is None:
        fail(f"no registered system {slug!r} (and no directory of that name)")
    return found


def _who() -> str:
    """Name the command line's actor after the OS user: ``cli:<user>``."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli:unknown"


def scaffold_system(
    slug: str, *, out: Path | None, envs: list[str] | None, registry: str | None, commit: bool, why: str
) -> None:
    """SYSTEM mode: the newest draft's plan (else the default plan); write, and commit when asked."""
    from pydantic import ValidationError

    from timbel.audit.service import AuditContext
    from timbel.core.db import session_scope
    from timbel.core.errors import AppError
    from timbel.gitops import delivery
    from timbel.scaffold.plan import DeliveryPlan

    settings = _settings()
    with _database(settings) as factory, session_scope(factory) as session:
        system = _open_system(session, slug)
        draft = delivery.latest_draft(session, system=system)
        try:
            if draft is not None:
                plan, analysis_id = DeliveryPlan.model_validate(draft.plan), draft.analysis_id
            else:
                plan, analysis_id = delivery.default_plan(session, settings=settings, system=system)
        except ValidationError as exc:
            fail(f"the newest delivery draft of {slug} is not a valid plan: {exc.errors()[0]['msg']}", 1)
        except AppError as exc:
            fail(exc.detail, 1)
        try:
            changed = _override(plan, envs=envs, registry=registry)
        except ValidationError as exc:
            fail(f"--registry {registry!r}: {exc.errors()[0]['msg']}")
        try:
            bundle = delivery.bundle_for(session, system=system, plan=changed)
        except AppError as exc:
            fail(exc.detail, 1)
        write_and_report(bundle, out=out)
        if not commit:
            return
        who = _who()
        draft_id = draft.id if draft is not None and changed == plan else None
        if draft_id is None:
            saved = delivery.save_draft(session, settings=settings, system=system, plan=changed,
                                        secret_values={}, analysis_id=analysis_id, actor_id=None)  # fmt: skip
            draft_id = saved.id
        operation = delivery.commit(
            session, settings=settings, principal=None, who=who, system=system, plan=changed, why=why,
            ctx=AuditContext(actor_name=who, method="CLI", path="timbel scaffold"), draft_id=draft_id,
        )  # fmt: skip
        for made in operation.commits or []:
            state = "committed" if made["changed"] else "unchanged"
            typer.echo(f"{state} {made['sha']} in {made['repository']} ({', '.join(made['envs'])})")
        failed = operation.state != "succeeded"
        conflicts = f" (edited by hand: {', '.join(operation.conflicts)})" if operation.conflicts else ""
        reason = f"the GitOps commit failed: {operation.error}{conflicts}"
    if failed:  # after the session committed: the failed operation stays on record
        fail(reason, 1)


def _override(plan: DeliveryPlan, *, envs: list[str] | None, registry: str | None) -> DeliveryPlan:
    """The plan with other environments or registry (re-validated); the same plan when neither is given."""
    from timbel.scaffold.plan import DeliveryPlan

    if envs is None and registry is None:
        return plan
    data = plan.model_dump(mode="json")
    if registry is not None:
        data["registry"] = registry
    if envs is not None:
        data["environments"] = envs
        for service in data["services"]:
            service["environments"] = [e for e in service["environments"] if e["name"] in envs]
    return DeliveryPlan.model_validate(data)


@contextmanager
def _database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """A session factory on the configured database, which must be at the newest schema."""
    from timbel.core import migrate
    from timbel.core.db import create_db_engine, create_session_factory

    engine = create_db_engine(settings.effective_database_url)
    try:
        if migrate.current_revision(engine) != migrate.head_revision():
            fail("the database is not at the newest schema; run `timbel db upgrade`")
        yield create_session_factory(engine)
    finally:
        engine.dispose()


@gitops_app.command("log")
def gitops_log(
    system: Annotated[str, typer.Argument(help="The system's slug.")],
    env: Annotated[str | None, typer.Option(help="Only this environment's folder: dev, stg or prod.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many commits.")] = 50,
) -> None:
    """List the GitOps commits of a system (newest first): sha, date, who, subject, hand edits."""
    from timbel.core.db import session_scope
    from timbel.core.errors import AppError
    from timbel.gitops import delivery
    from timbel.gitops import service as gitops

    parse_environments(env)
    settings = _settings()
    with _database(settings) as factory, session_scope(factory) as session:
        found = _open_system(session, system)
        domain = delivery.domain_of(session, found)
        try:
            commits = gitops.history(
                session, settings=settings, domain=domain, system=found, env=env, limit=limit
            )
        except AppError as exc:
            fail(exc.detail, 1)
    if not commits:
        typer.echo(f"no GitOps commits for {system}" + (f" in {env}" if env else ""))
        return
    for item in commits:
        who = item.who or item.author.split(" <", 1)[0]
        marker = "" if item.by_timbel else "  [hand edit]"
        typer.echo(f"{item.sha[:12]}  {item.date:%Y-%m-%d %H:%M%z}  {who:<20}  {item.subject}{marker}")


@gitops_app.command("show")
def gitops_show(
    system: Annotated[str, typer.Argument(help="The system's slug.")],
    sha: Annotated[str, typer.Argument(help="The commit (full or abbreviated SHA).")],
    env: Annotated[str | None, typer.Option(help="Look in the repository holding this environment.")] = None,
) -> None:
    """Print one GitOps commit: its header and unified diff."""
    from timbel.core.db import session_scope
    from timbel.core.errors import AppError, NotFound
    from timbel.gitops import delivery
    from timbel.gitops import service as gitops

    parse_environments(env)
    settings = _settings()
    with _database(settings) as factory, session_scope(factory) as session:
        domain = delivery.domain_of(session, _open_system(session, system))
        try:
            text = gitops.commit_diff(session, settings=settings, domain=domain, env=env, sha=sha)
        except NotFound as exc:
            fail(exc.detail)
        except AppError as exc:
            fail(exc.detail, 1)
    typer.echo(text, nl=False)
