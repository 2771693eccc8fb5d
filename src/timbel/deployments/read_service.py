"""What the deployment pages read: "what runs where" per system and environment, timelines, one deployment.

Why a read module: pages and the JSON API show the same records; every figure here comes from deployment
rows (scoped to the caller's domains), the GitOps working clone (read once per repository per request) and,
only for the matrix, the live targets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.auth.models import User
from timbel.auth.principal import Principal
from timbel.catalog import service as catalog_service
from timbel.catalog import system_service
from timbel.catalog.models import Domain, System
from timbel.core.errors import NotFound
from timbel.core.settings import Settings
from timbel.deployments import drift, service
from timbel.deployments.models import ACTIVE_STATES, Deployment, Environment, Release

TIMELINE_LIMIT = 200


def short_digest(digest: str | None) -> str:
    """``sha256:0123456789ab`` from a full digest (empty when none)."""
    if not digest:
        return ""
    algorithm, _, value = digest.partition(":")
    return f"{algorithm}:{value[:12]}" if value else digest[:19]


def image_rows(release: Release | None) -> list[dict[str, str]]:
    """A release's images for display: service, repository, tag, full and short digest."""
    if release is None:
        return []
    return [
        {
            "service": str(image.get("service", "")),
            "repository": str(image.get("repository", "")),
            "tag": str(image.get("tag", "")),
            "digest": str(image.get("digest") or ""),
            "short": short_digest(image.get("digest")),
        }
        for image in release.images
    ]


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds from ``start`` to ``end`` (None when either is missing)."""
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def usernames(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    """User id → username for some ids."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all()
    return {str(user_id): str(name) for user_id, name in rows}


def visible_domains(session: Session, *, principal: Principal, domain: str | None = None) -> list[Domain]:
    """Domains the caller may see, by code order; ``domain`` (id or code) narrows to one (404 if unseen)."""
    query = select(Domain).order_by(Domain.code)
    limit = system_service.visible_filter(principal, Domain.id)
    if limit is not None:
        query = query.where(limit)
    rows = list(session.scalars(query))
    if domain:
        rows = [d for d in rows if domain in (d.id, d.code)]
        if not rows:
            raise NotFound("No such domain.")
    return rows


def releases_by_id(session: Session, ids: Iterable[str | None]) -> dict[str, Release]:
    """Releases by id."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {r.id: r for r in session.scalars(select(Release).where(Release.id.in_(wanted)))}


def latest_by_cell(session: Session, system_ids: Sequence[str]) -> dict[tuple[str, str], Deployment]:
    """The newest deployment of any state per (system id, environment)."""
    if not system_ids:
        return {}
    return service.newest_per_cell(session, where=[Deployment.system_id.in_(system_ids)])


def _cell(
    *,
    system: System,
    env: Environment,
    next_env: str | None,
    current: Deployment | None,
    latest: Deployment | None,
    release: Release | None,
    names: dict[str, str],
    git: drift.Side,
    live: drift.Side,
) -> dict[str, Any]:
    return {
        "environment": env.name,
        "target_kind": env.target_kind,
        "deployment_id": current.id if current else None,
        "release_id": release.id if release else None,
        "version": release.version if release else None,
        "images": image_rows(release),
        "deployed_at": (current.finished_at or current.created_at) if current else None,
        "deployed_by": (current.requested_by or names.get(current.requested_by_id or "", ""))
        if current
        else "",
        "health": current.health if current else "",
        "last": None
        if latest is None
        else {
            "id": latest.id,
            "state": latest.state,
            "kind": latest.kind,
            "active": latest.state in ACTIVE_STATES,
            "created_at": latest.created_at,
        },
        "drift": {"git": git.as_dict(), "live": live.as_dict()},
        "timeline_url": f"/systems/{system.id}/deployments?env={env.name}",
        "promote_url": f"/systems/{system.id}/promote?to={next_env}" if next_env and current else None,
        "next_environment": next_env,
    }


def matrix(
    session: Session,
    *,
    principal: Principal,
    settings: Settings,
    domain: str | None = None,
    live: drift.LiveFn | None = None,
) -> list[dict[str, Any]]:
    """Systems × environments per visible domain: release, digests, who/when, last state, health, drift."""
    ask = live or drift.default_live(session, settings)
    # Read every domain's rows first, then the values files of all of them at once: one working-clone read
    # per repository per request, however many domains share it.
    loaded = []
    wanted: list[tuple[Domain, System, str]] = []
    for dom in visible_domains(session, principal=principal, domain=domain):
        envs = service.environments_for(session, domain_id=dom.id)
        systems = list(
            session.scalars(select(System).where(System.domain_id == dom.id).order_by(System.name))
        )
        ids = [s.id for s in systems]
        current = service.current_releases(session, system_ids=ids)
        latest = latest_by_cell(session, ids)
        releases = releases_by_id(session, (d.release_id for d in current.values()))
        names = usernames(session, (d.requested_by_id for d in current.values()))
        wanted += [(dom, s, e.name) for s in systems for e in envs if (s.id, e.name) in current]
        loaded.append((dom, envs, systems, current, latest, releases, names))
    texts, failed = drift.read_values(session, settings=settings, wanted=wanted) if wanted else ({}, set())
    groups: list[dict[str, Any]] = []
    for dom, envs, systems, current, latest, releases, names in loaded:
        rows = []
        for system in systems:
            cells = {}
            for index, env in enumerate(envs):
                key = (system.id, env.name)
                dep = current.get(key)
                release = releases.get(dep.release_id) if dep else None
                if key in failed:
                    git = drift.Side(drift.UNREADABLE, detail="the GitOps repository could not be read")
                else:
                    git = drift.git_side(release, texts.get(key))
                status = ask(system, env) if dep and env.target_kind != "gitops" else None
                cells[env.name] = _cell(
                    system=system,
                    env=env,
                    next_env=envs[index + 1].name if index + 1 < len(envs) else None,
                    current=dep,
                    latest=latest.get(key),
                    release=release,
                    names=names,
                    git=git,
                    live=drift.live_side(release, env, status),
                )
            rows.append(
                {
                    "id": system.id,
                    "slug": system.slug,
                    "name": system.name,
                    "stage": system.stage,
                    "cells": cells,
                }
            )
        groups.append(
            {
                "domain": {"id": dom.id, "code": dom.code, "name": dom.name},
                "environments": [e.name for e in envs],
                "systems": rows,
            }
        )
    return groups


def deployment_summary(row: Deployment, release: Release | None, names: dict[str, str]) -> dict[str, Any]:
    """One deployment as a timeline or list entry."""
    return {
        "id": row.id,
        "system_id": row.system_id,
        "environment": row.environment,
        "kind": row.kind,
        "state": row.state,
        "emergency": row.emergency,
        "release_id": row.release_id,
        "version": release.version if release else "",
        "actor": row.requested_by or names.get(row.requested_by_id or "", ""),
        "reason": row.reason,
        "created_at": row.created_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "duration_seconds": seconds_between(
            row.started_at or row.approved_at or row.created_at, row.finished_at
        ),
        "gitops_sha": row.gitops_sha,
        "health": row.health,
    }


def timeline(session: Session, *, system: System, env: str | None = None) -> list[dict[str, Any]]:
    """Every deployment of a system (optionally one environment), newest first."""
    query = select(Deployment).where(Deployment.system_id == system.id)
    if env:
        query = query.where(Deployment.environment == env)
    rows = list(
        session.scalars(
            query.order_by(Deployment.created_at.desc(), Deployment.id.desc()).limit(TIMELINE_LIMIT)
        )
    )
    releases = releases_by_id(session, (r.release_id for r in rows))
    names = usernames(session, (r.requested_by_id for r in rows))
    return [deployment_summary(r, releases.get(r.release_id), names) for r in rows]


def visible_deployment(session: Session, *, principal: Principal, deployment_id: str) -> Deployment:
    """A deployment in a domain the caller may see, or NotFound."""
    row = session.get(Deployment, deployment_id)
    if row is None or not (catalog_service.sees_all(principal) or row.domain_id in principal.domain_ids):
        raise NotFound("No such deployment.")
    return row
