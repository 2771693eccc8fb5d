"""Load the demo catalog (`timbel demo load`) into an empty catalog; never done implicitly.

Rows are written straight through the models (one transaction, the caller commits); components,
documents and design assets get version 1 like anything created through the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

import timbel
from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.catalog import versions
from timbel.catalog.demo_data import DOMAINS, LOCAL_REPO, RELATIONS, DemoDomain, DemoSystem
from timbel.catalog.interop_service import relation_key
from timbel.catalog.models import (
    Component,
    DesignAsset,
    Document,
    Domain,
    Project,
    Relation,
    System,
    SystemProject,
    WorkGroup,
)
from timbel.core.errors import Conflict


@dataclass
class DemoResult:
    """What the loader created, and the repository the local system points at (None if none was found)."""

    counts: dict[str, int] = field(default_factory=dict)
    local_repo: Path | None = None


def find_repository(start: Path | None = None) -> Path | None:
    """Return the nearest directory holding ``.git`` above Timbel's own source, if any."""
    here = (start or Path(timbel.__file__)).resolve()
    return next((p for p in (here, *here.parents) if (p / ".git").exists()), None)


def _branch(repo: Path) -> str:
    head = repo / ".git" / "HEAD"
    text = head.read_text(encoding="utf-8").strip() if head.is_file() else ""
    return text.removeprefix("ref: refs/heads/") if text.startswith("ref: refs/heads/") else "main"


def load(session: Session, *, ctx: AuditContext, repo: Path | None = None) -> DemoResult:
    """Fill an empty catalog with the demo domains; raise Conflict if any domain exists."""
    if session.scalar(select(Domain.id).limit(1)) is not None:
        raise Conflict("The catalog is not empty; demo data is only loaded into a catalog without domains.")
    result = DemoResult(local_repo=repo)
    counts = dict.fromkeys(("domains", "projects", "systems", "components", "documents", "design_assets"), 0)
    entries: dict[str, System | Component] = {}
    for spec in DOMAINS:
        domain = Domain(
            code=spec.code,
            name=spec.name,
            industry=spec.industry,
            region=spec.region,
            priority=spec.priority,
            description=spec.description,
            contacts=[
                {"name": spec.contact[0], "role": spec.contact[1], "email": spec.contact[2], "phone": ""}
            ],
        )
        session.add(domain)
        session.flush()
        projects = _projects(session, domain, spec, counts)
        for system_spec in spec.systems:
            system = _system(session, domain, system_spec, projects, repo, counts)
            entries[system.slug] = system
            for component in _components(session, system, system_spec, counts):
                entries[f"{system.slug}/{component.name}"] = component
        counts["domains"] += 1
    for source, kind, target in RELATIONS:
        _relate(session, entries[source], kind, entries[target])
    counts["relations"] = len(RELATIONS)
    session.flush()
    result.counts = counts
    audit_service.record(
        session,
        ctx=ctx,
        action="catalog.demo_load",
        target_type="catalog",
        summary="loaded the demo catalog: " + ", ".join(f"{v} {k}" for k, v in counts.items()),
        changes={"counts": counts, "local_repo": str(repo) if repo else None},
    )
    return result


def _projects(session: Session, domain: Domain, spec: DemoDomain, counts: dict[str, int]) -> list[Project]:
    projects: list[Project] = []
    for item in spec.projects:
        project = Project(
            domain_id=domain.id,
            name=item.name,
            description=item.description,
            status=item.status,
            start_date=item.start,
            due_date=item.due,
            urgent=item.urgent_deadline is not None,
            urgent_reason=item.urgent_reason,
            urgent_deadline=item.urgent_deadline,
            requirement_summary=item.requirements,
        )
        session.add(project)
        session.flush()
        for position, (name, status, description) in enumerate(item.work_groups):
            session.add(
                WorkGroup(
                    project_id=project.id,
                    name=name,
                    position=position,
                    status=status,
                    description=description,
                )
            )
        if item.voc:
            _document(session, domain.id, "VoC: " + item.name, "voc", item.voc, counts, project_id=project.id)
        projects.append(project)
        counts["projects"] += 1
    return projects


def _system(
    session: Session,
    domain: Domain,
    spec: DemoSystem,
    projects: list[Project],
    repo: Path | None,
    counts: dict[str, int],
) -> System:
    local = spec.repo_url == LOCAL_REPO
    system = System(
        domain_id=domain.id,
        slug=spec.slug,
        name=spec.name,
        description=spec.description,
        repo_url=(str(repo) if repo else "") if local else spec.repo_url,
        default_branch=_branch(repo) if local and repo else "main",
        stage=spec.stage,
        languages=list(spec.languages),
        frameworks=list(spec.frameworks),
        datastores=list(spec.datastores),
    )
    session.add(system)
    session.flush()
    for index in spec.projects:
        if index < len(projects):
            session.add(SystemProject(system_id=system.id, project_id=projects[index].id))
    counts["systems"] += 1
    apis = [c.name for c in spec.components if c.kind == "api"]
    guide = (
        f"# {spec.name}\n\n{spec.description}\n\n## 구성\n\n"
        f"- 언어: {', '.join(spec.languages)}\n- 프레임워크: {', '.join(spec.frameworks)}\n"
        f"- 데이터 저장소: {', '.join(spec.datastores)}\n\n## API\n\n"
        + "".join(f"- `{name}`\n" for name in apis)
    )
    _document(session, domain.id, f"{spec.name} 운영 가이드", "manual", guide, counts, system_id=system.id)
    asset = DesignAsset(
        domain_id=domain.id,
        system_id=system.id,
        title=f"{spec.name} 화면 시안",
        kind="figma-link",
        description=f"{spec.name} 주요 화면의 디자인 시안",
        url=f"https://www.figma.com/file/demo-{spec.slug}",
        tags=["시안", spec.stage],
    )
    session.add(asset)
    versions.record(session, asset=asset, author_id=None)
    counts["design_assets"] += 1
    return system


def _document(
    session: Session,
    domain_id: str,
    title: str,
    kind: str,
    content: str,
    counts: dict[str, int],
    *,
    system_id: str | None = None,
    project_id: str | None = None,
) -> None:
    document = Document(
        domain_id=domain_id,
        system_id=system_id,
        project_id=project_id,
        title=title,
        kind=kind,
        format="markdown",
        content=content,
        status="published",
    )
    session.add(document)
    versions.record(session, asset=document, author_id=None)
    counts["documents"] += 1


def _components(
    session: Session, system: System, spec: DemoSystem, counts: dict[str, int]
) -> list[Component]:
    created: list[Component] = []
    for item in spec.components:
        component = Component(
            domain_id=system.domain_id,
            system_id=system.id,
            name=item.name,
            kind=item.kind,
            language=item.language,
            framework=item.framework,
            path=item.path,
            description=item.description,
            reuse_score=item.reuse_score,
        )
        session.add(component)
        versions.record(session, asset=component, author_id=None)
        created.append(component)
        counts["components"] += 1
    return created


def _relate(session: Session, source: System | Component, kind: str, target: System | Component) -> None:
    def ends(entry: System | Component) -> tuple[str | None, str | None]:
        return (entry.id, None) if isinstance(entry, System) else (None, entry.id)

    src, dst = ends(source), ends(target)
    session.add(
        Relation(
            domain_id=source.domain_id,
            key=relation_key(kind, src, dst),
            kind=kind,
            source_system_id=src[0],
            source_component_id=src[1],
            target_system_id=dst[0],
            target_component_id=dst[1],
        )
    )
