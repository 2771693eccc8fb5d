"""Resolve a Backstage file against itself and the visible catalog before anything is written.

Every reference (spec.domain, spec.system, relations, owners) must name an entity in the file or one
the caller can see; each failure becomes a problem on the entity that made it. The database is read
with a fixed handful of queries, whatever the file's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from timbel.auth.principal import Principal
from timbel.catalog import backstage_map as bmap
from timbel.catalog.backstage import Entity, EntityRef, Problem, parse_ref
from timbel.catalog.interop_owners import OwnerResolver
from timbel.catalog.models import Component, Domain, System
from timbel.catalog.service import sees_all

# ("system", slug) | ("entity", file entity key) | ("row", component id)
Handle = tuple[str, str]


@dataclass
class Item:
    """One entity to write, with the fields the file states and where it belongs."""

    entity: Entity
    fields: dict[str, Any]
    parent: str = ""  # domain code of a system, system slug of a component or resource
    existing: Any = None
    owners: list[str] | None = None  # Timbel user ids; None = the file does not change owners


@dataclass
class Plan:
    """Everything an import will write, once no problem was found."""

    domains: list[Item] = field(default_factory=list)
    systems: list[Item] = field(default_factory=list)
    components: list[Item] = field(default_factory=list)
    resources: list[Item] = field(default_factory=list)
    relations: list[tuple[Entity, str, Handle, Handle]] = field(default_factory=list)
    domains_by_code: dict[str, Domain] = field(default_factory=dict)
    systems_by_slug: dict[str, System] = field(default_factory=dict)
    components_by_id: dict[str, Component] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    owners_resolved: int = 0


def _key(ref: EntityRef) -> str:
    return "/".join(ref.key)


def _parent_ref(entity: Entity, spec_field: str, kind: str) -> EntityRef:
    value = entity.spec.get(spec_field)
    if value is None:
        raise ValueError(f"spec.{spec_field} is missing (every Timbel {entity.kind.lower()} needs one)")
    ref = parse_ref(value, default_kind=kind)
    if ref.kind != kind:
        raise ValueError(f"spec.{spec_field} must refer to a {kind}")
    return ref


def resolve(session: Session, *, principal: Principal, entities: list[Entity]) -> Plan:
    """Map and resolve every entity; problems and warnings are collected on the plan."""
    plan = Plan()
    parsed: list[tuple[Item, list[tuple[str, EntityRef]], list[EntityRef] | None, list[EntityRef]]] = []
    for entity in entities:
        if entity.kind in ("Group", "User"):
            continue
        try:
            parsed.append(_parse(entity))
        except ValueError as exc:
            plan.problems.append(entity.problem(str(exc)))
    _load(session, plan, parsed, entities)
    visible = _visibility(principal)
    file_domains = {e.name.lower() for e in entities if e.kind == "Domain"}
    file_systems = {e.name.lower() for e in entities if e.kind == "System"}
    # Every Component/API of the file by reference key, with the slug of its system ("" if unreadable).
    file_components = {_key(e.ref): "" for e in entities if e.kind in ("Component", "API")}
    file_components |= {
        _key(i.entity.ref): i.parent for i, *_ in parsed if i.entity.kind in ("Component", "API")
    }
    owners = OwnerResolver(session, entities)
    seen_components: dict[tuple[str, str], int] = {}
    by_place = {(c.system_id, c.name): c for c in plan.components_by_id.values()}
    for item, relations, owner_refs, parents in parsed:
        entity, problems = item.entity, plan.problems
        before = len(problems)
        if entity.kind == "Domain":
            item.existing = plan.domains_by_code.get(item.fields["code"])
            if item.existing is not None and not visible(item.existing.id):
                problems.append(entity.problem("a domain with this code exists and you cannot change it"))
            plan.domains.append(item)
        elif entity.kind == "System":
            code = item.parent
            domain = plan.domains_by_code.get(code)
            if code not in file_domains and (domain is None or not visible(domain.id)):
                problems.append(
                    entity.problem(f"spec.domain {code!r} is neither in the file nor a domain you can see")
                )
            item.existing = plan.systems_by_slug.get(item.fields["slug"])
            if item.existing is not None and not visible(item.existing.domain_id):
                problems.append(entity.problem("a system with this name exists and you cannot change it"))
            elif item.existing is not None and (domain is None or domain.id != item.existing.domain_id):
                problems.append(entity.problem("a system cannot move to another domain"))
            plan.systems.append(item)
        elif entity.kind in ("Component", "API"):
            system = _system(plan, item.parent, file_systems, visible)
            if system is None:
                problems.append(
                    entity.problem(f"spec.system {item.parent!r} is neither in the file nor visible")
                )
            elif isinstance(system, System):
                item.existing = by_place.get((system.id, item.fields["name"]))
            first = seen_components.setdefault((item.parent, item.fields["name"].lower()), entity.document)
            if first != entity.document:
                problems.append(entity.problem(f"document {first} already describes this component"))
            plan.components.append(item)
        else:  # Resource
            item.parent = _resource_system(plan, parents, file_systems, file_components, visible) or ""
            if not item.parent:
                reason = "a resource needs spec.system or spec.dependencyOf naming a system or component"
                problems.append(entity.problem(reason if not parents else f"{reason} you can see"))
            plan.resources.append(item)
        if entity.kind != "Domain":
            _relations(plan, item, relations, file_systems, file_components, visible)
        if owner_refs is not None and len(problems) == before:
            item.owners = owners.resolve(entity, owner_refs, plan.warnings)
    plan.owners_resolved = owners.resolved
    return plan


def _parse(
    entity: Entity,
) -> tuple[Item, list[tuple[str, EntityRef]], list[EntityRef] | None, list[EntityRef]]:
    owners = bmap.owner_refs(entity)
    if entity.kind == "Domain":
        return Item(entity, bmap.domain_fields(entity)), [], owners, []
    relations = bmap.relation_refs(entity) if entity.kind != "Resource" else []
    if entity.kind == "System":
        parent = _parent_ref(entity, "domain", "domain").name.lower()
        return Item(entity, bmap.system_fields(entity), parent), relations, owners, []
    if entity.kind in ("Component", "API"):
        parent = _parent_ref(entity, "system", "system").name.lower()
        return Item(entity, bmap.component_fields(entity), parent), relations, None, []
    return Item(entity, {"datastore": bmap.datastore_of(entity)}), [], None, bmap.resource_system_refs(entity)


def _load(session: Session, plan: Plan, parsed: list[Any], entities: list[Entity]) -> None:
    codes = {i.fields["code"] for i, *_ in parsed if i.entity.kind == "Domain"}
    codes |= {i.parent for i, *_ in parsed if i.entity.kind == "System"}
    slugs = {i.fields["slug"] for i, *_ in parsed if i.entity.kind == "System"}
    slugs |= {i.parent for i, *_ in parsed if i.entity.kind in ("Component", "API")}
    refs = [ref for _, relations, _, parents in parsed for ref in [*(r for _, r in relations), *parents]]
    slugs |= {r.name.lower() for r in refs if r.kind == "system"}
    names = {r.name.lower() for r in refs if r.kind in ("component", "api")}
    if codes:
        plan.domains_by_code = {
            d.code: d for d in session.scalars(select(Domain).where(Domain.code.in_(codes)))
        }
    if slugs:
        plan.systems_by_slug = {
            s.slug: s for s in session.scalars(select(System).where(System.slug.in_(slugs)))
        }
    system_ids = [s.id for s in plan.systems_by_slug.values()]
    if system_ids or names:
        rows = session.scalars(
            select(Component).where(
                or_(Component.system_id.in_(system_ids), func.lower(Component.name).in_(names))
            )
        )
        plan.components_by_id = {c.id: c for c in rows}
    known = {s.id for s in plan.systems_by_slug.values()}
    missing = {c.system_id for c in plan.components_by_id.values()} - known
    if missing:
        for system in session.scalars(select(System).where(System.id.in_(missing))):
            plan.systems_by_slug[system.slug] = system


def _visibility(principal: Principal) -> Any:
    everything, mine = sees_all(principal), principal.domain_ids
    return lambda domain_id: everything or domain_id in mine


def _system(plan: Plan, slug: str, file_systems: set[str], visible: Any) -> System | str | None:
    """Return the visible system a slug names (the slug itself when only the file has it)."""
    system = plan.systems_by_slug.get(slug)
    if system is not None and visible(system.domain_id):
        return system
    return slug if slug in file_systems and system is None else None


def _component(plan: Plan, ref: EntityRef, file_components: dict[str, str], visible: Any) -> Handle | str:
    """Return a component handle, or the reason the reference does not resolve."""
    if _key(ref) in file_components:
        return ("entity", _key(ref))
    matches = [
        c
        for c in plan.components_by_id.values()
        if c.name.lower() == ref.name.lower()
        and (c.kind == "api") == (ref.kind == "api")
        and visible(c.domain_id)
    ]
    if len(matches) > 1:
        return f"{ref} is ambiguous: several visible components have that name"
    return ("row", matches[0].id) if matches else f"{ref} is neither in the file nor visible"


def _resource_system(
    plan: Plan,
    parents: list[EntityRef],
    file_systems: set[str],
    file_components: dict[str, str],
    visible: Any,
) -> str | None:
    for ref in parents:
        if ref.kind == "system" and _system(plan, ref.name.lower(), file_systems, visible) is not None:
            return ref.name.lower()
        if ref.kind in ("component", "api"):
            handle = _component(plan, ref, file_components, visible)
            if isinstance(handle, tuple) and handle[0] == "entity":
                return file_components[handle[1]] or None
            if isinstance(handle, tuple):
                system_id = plan.components_by_id[handle[1]].system_id
                return next(s.slug for s in plan.systems_by_slug.values() if s.id == system_id)
    return None


def _relations(
    plan: Plan,
    item: Item,
    relations: list[tuple[str, EntityRef]],
    file_systems: set[str],
    file_components: dict[str, str],
    visible: Any,
) -> None:
    entity = item.entity
    source: Handle = (
        ("system", item.fields["slug"]) if entity.kind == "System" else ("entity", _key(entity.ref))
    )
    for kind, ref in relations:
        target: Handle | str
        if ref.kind == "system":
            slug = ref.name.lower()
            found = _system(plan, slug, file_systems, visible) is not None
            target = ("system", slug) if found else f"{ref} is neither in the file nor visible"
        elif kind in ("provides_api", "consumes_api") and ref.kind != "api":
            target = f"{ref}: providesApis and consumesApis must name an API"
        elif ref.kind in ("component", "api"):
            target = _component(plan, ref, file_components, visible)
        elif ref.kind == "resource":
            plan.warnings.append(
                entity.problem(f"the relation to {ref} is not kept (a resource is a datastore)")
            )
            continue
        else:
            target = f"a relation cannot point at a {ref.kind}"
        if isinstance(target, str):
            plan.problems.append(entity.problem(target, "backstage.unresolved"))
        elif target == source:
            plan.problems.append(entity.problem("an entity cannot relate to itself"))
        else:
            plan.relations.append((entity, kind, source, target))
