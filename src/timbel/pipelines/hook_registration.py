"""Register, replace and delete the GitHub push webhook of a pipeline, or say how to add it by hand.

Why: a push trigger only fires when the repository's host calls ``<public URL>/hooks/github``. When the
system's repository lives on a configured GitHub instance with a webhook secret, Timbel creates that hook
with the instance's token (adopting one that already points at Timbel); otherwise (no instance, no secret,
GitHub refuses) the pipeline keeps state ``manual`` and the triggers API gives the exact settings to enter.
The secret itself is never returned or stored here. Services flush, never commit.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.catalog.models import System
from timbel.core.crypto import SecretDecryptError
from timbel.core.db import utcnow
from timbel.core.errors import IntegrationError, IntegrationUnavailable, ValidationFailed
from timbel.core.settings import Settings
from timbel.integrations import service as integrations
from timbel.integrations.base import IntegrationKind
from timbel.integrations.github.adapter import GitHubAdapter, from_instance
from timbel.integrations.github.client import GitHubNotFound
from timbel.integrations.github.credentials import pick_instance
from timbel.integrations.models import Integration
from timbel.pipelines.run_models import Pipeline
from timbel.pipelines.triggers import (
    HOOK_CONTENT_TYPE,
    HOOK_EVENTS,
    HOOK_PATH,
    HookState,
    PipelineHook,
    WebhookRead,
)
from timbel.webhooks.models import WebhookDelivery
from timbel.webhooks.urls import repo_key

logger = logging.getLogger(__name__)
INSTRUCTIONS = (
    "On GitHub, open the repository's Settings → Webhooks → Add webhook.",
    "Payload URL: {url}",
    "Content type: application/json",
    "Secret: use the webhook secret configured on the GitHub integration in Timbel.",
    "Which events: Just the push event; keep the webhook Active.",
)


def public_url(request: Request) -> str:
    """Timbel's public base URL: ``http.public_url`` when configured, else the URL this request came to."""
    configured = request.app.state.settings.http.public_url
    return str(configured or request.base_url).rstrip("/")


def hook_url(base_url: str) -> str:
    """The payload URL GitHub posts pushes to."""
    return base_url.rstrip("/") + HOOK_PATH


def github_target(repo_url: str) -> tuple[str, str] | None:
    """(``host[:port]``, ``owner/name``) of a repository URL, or None when it is not shaped like GitHub's."""
    key = repo_key(repo_url or "")
    host, _, path = key.partition("/")
    if not host or path.count("/") != 1:
        return None
    return host, path


def _instance(session: Session, *, host: str, domain_id: str | None) -> Integration | None:
    rows = session.scalars(select(Integration).where(Integration.kind == IntegrationKind.github.value))
    return pick_instance(rows, host=host, domain_id=domain_id)


def _hook_row(session: Session, pipeline: Pipeline) -> PipelineHook | None:
    return session.scalar(select(PipelineHook).where(PipelineHook.pipeline_id == pipeline.id))


def _save(session: Session, pipeline: Pipeline, **values: Any) -> PipelineHook:
    row = _hook_row(session, pipeline)
    if row is None:
        row = PipelineHook(pipeline_id=pipeline.id)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.flush()
    return row


def _adapter(row: Integration, settings: Settings) -> tuple[GitHubAdapter, str] | str:
    """The instance's adapter and webhook secret, or why Timbel cannot use it (a message without secrets)."""
    try:
        config = integrations.instance_config(row, settings=settings)
    except SecretDecryptError:
        return f"The secrets of GitHub integration {row.name!r} cannot be decrypted."
    secret = config.secrets.get("webhook_secret")
    if not secret:
        return f"GitHub integration {row.name!r} has no webhook secret."
    try:
        return from_instance(config), secret
    except ValidationError:
        return f"GitHub integration {row.name!r} is not configured completely (token?)."


def _register(adapter: GitHubAdapter, repo: str, url: str, secret: str) -> int:
    """Create the hook, or adopt one that already posts to ``url``; return its id."""
    for hook in adapter.hooks(repo):
        if hook.url == url:
            return hook.id
    return adapter.create_hook(repo, url=url, secret=secret, events=HOOK_EVENTS).id


def _drop_registered(session: Session, row: PipelineHook, settings: Settings) -> str:
    """Delete the hook Timbel registered; return "" or why it could not."""
    if row.hook_id is None or row.integration_id is None:  # only hooks Timbel made have an id here
        return ""
    instance = session.get(Integration, row.integration_id)
    if instance is None:
        return "the GitHub integration that registered it is gone"
    made = _adapter(instance, settings)
    if isinstance(made, str):
        return made
    adapter, _ = made
    try:
        adapter.delete_hook(row.repository, row.hook_id)
    except GitHubNotFound:
        pass  # already deleted on GitHub
    except (IntegrationError, ValidationFailed) as exc:
        return str(exc.detail or exc.title)
    finally:
        adapter.close()
    return ""


def ensure_hook(
    session: Session, *, pipeline: Pipeline, settings: Settings, public_url: str, ctx: AuditContext
) -> PipelineHook:
    """Have GitHub post the pipeline's pushes to Timbel (registered), or record why it must be manual."""
    system = session.get(System, pipeline.system_id)
    url = hook_url(public_url)
    target = github_target(system.repo_url or "") if system is not None else None
    if system is None or target is None:
        return _save(session, pipeline, state=HookState.manual.value, url=url, hook_id=None,
                     integration_id=None, repository="",
                     detail="The system's repository URL is not a GitHub owner/name URL.")  # fmt: skip
    host, repo = target
    instance = _instance(session, host=host, domain_id=system.domain_id)
    if instance is None:
        return _save(session, pipeline, state=HookState.manual.value, url=url, hook_id=None,
                     integration_id=None, repository=repo,
                     detail=f"No GitHub integration is configured for {host}.")  # fmt: skip
    row = _hook_row(session, pipeline)
    if (
        row is not None
        and row.state == HookState.registered.value
        and (row.integration_id, row.repository, row.url) == (instance.id, repo, url)
    ):
        return row
    if row is not None:
        _drop_registered(session, row, settings)  # moved (URL, repository or instance changed): best effort
    return _create(
        session, pipeline=pipeline, instance=instance, repo=repo, url=url, settings=settings, ctx=ctx
    )


def _create(
    session: Session,
    *,
    pipeline: Pipeline,
    instance: Integration,
    repo: str,
    url: str,
    settings: Settings,
    ctx: AuditContext,
) -> PipelineHook:
    common: dict[str, Any] = {"integration_id": instance.id, "repository": repo, "url": url, "hook_id": None}
    made = _adapter(instance, settings)
    if isinstance(made, str):
        return _save(session, pipeline, state=HookState.manual.value, detail=made, **common)
    adapter, secret = made
    try:
        hook_id = _register(adapter, repo, url, secret)
    except (IntegrationError, ValidationFailed) as exc:
        state = HookState.failed if isinstance(exc, IntegrationUnavailable) else HookState.manual
        message = integrations.scrub(str(exc.detail or exc.title), [secret])
        detail = f"GitHub integration {instance.name!r} could not register the webhook: {message}"
        return _save(session, pipeline, state=state.value, detail=detail[:2000], **common)
    finally:
        adapter.close()
    row = _save(
        session, pipeline, state=HookState.registered.value, detail="", **common | {"hook_id": hook_id}
    )
    audit_service.record(
        session, ctx=ctx, action="pipeline.webhook.register", target_type="pipeline", target_id=pipeline.id,
        summary=f"Registered the push webhook of {repo} on GitHub integration {instance.name}",
        changes={"hook_id": hook_id, "integration_id": instance.id, "url": url},
    )  # fmt: skip
    return row


def remove_hook(
    session: Session, *, pipeline: Pipeline, settings: Settings, ctx: AuditContext
) -> PipelineHook | None:
    """Delete the webhook Timbel registered (the row goes too); a failure keeps the row as ``failed``."""
    row = _hook_row(session, pipeline)
    if row is None:
        return None
    registered = row.hook_id is not None
    problem = _drop_registered(session, row, settings)
    if problem:
        row.state, row.detail = (
            HookState.failed.value,
            f"Could not delete the webhook on GitHub: {problem}"[:2000],
        )
        session.flush()
        return row
    if registered:
        audit_service.record(
            session, ctx=ctx, action="pipeline.webhook.delete", target_type="pipeline", target_id=pipeline.id,
            summary=f"Deleted the push webhook of {row.repository}", changes={"hook_id": row.hook_id},
        )  # fmt: skip
    session.delete(row)
    session.flush()
    return None


def sync_hook(
    session: Session, *, pipeline: Pipeline, settings: Settings, public_url: str, ctx: AuditContext
) -> PipelineHook | None:
    """Register the webhook when the push trigger is on, delete it when off."""
    if pipeline.push_enabled:
        return ensure_hook(session, pipeline=pipeline, settings=settings, public_url=public_url, ctx=ctx)
    return remove_hook(session, pipeline=pipeline, settings=settings, ctx=ctx)


def last_delivery_at(session: Session, *, system_id: str) -> datetime | None:
    """When the newest webhook delivery naming the system arrived (None: never)."""
    return session.scalar(
        select(WebhookDelivery.received_at)
        .where(cast(WebhookDelivery.system_ids, String).like(f'%"{system_id}"%'))
        .order_by(WebhookDelivery.received_at.desc())
        .limit(1)
    )


def status(session: Session, *, pipeline: Pipeline, public_url: str) -> WebhookRead:
    """The pipeline's webhook as the triggers API shows it (instructions unless Timbel registered it)."""
    row = _hook_row(session, pipeline)
    url = row.url if row is not None and row.url else hook_url(public_url)
    if row is None:
        state = HookState.manual if pipeline.push_enabled else HookState.off
        detail = "Timbel has not registered a webhook for this pipeline yet." if pipeline.push_enabled else ""
    else:
        state, detail = HookState(row.state), row.detail
    instance = (
        session.get(Integration, row.integration_id) if row is not None and row.integration_id else None
    )
    manual = state in (HookState.manual, HookState.failed) and pipeline.push_enabled
    return WebhookRead(
        state=state,
        url=url,
        content_type=HOOK_CONTENT_TYPE,
        events=list(HOOK_EVENTS),
        hook_id=row.hook_id if row is not None else None,
        integration_id=instance.id if instance is not None else None,
        integration_name=instance.name if instance is not None else None,
        repository=row.repository if row is not None else "",
        detail=detail,
        instructions=[line.format(url=url) for line in INSTRUCTIONS] if manual else [],
        last_delivery_at=last_delivery_at(session, system_id=pipeline.system_id),
    )
