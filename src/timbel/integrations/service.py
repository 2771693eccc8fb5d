"""Integration instances: create, change, delete, test; secrets encrypted at rest and write-only.

Why secrets are one encrypted JSON document per row (context = the row id): a row's credentials are read
together by its adapter, and a copied ciphertext does not open on another row. Only the field names are kept
in clear (``secret_fields``) so lists never decrypt anything. Connection tests never raise for a broken
instance: every failure becomes a failed check, and any secret value is scrubbed from what is reported.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import SecretStr, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.catalog.models import Domain
from timbel.core.crypto import SecretBox, SecretDecryptError
from timbel.core.db import utcnow
from timbel.core.errors import Conflict, IntegrationError, NotFound, ValidationFailed
from timbel.core.settings import Settings
from timbel.integrations import http
from timbel.integrations.base import Check, ConnectionReport, IntegrationKind
from timbel.integrations.models import Health, Integration
from timbel.integrations.registry_of_adapters import (
    InstanceConfig,
    build_adapter,
    registered_kinds,
    spec_for,
)
from timbel.integrations.schemas import IntegrationCreate, IntegrationUpdate

logger = logging.getLogger(__name__)
NAME_TAKEN = "integrations.name_taken"
UNKNOWN_FIELD = "integrations.unknown_secret_field"
UNKNOWN_DOMAIN = "integrations.unknown_domain"
MASK = "***"
LAST_ERROR_LIMIT = 2000


def secret_box(settings: Settings) -> SecretBox:
    """The box that encrypts integration secrets at rest."""
    return SecretBox(settings.secret())


def read_secrets(row: Integration, *, settings: Settings) -> dict[str, str]:
    """Decrypt an instance's secrets (for its adapter only; never return or log them)."""
    if not row.secrets:
        return {}
    values: dict[str, str] = json.loads(secret_box(settings).decrypt(row.secrets, context=row.id))
    return values


def _write_secrets(row: Integration, *, settings: Settings, values: Mapping[str, str]) -> None:
    row.secrets = (
        secret_box(settings).encrypt(json.dumps(dict(values), sort_keys=True), context=row.id)
        if values
        else None
    )
    row.secret_fields = sorted(values)


def instance_config(row: Integration, *, settings: Settings) -> InstanceConfig:
    """The instance as an adapter factory needs it (secrets decrypted)."""
    return InstanceConfig(
        id=row.id, kind=IntegrationKind(row.kind), name=row.name, base_url=row.base_url,
        options=dict(row.options or {}), secrets=read_secrets(row, settings=settings),
    )  # fmt: skip


def list_instances(
    session: Session, *, kind: IntegrationKind | None = None, domain_id: str | None = None
) -> list[Integration]:
    """Every instance (of one kind, or scoped to one domain), by kind and name."""
    query = select(Integration).order_by(Integration.kind, Integration.name)
    if kind is not None:
        query = query.where(Integration.kind == kind.value)
    if domain_id is not None:
        query = query.where(Integration.domain_id == domain_id)
    return list(session.scalars(query))


def get_or_raise(session: Session, *, integration_id: str) -> Integration:
    """Return an instance or raise NotFound."""
    row = session.get(Integration, integration_id)
    if row is None:
        raise NotFound("No such integration.")
    return row


def default_for(
    session: Session, *, kind: IntegrationKind, domain_id: str | None = None
) -> Integration | None:
    """The default instance of a kind for a domain, falling back to the global default."""
    for scope in ([domain_id] if domain_id else []) + [None]:
        scoped = Integration.domain_id.is_(None) if scope is None else Integration.domain_id == scope
        row = session.scalar(
            select(Integration).where(Integration.kind == kind.value, Integration.is_default, scoped)
        )
        if row is not None:
            return row
    return None


def _check_name(session: Session, *, name: str, exclude_id: str | None = None) -> None:
    query = select(Integration.id).where(Integration.name == name)
    if exclude_id is not None:
        query = query.where(Integration.id != exclude_id)
    if session.scalar(query):
        raise Conflict(
            "An integration with this name exists.",
            errors=[{"loc": ["body", "name"], "type": NAME_TAKEN, "msg": "taken"}],
        )


def _check_domain(session: Session, domain_id: str | None) -> None:
    if domain_id is not None and session.get(Domain, domain_id) is None:
        raise ValidationFailed(
            "No such domain.",
            errors=[{"loc": ["body", "domain_id"], "type": UNKNOWN_DOMAIN, "msg": "unknown domain"}],
        )


def _check_secret_fields(kind: IntegrationKind, names: Iterable[str]) -> None:
    spec = registered_kinds().get(kind)
    if spec is None or spec.secret_fields is None:
        return
    unknown = sorted(set(names) - spec.secret_fields)
    if unknown:
        raise ValidationFailed(
            f"{kind.value} takes the secret fields {sorted(spec.secret_fields)} only.",
            errors=[
                {"loc": ["body", "secrets", name], "type": UNKNOWN_FIELD, "msg": "unknown"}
                for name in unknown
            ],
        )


def _check_config(
    kind: IntegrationKind, *, name: str, base_url: str, options: Mapping[str, Any], secrets: Mapping[str, str]
) -> None:
    """Validate against the adapter's config model, when it has one (422 naming fields, never values)."""
    spec = registered_kinds().get(kind)
    if spec is None or spec.config is None:
        return
    data = InstanceConfig(id="", kind=kind, name=name, base_url=base_url, options=options, secrets=secrets)
    try:
        spec.config.model_validate(data.config_data())
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            head = str(error["loc"][0]) if error["loc"] else ""
            is_secret = head in secrets or head in (spec.secret_fields or ())
            group = [head] if head in {"name", "base_url"} else ["secrets" if is_secret else "options"]
            loc = ["body", *group, *([] if head in {"name", "base_url"} else [str(p) for p in error["loc"]])]
            errors.append({"loc": loc, "type": error["type"], "msg": error["msg"]})
        raise ValidationFailed(f"The {kind.value} configuration is invalid.", errors=errors) from None


def _make_default(session: Session, row: Integration) -> None:
    """Make ``row`` the only default of its kind and scope."""
    scoped = (
        Integration.domain_id.is_(None) if row.domain_id is None else Integration.domain_id == row.domain_id
    )
    others = select(Integration).where(
        Integration.kind == row.kind, Integration.is_default, Integration.id != row.id, scoped
    )
    for other in session.scalars(others):
        other.is_default = False
    row.is_default = True


def create(
    session: Session, *, settings: Settings, data: IntegrationCreate, ctx: AuditContext
) -> Integration:
    """Add an instance, encrypt its secrets and audit it (secret names only)."""
    _check_name(session, name=data.name)
    _check_domain(session, data.domain_id)
    _check_secret_fields(data.kind, data.secrets)
    secrets = {k: v.get_secret_value() for k, v in data.secrets.items()}
    _check_config(data.kind, name=data.name, base_url=data.base_url, options=data.options, secrets=secrets)
    row = Integration(
        kind=data.kind.value, name=data.name, base_url=data.base_url, options=dict(data.options),
        domain_id=data.domain_id, secret_fields=[],
    )  # fmt: skip
    session.add(row)
    session.flush()
    _write_secrets(row, settings=settings, values=secrets)
    if data.is_default:
        _make_default(session, row)
    session.flush()
    audit_service.record(
        session, ctx=ctx, action="integration.create", target_type="integration", target_id=row.id,
        summary=f"added {row.kind} integration {row.name}",
        changes={"kind": row.kind, "base_url": row.base_url, "options": row.options,
                 "domain_id": row.domain_id, "is_default": row.is_default,
                 "write_only_fields": {"set": row.secret_fields}},
    )  # fmt: skip
    return row


def _merge_secrets(
    current: dict[str, str], changes: Mapping[str, SecretStr | None]
) -> tuple[dict[str, str], list[str], list[str]]:
    """Apply per-field secret changes: null clears, a value replaces; return (values, set, cleared)."""
    merged, set_, cleared = dict(current), [], []
    for name, value in sorted(changes.items()):
        if value is None:
            if merged.pop(name, None) is not None:
                cleared.append(name)
        else:
            merged[name] = value.get_secret_value()
            set_.append(name)
    return merged, set_, cleared


def update(
    session: Session, *, settings: Settings, row: Integration, data: IntegrationUpdate, ctx: AuditContext
) -> Integration:
    """Change an instance; secrets per field (absent keeps, null clears, value replaces); audit it."""
    sent = data.model_fields_set
    changes: dict[str, Any] = {}
    if data.name is not None and data.name != row.name:
        _check_name(session, name=data.name, exclude_id=row.id)
    if "domain_id" in sent:
        _check_domain(session, data.domain_id)
    for name in ("name", "base_url", "options", "domain_id"):
        value = getattr(data, name)
        if (name in sent) and (value is not None or name == "domain_id") and value != getattr(row, name):
            changes[name] = {"from": getattr(row, name), "to": value}
            setattr(row, name, dict(value) if isinstance(value, dict) else value)
    if data.secrets:
        _check_secret_fields(IntegrationKind(row.kind), [k for k, v in data.secrets.items() if v is not None])
        values, set_, cleared = _merge_secrets(read_secrets(row, settings=settings), data.secrets)
        _write_secrets(row, settings=settings, values=values)
        changes["write_only_fields"] = {"set": set_, "cleared": cleared}
    if changes:
        _check_config(
            IntegrationKind(row.kind), name=row.name, base_url=row.base_url, options=row.options,
            secrets=read_secrets(row, settings=settings),
        )  # fmt: skip
    if data.is_default is True or (data.is_default is None and row.is_default and "domain_id" in changes):
        _make_default(session, row)
    elif data.is_default is False:
        row.is_default = False
    if data.is_default is not None:
        changes["is_default"] = row.is_default
    session.flush()
    http.forget_breaker(row.id)  # a changed instance starts with a fresh breaker
    if changes:
        audit_service.record(
            session, ctx=ctx, action="integration.update", target_type="integration", target_id=row.id,
            summary=f"changed {row.kind} integration {row.name}", changes=changes,
        )  # fmt: skip
    return row


def delete(session: Session, *, row: Integration, ctx: AuditContext) -> None:
    """Delete an instance and audit it."""
    audit_service.record(
        session, ctx=ctx, action="integration.delete", target_type="integration", target_id=row.id,
        summary=f"deleted {row.kind} integration {row.name}", changes={"kind": row.kind, "name": row.name},
    )  # fmt: skip
    session.delete(row)
    session.flush()
    http.forget_breaker(row.id)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret value (3+ characters) in a text with a mask."""
    for value in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def _failed(name: str, detail: str) -> ConnectionReport:
    return ConnectionReport(checks=[Check(name=name, ok=False, detail=detail)])


def run_check(config: InstanceConfig) -> ConnectionReport:
    """Build the instance's adapter and test it; never raises for a failing instance (NoAdapter aside)."""
    try:
        report = build_adapter(config).test_connection()
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) + f": {e['msg']}" for e in exc.errors())
        report = _failed("configuration", f"{config.name}: invalid configuration ({fields})")
    except IntegrationError as exc:
        report = _failed("connection", exc.detail)
    except Exception as exc:  # a broken adapter must not crash the request or the worker
        logger.warning("integration %s: test failed with %s", config.name, type(exc).__name__)
        report = _failed("connection", f"{config.name}: unexpected failure ({type(exc).__name__})")
    if not report.checks:
        report = _failed("connection", f"{config.name}: the adapter reported no checks")
    secrets = list(config.secrets.values())
    return ConnectionReport(
        checks=[Check(c.name, c.ok, scrub(c.detail, secrets)) for c in report.checks],
        version=scrub(report.version, secrets) if report.version else report.version,
    )


def record_health(row: Integration, report: ConnectionReport) -> None:
    """Store what a test found: status, the failed checks as the last error, and when."""
    row.health = Health.ok.value if report.ok else Health.failing.value
    failed = [f"{c.name}: {c.detail}" for c in report.checks if not c.ok]
    row.last_error = "; ".join(failed)[:LAST_ERROR_LIMIT]
    row.last_checked_at = utcnow()


def config_or_report(row: Integration, *, settings: Settings) -> InstanceConfig | ConnectionReport:
    """The instance config, or a failed report when its secrets no longer decrypt (key changed)."""
    try:
        return instance_config(row, settings=settings)
    except SecretDecryptError:
        return _failed(
            "secrets",
            f"{row.name}: stored secrets cannot be decrypted with the current key "
            "(run `timbel secrets rotate-key`)",
        )


def test(session: Session, *, settings: Settings, row: Integration, ctx: AuditContext) -> ConnectionReport:
    """Test an instance's connection now, record its health and audit the outcome."""
    spec_for(row.kind)  # NoAdapter (501) for a kind without an adapter yet
    config = config_or_report(row, settings=settings)
    report = run_check(config) if isinstance(config, InstanceConfig) else config
    record_health(row, report)
    session.flush()
    audit_service.record(
        session, ctx=ctx, action="integration.test", target_type="integration", target_id=row.id,
        summary=f"tested {row.kind} integration {row.name}: {'ok' if report.ok else 'failing'}",
        changes={"checks": [{"name": c.name, "ok": c.ok} for c in report.checks]},
        outcome="success" if report.ok else "failure",
    )  # fmt: skip
    return report
