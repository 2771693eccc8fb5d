"""Deployment read API: "what runs where", a system's timeline, release diff, and live streams (SSE).

Everything needs ``deploy:read`` and is scoped to the caller's domains (others answer 404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import StreamingResponse

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import system_service
from timbel.core.deps import SessionDep, SettingsDep
from timbel.core.errors import NotFound
from timbel.deployments import dashboard, detail, diff, events, read_service, service
from timbel.deployments.models import Release

router = APIRouter(prefix="/api/v1", tags=["deployments"])
Reader = Annotated[Principal, Depends(require(Permission.deploy_read))]
Timing = Annotated[events.EventTiming, Depends(events.event_timing)]


@router.get("/deployments/matrix")
def deployment_matrix(
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    domain: Annotated[str | None, Query(max_length=100)] = None,
) -> list[dict[str, Any]]:
    """What runs where: per visible domain, systems × environments with release, digests, state and drift."""
    groups = read_service.matrix(session, principal=principal, settings=settings, domain=domain)
    return [dict(g) for g in groups]


@router.get("/systems/{system_id}/deployments/timeline")
def deployment_timeline(
    system_id: str,
    principal: Reader,
    session: SessionDep,
    env: Annotated[str | None, Query(max_length=32)] = None,
) -> list[dict[str, Any]]:
    """Every deployment of a system (optionally one environment), newest first."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    return read_service.timeline(session, system=system, env=env or None)


def visible_release(session: Session, *, principal: Principal, release_id: str) -> Release:
    """A release whose system the caller may see, or NotFound."""
    release = session.get(Release, release_id)
    if release is None:
        raise NotFound("No such release.")
    try:
        system_service.get_visible_or_raise(session, principal=principal, system_id=release.system_id)
    except NotFound as exc:
        raise NotFound("No such release.") from exc
    return release


@router.get("/releases/diff")
def release_diff(
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    a: Annotated[str, Query(min_length=1, max_length=36)],
    b: Annotated[str, Query(min_length=1, max_length=36)],
) -> dict[str, Any]:
    """Compare two releases of the same system (422 otherwise): commits, images, values."""
    first = visible_release(session, principal=principal, release_id=a)
    second = visible_release(session, principal=principal, release_id=b)
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=first.system_id)
    return diff.release_diff(session, settings=settings, system=system, a=first, b=second)


@router.get("/dashboard")
def dashboard_snapshot(principal: Reader, session: SessionDep) -> dict[str, Any]:
    """The operations dashboard's figures now (what the event stream sends)."""
    return dashboard.snapshot(session, principal=principal)


@router.get("/dashboard/events", response_class=StreamingResponse)
def dashboard_events(request: Request, principal: Reader, timing: Timing) -> StreamingResponse:
    """The dashboard live: a ``snapshot`` event (JSON) at once and whenever a figure changes."""

    def build(session: Session) -> tuple[str, str, bool]:
        return "snapshot", events.to_json(dashboard.snapshot(session, principal=principal)), False

    return events.response(
        events.changes(
            request,
            marker=lambda s: dashboard.change_marker(s, principal=principal),
            build=build,
            timing=timing,
        )
    )


@router.get("/deployments/{deployment_id}/events", response_class=StreamingResponse)
def deployment_events(
    deployment_id: str, request: Request, principal: Reader, session: SessionDep, timing: Timing
) -> StreamingResponse:
    """A deployment live: a ``deployment`` event (JSON) on every change; ``end`` once it is terminal."""
    row = read_service.visible_deployment(session, principal=principal, deployment_id=deployment_id)

    def build(s: Session) -> tuple[str, str, bool]:
        data = detail.detail(s, deployment=service.get_deployment(s, deployment_id=row.id))
        return ("end" if data["terminal"] else "deployment"), events.to_json(data), bool(data["terminal"])

    return events.response(
        events.changes(
            request,
            marker=lambda s: detail.change_marker(s, deployment_id=row.id),
            build=build,
            timing=timing,
        )
    )
