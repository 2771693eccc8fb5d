"""Read models of systems, relations and similar-system references, each page in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.catalog import relation_service, system_service
from timbel.catalog import service as catalog_service
from timbel.catalog.models import (
    Component,
    Domain,
    Project,
    Relation,
    SimilarSystemRef,
    System,
    SystemOwner,
    SystemProject,
)
from timbel.catalog.schemas import DomainRef
from timbel.catalog.system_schemas import (
    ChildCounts,
    EndRead,
    EndType,
    LastCommit,
    Link,
    ProjectRef,
    RelationKind,
    RelationRead,
    SimilarSystemRead,
    Source,
    Stage,
    SystemRead,
    SystemRef,
    TechStack,
)


def domain_refs(session: Session, *, domain_ids: Iterable[str]) -> dict[str, DomainRef]:
    """Return how some domains are mentioned, by id, in one query."""
    wanted = set(domain_ids)
    if not wanted:
        return {}
    rows = session.execute(select(Domain.id, Domain.code, Domain.name).where(Domain.id.in_(wanted)))
    return {r.id: DomainRef(id=r.id, code=r.code, name=r.name) for r in rows}


def last_commit_of(system: System) -> LastCommit | None:
    """Return a system's last commit, if one was recorded."""
    if not system.last_commit_sha:
        return None
    return LastCommit(
        sha=system.last_commit_sha,
        author=system.last_commit_author,
        at=system.last_commit_at,
        message=system.last_commit_message,
    )


def read(session: Session, *, system: System) -> SystemRead:
    """Build the API view of a system."""
    return read_many(session, systems=[system])[0]


def read_many(session: Session, *, systems: Sequence[System]) -> list[SystemRead]:
    """Build the API views of a page of systems: domains, owners, projects and counts are batched."""
    ids = [s.id for s in systems]
    if not ids:
        return []
    domains = domain_refs(session, domain_ids={s.domain_id for s in systems})
    owner_rows = session.execute(
        select(SystemOwner.system_id, SystemOwner.user_id).where(SystemOwner.system_id.in_(ids))
    ).all()
    users = catalog_service.user_refs(session, user_ids={r.user_id for r in owner_rows})
    owners: dict[str, list[str]] = {}
    for row in owner_rows:
        owners.setdefault(row.system_id, []).append(row.user_id)
    projects: dict[str, list[ProjectRef]] = {}
    for link in session.execute(
        select(SystemProject.system_id, Project.id, Project.name)
        .join(Project, Project.id == SystemProject.project_id)
        .where(SystemProject.system_id.in_(ids))
        .order_by(Project.name)
    ):
        projects.setdefault(link.system_id, []).append(ProjectRef(id=link.id, name=link.name))
    counts = system_service.count_children(session, system_ids=ids)
    return [
        SystemRead(
            id=system.id,
            domain=domains[system.domain_id],
            name=system.name,
            slug=system.slug,
            description=system.description,
            repo_url=system.repo_url,
            default_branch=system.default_branch,
            last_commit=last_commit_of(system),
            stage=Stage(system.stage),
            tech_stack=TechStack.model_construct(
                languages=list(system.languages or []),
                frameworks=list(system.frameworks or []),
                datastores=list(system.datastores or []),
            ),
            owners=sorted(
                (users[u] for u in owners.get(system.id, []) if u in users), key=lambda u: u.username
            ),
            projects=projects.get(system.id, []),
            links=[Link.model_construct(**link) for link in system.links or []],
            readiness=system.readiness,
            source=Source(system.source),
            counts=ChildCounts(**counts[system.id]),
            created_at=system.created_at,
            updated_at=system.updated_at,
        )
        for system in systems
    ]


def system_refs(session: Session, *, system_ids: Iterable[str]) -> dict[str, SystemRef]:
    """Return how some systems are mentioned (with their domain), by id, in one query."""
    wanted = set(system_ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(
            System.id,
            System.slug,
            System.name,
            System.stage,
            Domain.id.label("d_id"),
            Domain.code,
            Domain.name.label("d_name"),
        )
        .join(Domain, Domain.id == System.domain_id)
        .where(System.id.in_(wanted))
    )
    return {
        r.id: SystemRef(
            id=r.id,
            slug=r.slug,
            name=r.name,
            stage=Stage(r.stage),
            domain=DomainRef(id=r.d_id, code=r.code, name=r.d_name),
        )
        for r in rows
    }


def relation_reads(session: Session, *, relations: Sequence[Relation]) -> list[RelationRead]:
    """Build the API views of relations, naming their ends with one query per end type."""
    ends = [(relation_service.end_of(r, "source"), relation_service.end_of(r, "target")) for r in relations]
    system_ids = {i for pair in ends for t, i in pair if t is EndType.system}
    component_ids = {i for pair in ends for t, i in pair if t is EndType.component}
    named: dict[str, EndRead] = {}
    if system_ids:
        for row in session.execute(select(System.id, System.name).where(System.id.in_(system_ids))):
            named[row.id] = EndRead(type=EndType.system, id=row.id, name=row.name, system_id=row.id)
    if component_ids:
        for part in session.execute(
            select(Component.id, Component.name, Component.kind, Component.system_id).where(
                Component.id.in_(component_ids)
            )
        ):
            named[part.id] = EndRead(
                type=EndType.component, id=part.id, name=part.name, kind=part.kind, system_id=part.system_id
            )
    return [
        RelationRead(
            id=r.id,
            kind=RelationKind(r.kind),
            source=named[source[1]],
            target=named[target[1]],
            note=r.note,
            domain_id=r.domain_id,
            created_at=r.created_at,
        )
        for r, (source, target) in zip(relations, ends, strict=True)
    ]


def similar_reads(session: Session, *, refs: Sequence[SimilarSystemRef]) -> list[SimilarSystemRead]:
    """Build the API views of references with one query for their systems."""
    systems = system_refs(session, system_ids={r.system_id for r in refs})
    return [
        SimilarSystemRead(
            id=r.id,
            project_id=r.project_id,
            system=systems[r.system_id],
            note=r.note,
            created_at=r.created_at,
        )
        for r in refs
    ]
