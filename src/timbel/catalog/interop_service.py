"""Import a Backstage catalog file into the catalog: validate everything, then upsert all or nothing.

Upserts key on domain code, system slug and (system, component name), so importing the same file
twice changes nothing the second time. Fields the file does not state are left as they are.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.auth.models import DomainMembership
from timbel.auth.principal import Principal
from timbel.catalog import backstage, relation_service, versions
from timbel.catalog.interop_resolve import Handle, Plan, resolve
from timbel.catalog.interop_schemas import WRITTEN_KINDS, ImportNotice, ImportResult, KindCounts
from timbel.catalog.models import Component, Domain, Relation, System, SystemOwner
from timbel.catalog.service import sees_all
from timbel.catalog.system_schemas import EndType, RelationEnd
from timbel.core.errors import ValidationFailed


def import_catalog(session: Session, *, principal: Principal, data: bytes, ctx: AuditContext) -> ImportResult:
    """Import a multi-document catalog-info.yaml; raise ValidationFailed listing every invalid entity."""
    entities, problems = backstage.read_entities(data)
    if not entities and not problems:
        problems.append(backstage.Problem(1, "", "", "the file holds no entities", "backstage.empty"))
    plan = resolve(session, principal=principal, entities=entities)
    problems += plan.problems
    if problems:
        ordered = sorted(problems, key=lambda p: (p.document, p.reason))
        raise ValidationFailed(
            f"The catalog file has {len(ordered)} problem(s); nothing was imported.",
            errors=[p.as_error() for p in ordered],
        )
    counts = {kind: KindCounts() for kind in WRITTEN_KINDS}
    _write_domains(session, plan, principal, counts["Domain"])
    _write_systems(session, plan, counts["System"])
    components = _write_components(session, plan, principal, counts)
    _write_resources(plan, counts["Resource"])
    _write_relations(session, plan, components, principal, counts["Relation"])
    session.flush()
    summary = {kind: c.model_dump() for kind, c in counts.items()}
    audit_service.record(
        session,
        ctx=ctx,
        action="catalog.import",
        target_type="catalog",
        summary="imported a Backstage catalog: "
        + ", ".join(f"{k} +{c.created} ~{c.updated}" for k, c in counts.items() if c.created or c.updated),
        changes={"entities": len(entities), "counts": summary, "warnings": len(plan.warnings)},
    )
    return ImportResult(
        entities=len(entities),
        counts=counts,
        owners_resolved=plan.owners_resolved,
        warnings=[
            ImportNotice(document=w.document, kind=w.kind, name=w.name, reason=w.reason)
            for w in plan.warnings
        ],
    )


def _apply(row: Any, fields: dict[str, Any]) -> bool:
    """Set the fields that differ; tell whether anything changed."""
    changed = False
    for name, value in fields.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _tally(counts: KindCounts, *, created: bool, changed: bool) -> None:
    if created:
        counts.created += 1
    elif changed:
        counts.updated += 1
    else:
        counts.unchanged += 1


def _write_domains(session: Session, plan: Plan, principal: Principal, counts: KindCounts) -> None:
    for item in plan.domains:
        fields = dict(item.fields)
        if item.owners is not None:
            fields["owner_id"] = item.owners[0] if item.owners else None
        domain: Domain | None = item.existing
        if domain is None:
            domain = Domain(**{"name": fields["code"], **fields})
            session.add(domain)
            session.flush()
            if not sees_all(principal):
                session.add(DomainMembership(user_id=principal.user_id, domain_id=domain.id))
            plan.domains_by_code[domain.code] = domain
            _tally(counts, created=True, changed=True)
        else:
            _tally(counts, created=False, changed=_apply(domain, fields))


def _write_systems(session: Session, plan: Plan, counts: KindCounts) -> None:
    existing_ids = [i.existing.id for i in plan.systems if i.existing is not None and i.owners is not None]
    owners: dict[str, set[str]] = {}
    if existing_ids:
        for row in session.scalars(select(SystemOwner).where(SystemOwner.system_id.in_(existing_ids))):
            owners.setdefault(row.system_id, set()).add(row.user_id)
    for item in plan.systems:
        fields = dict(item.fields)
        system: System | None = item.existing
        created = system is None
        if system is None:
            domain = plan.domains_by_code[item.parent]
            system = System(domain_id=domain.id, **{"name": fields["slug"], **fields})
            session.add(system)
            session.flush()
            plan.systems_by_slug[system.slug] = system
            changed = True
        else:
            changed = _apply(system, fields)
        if item.owners is not None:
            changed = _set_owners(session, system, owners.get(system.id, set()), item.owners) or changed
        _tally(counts, created=created, changed=changed)


def _set_owners(session: Session, system: System, current: set[str], wanted: list[str]) -> bool:
    for user_id in set(wanted) - current:
        session.add(SystemOwner(system_id=system.id, user_id=user_id))
    gone = current - set(wanted)
    if gone:
        stmt = select(SystemOwner).where(SystemOwner.system_id == system.id, SystemOwner.user_id.in_(gone))
        for row in session.scalars(stmt):
            session.delete(row)
    return set(wanted) != current


def _write_components(
    session: Session, plan: Plan, principal: Principal, counts: dict[str, KindCounts]
) -> dict[str, Component]:
    """Upsert components and APIs; every created or changed one gets a version."""
    by_entity: dict[str, Component] = {}
    for item in plan.components:
        system = plan.systems_by_slug[item.parent]
        component: Component | None = item.existing
        created = component is None
        if component is None:
            component = Component(domain_id=system.domain_id, system_id=system.id, **item.fields)
            session.add(component)
            changed = True
        else:
            changed = _apply(component, item.fields)
            if changed:
                component.version += 1
        if changed:
            versions.record(session, asset=component, author_id=principal.user_id)
        by_entity["/".join(item.entity.ref.key)] = component
        _tally(counts[item.entity.kind], created=created, changed=changed)
    return by_entity


def _write_resources(plan: Plan, counts: KindCounts) -> None:
    for item in plan.resources:
        system = plan.systems_by_slug[item.parent]
        datastore = item.fields["datastore"]
        if datastore.lower() in (d.lower() for d in system.datastores):
            counts.unchanged += 1
        else:
            system.datastores = [*system.datastores, datastore]
            counts.created += 1


Ends = tuple[str | None, str | None]  # (system id, component id), exactly one set


def relation_key(kind: str, source: Ends, target: Ends) -> str:
    """Return an edge's unique key, exactly as the relation service builds it."""

    def end(pair: Ends) -> RelationEnd:
        if pair[0]:
            return RelationEnd(type=EndType.system, id=pair[0])
        return RelationEnd(type=EndType.component, id=str(pair[1]))

    return relation_service.relation_key(kind, end(source), end(target))


def _write_relations(
    session: Session, plan: Plan, components: dict[str, Component], principal: Principal, counts: KindCounts
) -> None:
    def ends(handle: Handle) -> Ends:
        if handle[0] == "system":
            return (plan.systems_by_slug[handle[1]].id, None)
        if handle[0] == "entity":
            return (None, components[handle[1]].id)
        return (None, handle[1])

    session.flush()
    edges = [(kind, ends(source), ends(target), source) for _, kind, source, target in plan.relations]
    if not edges:
        return
    system_ids = {s for _, (s, _), _, _ in edges if s}
    component_ids = {c for _, (_, c), _, _ in edges if c}
    rows = session.scalars(
        select(Relation).where(
            or_(Relation.source_system_id.in_(system_ids), Relation.source_component_id.in_(component_ids))
        )
    )
    existing = {
        (r.kind, (r.source_system_id, r.source_component_id), (r.target_system_id, r.target_component_id))
        for r in rows
    }
    for kind, source, target, handle in edges:
        if (kind, source, target) in existing:
            counts.unchanged += 1
            continue
        existing.add((kind, source, target))
        owner = plan.systems_by_slug[handle[1]] if handle[0] == "system" else components[handle[1]]
        session.add(
            Relation(
                domain_id=owner.domain_id,
                key=relation_key(kind, source, target),
                kind=kind,
                source_system_id=source[0],
                source_component_id=source[1],
                target_system_id=target[0],
                target_component_id=target[1],
                created_by=principal.user_id,
            )
        )
        counts.created += 1
