"""Export the visible catalog (or one domain) as a Backstage catalog-info.yaml.

Domains, systems, components (``kind='api'`` as API entities), one Resource per datastore, and
relations whose two ends are both exported. Projects, documents and design assets have no Backstage
kind and stay out. Reads a fixed number of queries; the text is deterministic.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from timbel.auth.models import User
from timbel.auth.principal import Principal
from timbel.catalog import backstage_export as bx
from timbel.catalog.models import Component, Domain, Relation, System, SystemOwner
from timbel.catalog.service import sees_all
from timbel.core.errors import NotFound


def visible_domains(session: Session, *, principal: Principal, domain: str | None) -> list[Domain]:
    """Return the domains to export, by code; ``domain`` (id or code) narrows to one or raises NotFound."""
    stmt = select(Domain)
    if not sees_all(principal):
        stmt = stmt.where(Domain.id.in_(principal.domain_ids))
    if domain:
        stmt = stmt.where(or_(Domain.id == domain, Domain.code == domain.strip().lower()))
    rows = list(session.scalars(stmt.order_by(Domain.code)))
    if domain and not rows:
        raise NotFound("No such domain.")
    return rows


def export_catalog(session: Session, *, principal: Principal, domain: str | None = None) -> str:
    """Return the catalog-info.yaml text of the visible catalog or of one visible domain."""
    domains = visible_domains(session, principal=principal, domain=domain)
    domain_ids = [d.id for d in domains]
    systems = list(
        session.scalars(select(System).where(System.domain_id.in_(domain_ids)).order_by(System.slug))
    )
    system_by_id = {s.id: s for s in systems}
    components = list(session.scalars(select(Component).where(Component.system_id.in_(list(system_by_id)))))
    owners: dict[str, list[str]] = defaultdict(list)
    for system_id, username in session.execute(
        select(SystemOwner.system_id, User.username)
        .join(User, User.id == SystemOwner.user_id)
        .where(SystemOwner.system_id.in_(list(system_by_id)))
    ):
        owners[system_id].append(username)
    domain_owner_ids = {d.owner_id for d in domains if d.owner_id}
    usernames: dict[str, str] = {}
    if domain_owner_ids:
        rows = session.execute(select(User.id, User.username).where(User.id.in_(domain_owner_ids)))
        usernames = {user_id: username for user_id, username in rows}
    names = bx.unique_names([(c.id, c.name, system_by_id[c.system_id].slug) for c in components])
    refs: dict[str, str] = {s.id: f"system:{s.slug}" for s in systems}
    refs |= {c.id: f"{'api' if c.kind == 'api' else 'component'}:{names[c.id]}" for c in components}
    relations = _relations(session, refs)
    documents: list[dict[str, Any]] = []
    code_of = {d.id: d.code for d in domains}
    for d in domains:
        documents.append(bx.domain_document(d, owner=usernames.get(d.owner_id or "")))
    for s in systems:
        documents.append(
            bx.system_document(
                s, domain_code=code_of[s.domain_id], owners=owners[s.id], relations=relations[s.id]
            )
        )
    for c in sorted(components, key=lambda c: (system_by_id[c.system_id].slug, names[c.id].lower())):
        system = system_by_id[c.system_id]
        documents.append(
            bx.component_document(
                c, name=names[c.id], system=system, owners=owners[system.id], relations=relations[c.id]
            )
        )
    stores = [
        (f"{s.id}#{i}", bx.sanitize(ds) or "store", s.slug)
        for s in systems
        for i, ds in enumerate(s.datastores)
    ]
    store_names = bx.unique_names([(key, f"{slug}-{name}", slug) for key, name, slug in stores])
    for s in systems:
        for i, datastore in enumerate(s.datastores):
            name = store_names[f"{s.id}#{i}"]
            documents.append(
                bx.resource_document(name=name, datastore=datastore, system=s, owners=owners[s.id])
            )
    return bx.dump(documents)


def _relations(session: Session, refs: dict[str, str]) -> dict[str, dict[str, list[str]]]:
    """Return, per exported source id, relation kind → target refs (only edges inside the export)."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    if not refs:
        return found
    ids = list(refs)
    rows = session.execute(
        select(
            Relation.kind,
            Relation.source_system_id,
            Relation.source_component_id,
            Relation.target_system_id,
            Relation.target_component_id,
        ).where(or_(Relation.source_system_id.in_(ids), Relation.source_component_id.in_(ids)))
    )
    for kind, src_system, src_component, dst_system, dst_component in rows:
        source, target = src_system or src_component, dst_system or dst_component
        if source in refs and target in refs and refs[target] not in found[source][kind]:
            found[source][kind].append(refs[target])
    return found
