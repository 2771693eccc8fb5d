"""Pipeline secrets: write-only variables, encrypted at rest, given to local stages as environment variables.

One encrypted JSON document per pipeline (context = the pipeline id) plus the list of names, so pages and the
API can show which secrets are set without decrypting. Values are never returned, logged or audited; the
run job decrypts them into the ``RunSpec`` and adds them to the log mask (raw, URL- and base64-encoded).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.core.crypto import SecretBox
from timbel.core.errors import ValidationFailed
from timbel.core.settings import Settings
from timbel.pipelines.run_models import Pipeline

NAME_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
RESERVED = frozenset({"PATH", "HOME", "LANG", "CI"})
MAX_VALUE_BYTES = 32 * 1024
MAX_SECRETS = 50


def secret_box(settings: Settings) -> SecretBox:
    """The box that encrypts pipeline secrets at rest."""
    return SecretBox(settings.secret())


def names(pipeline: Pipeline) -> list[str]:
    """The names of the pipeline's secrets (sorted; never the values)."""
    return sorted(pipeline.secret_names or [])


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a secret name, or None when it can."""
    if not NAME_PATTERN.fullmatch(name):
        return "Use capital letters, digits and _ (not starting with a digit), at most 64 characters."
    if name.startswith("TIMBEL_") or name in RESERVED:
        return "This name is reserved."
    return None


def read_secrets(pipeline: Pipeline, *, settings: Settings) -> dict[str, str]:
    """Decrypt the pipeline's secrets (for the run's engine only; never return or log them)."""
    if not pipeline.secrets:
        return {}
    values: dict[str, str] = json.loads(secret_box(settings).decrypt(pipeline.secrets, context=pipeline.id))
    return values


def _error(loc: list[str], msg: str, kind: str) -> dict[str, object]:
    return {"loc": loc, "msg": msg, "type": f"pipeline_secret.{kind}"}


def _check(changes: Mapping[str, str | None]) -> None:
    errors = []
    for name, value in changes.items():
        problem = name_problem(name)
        if problem is not None:
            errors.append(_error(["body", name], problem, "name"))
        elif value is not None and len(value.encode()) > MAX_VALUE_BYTES:
            errors.append(_error(["body", name], "At most 32 KiB.", "size"))
        elif value is not None and (not value or "\x00" in value):
            errors.append(_error(["body", name], "Empty or contains a NUL byte.", "value"))
    if errors:
        raise ValidationFailed("Invalid pipeline secrets.", errors=errors)


def update_secrets(
    session: Session,
    *,
    pipeline: Pipeline,
    settings: Settings,
    changes: Mapping[str, str | None],
    ctx: AuditContext,
) -> list[str]:
    """Set (value) or delete (None) secrets, leave absent ones; audit the names only; return the names."""
    _check(changes)
    values = read_secrets(pipeline, settings=settings)
    set_, deleted = [], []
    for name, value in sorted(changes.items()):
        if value is None:
            if values.pop(name, None) is not None:
                deleted.append(name)
        else:
            values[name] = value
            set_.append(name)
    if len(values) > MAX_SECRETS:
        raise ValidationFailed(
            f"A pipeline has at most {MAX_SECRETS} secrets.",
            errors=[_error(["body"], f"At most {MAX_SECRETS} secrets.", "count")],
        )
    if not set_ and not deleted:
        return names(pipeline)
    document = json.dumps(values, sort_keys=True)
    pipeline.secrets = secret_box(settings).encrypt(document, context=pipeline.id) if values else None
    pipeline.secret_names = sorted(values)
    audit_service.record(
        session,
        ctx=ctx,
        action="pipeline.secrets",
        target_type="pipeline",
        target_id=pipeline.id,
        summary=f"Changed the secrets of pipeline {pipeline.id}",
        changes={"set": set_, "deleted": deleted},
    )
    session.flush()
    return names(pipeline)
