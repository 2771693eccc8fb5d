"""The relations graph around a system: its components, then one or two hops of visible relations.

Only relations whose both ends the caller may see are followed, so a graph never reveals an
entity of another domain. Each hop costs a fixed number of queries.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from timbel.auth.principal import Principal
from timbel.catalog import relation_service, system_service
from timbel.catalog.models import Component, Relation, System
from timbel.catalog.system_schemas import EndType, Graph, GraphEdge, GraphNode

MAX_COMPONENTS = 300
MAX_EDGES_PER_HOP = 500


def build(session: Session, *, principal: Principal, system: System, depth: int = 1) -> Graph:
    """Return the nodes and edges around a visible system (``depth`` relation hops, 1 or 2)."""
    nodes: dict[str, GraphNode] = {system.id: GraphNode(id=system.id, type=EndType.system, name=system.name)}
    edges: dict[tuple[str, str, str], GraphEdge] = {}
    components = select(Component.id, Component.name, Component.kind).where(Component.system_id == system.id)
    limit = system_service.visible_filter(principal, Component.domain_id)
    if limit is not None:
        components = components.where(limit)
    for row in session.execute(components.order_by(Component.name).limit(MAX_COMPONENTS)):
        nodes[row.id] = GraphNode(id=row.id, type=EndType.component, name=row.name, kind=row.kind)
        edges[(row.id, system.id, "part_of")] = GraphEdge(source=row.id, target=system.id, kind="part_of")
    systems = {system.id}
    parts = set(nodes) - systems
    visible = relation_service.visible_filter(principal)
    for _ in range(depth):
        stmt = select(Relation).where(
            or_(
                Relation.source_system_id.in_(systems),
                Relation.target_system_id.in_(systems),
                Relation.source_component_id.in_(parts),
                Relation.target_component_id.in_(parts),
            )
        )
        if visible is not None:
            stmt = stmt.where(visible)
        new_systems: set[str] = set()
        new_parts: set[str] = set()
        for relation in session.scalars(stmt.order_by(Relation.created_at).limit(MAX_EDGES_PER_HOP)):
            ends = relation_service.end_of(relation, "source"), relation_service.end_of(relation, "target")
            source, target = ends[0][1], ends[1][1]
            edges[(source, target, relation.kind)] = GraphEdge(
                source=source, target=target, kind=relation.kind
            )
            for end_type, end_id in ends:
                if end_id not in nodes:
                    (new_systems if end_type is EndType.system else new_parts).add(end_id)
        _add_nodes(session, nodes, edges, systems=new_systems, components=new_parts, principal=principal)
        if not (new_systems or new_parts):
            break
        systems, parts = new_systems, new_parts
    drawn = [e for e in edges.values() if e.source in nodes and e.target in nodes]
    return Graph(nodes=list(nodes.values()), edges=drawn)


def _add_nodes(
    session: Session,
    nodes: dict[str, GraphNode],
    edges: dict[tuple[str, str, str], GraphEdge],
    *,
    systems: set[str],
    components: set[str],
    principal: Principal,
) -> None:
    """Name newly reached systems and components, showing each component inside its system."""
    if systems:
        for row in session.execute(select(System.id, System.name).where(System.id.in_(systems))):
            nodes[row.id] = GraphNode(id=row.id, type=EndType.system, name=row.name)
    if components:
        for part in session.execute(
            select(
                Component.id, Component.name, Component.kind, Component.system_id, System.name.label("parent")
            )
            .join(System, System.id == Component.system_id)
            .where(Component.id.in_(components))
        ):
            nodes[part.id] = GraphNode(id=part.id, type=EndType.component, name=part.name, kind=part.kind)
            nodes.setdefault(
                part.system_id, GraphNode(id=part.system_id, type=EndType.system, name=part.parent)
            )
            edges[(part.id, part.system_id, "part_of")] = GraphEdge(
                source=part.id, target=part.system_id, kind="part_of"
            )
