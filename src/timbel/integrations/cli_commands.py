"""``timbel secrets rotate-key``: re-encrypt every stored secret with the current secret key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

OLD_KEY_ENV = "TIMBEL_OLD_SECRET_KEY"

secrets_app = typer.Typer(help="Secrets at rest.", no_args_is_help=True)


def _old_key(old_key_file: Path | None) -> str:
    """The previous key, from a file (first line) or the ``TIMBEL_OLD_SECRET_KEY`` environment variable."""
    if old_key_file is not None:
        try:
            key = old_key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            typer.echo(f"timbel: cannot read {old_key_file}: {exc.strerror}", err=True)
            raise typer.Exit(2) from exc
    else:
        key = os.environ.get(OLD_KEY_ENV, "").strip()
    if not key:
        typer.echo(f"timbel: give the previous key with --old-key-file or {OLD_KEY_ENV}", err=True)
        raise typer.Exit(2)
    return key


@secrets_app.command("rotate-key")
def rotate_key(
    old_key_file: Annotated[
        Path | None, typer.Option(help=f"File holding the previous secret key (else ${OLD_KEY_ENV}).")
    ] = None,
) -> None:
    """Re-encrypt every secret (integrations, GitOps repositories, delivery drafts) with the current key."""
    from timbel.core.db import create_db_engine, create_session_factory, session_scope
    from timbel.core.settings import SettingsError, load_settings
    from timbel.integrations.key_rotation import RotationFailed
    from timbel.integrations.key_rotation import rotate_key as rotate

    old = _old_key(old_key_file)
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(f"timbel: {exc}", err=True)
        raise typer.Exit(2) from exc
    engine = create_db_engine(settings.effective_database_url)
    try:
        with session_scope(create_session_factory(engine)) as session:
            report = rotate(session, old_key=old, new_key=settings.secret())
    except RotationFailed as exc:
        typer.echo(f"timbel: {exc}; nothing was changed", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    for table, count in report.rotated.items():
        typer.echo(f"{table}: {count} re-encrypted")
    typer.echo(f"already on the current key: {report.already_current}")
