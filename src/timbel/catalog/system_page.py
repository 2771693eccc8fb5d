"""What the system pages show besides the form: choices, relations, the embedded graph data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request

from timbel.auth.models import User
from timbel.auth.principal import Principal
from timbel.catalog import relation_graph, relation_service, system_read, system_service
from timbel.catalog import service as catalog_service
from timbel.catalog import system_forms as forms
from timbel.catalog.models import Component, Project, System
from timbel.core.pagination import PageParams
from timbel.web import i18n

OPTIONS = 300


def domains(session: Session, principal: Principal) -> list[Any]:
    """Return the visible domains (for filters and the new-system form)."""
    rows, _ = catalog_service.list_domains(session, principal=principal, paging=PageParams(per_page=200))
    return rows


def form_options(session: Session, principal: Principal, system: System | None) -> dict[str, Any]:
    """Return the choices of the system form: domains, projects (of the system's domain) and users."""
    projects = select(Project.id, Project.name, Project.domain_id).order_by(Project.name).limit(OPTIONS)
    limit = system_service.visible_filter(principal, Project.domain_id)
    if system is not None:
        projects = projects.where(Project.domain_id == system.domain_id)
    elif limit is not None:
        projects = projects.where(limit)
    users = select(User.id, User.username, User.display_name).order_by(User.username).limit(OPTIONS)
    return {
        "domains": domains(session, principal),
        "projects": session.execute(projects).all(),
        "users": session.execute(users).all(),
    }


def graph_data(request: Request, session: Session, principal: Principal, system: System) -> dict[str, Any]:
    """Return the graph the page embeds as JSON, with labels in the reader's language."""
    graph = relation_graph.build(session, principal=principal, system=system, depth=2)
    with i18n.use_locale(i18n.locale_for(request)):
        labels = {kind: i18n.gettext(label) for kind, label in forms.RELATION_LABELS.items()}
        types = {kind: i18n.gettext(label) for kind, label in forms.TYPE_LABELS.items()}
    return {**graph.model_dump(mode="json"), "focus": system.id, "labels": labels, "types": types}


def relation_choices(session: Session, principal: Principal, system: System) -> dict[str, Any]:
    """Options of the add-relation form: the system and its parts as sources, visible entries as targets."""
    own = session.execute(
        select(Component.id, Component.name).where(Component.system_id == system.id).order_by(Component.name)
    )
    systems = select(System.id, System.name).order_by(System.name).limit(OPTIONS)
    parts = (
        select(Component.id, Component.name, Component.kind, System.name.label("system"))
        .join(System, System.id == Component.system_id)
        .order_by(System.name, Component.name)
        .limit(OPTIONS)
    )
    limit = system_service.visible_filter(principal, System.domain_id)
    if limit is not None:
        systems, parts = systems.where(limit), parts.where(limit)
    return {
        "sources": [("system:" + system.id, system.name)] + [("component:" + c.id, c.name) for c in own],
        "target_systems": [("system:" + s.id, s.name) for s in session.execute(systems)],
        "target_components": [
            ("component:" + c.id, f"{c.name} ({c.system}, {c.kind})") for c in session.execute(parts)
        ],
    }


def detail(request: Request, session: Session, principal: Principal, system: System) -> dict[str, Any]:
    """Return what a system's page shows beside the form: overview, relations, graph, choices."""
    around = relation_service.list_around(session, principal=principal, system=system)
    return {
        "info": system_read.read(session, system=system),
        "relations": system_read.relation_reads(session, relations=around),
        "graph": graph_data(request, session, principal, system),
        "choices": relation_choices(session, principal, system),
    }
