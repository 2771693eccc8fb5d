"""Build Backstage entity documents from Timbel rows (pure functions; see decision 0007).

Output is deterministic: keys in a fixed order, annotations and lists sorted, no ids or timestamps,
so exporting the same catalog twice gives the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import yaml

from timbel.catalog.backstage import NAME_RE
from timbel.catalog.backstage_map import (
    ANNOTATION,
    API_TYPES,
    KIND_TO_TYPE,
    SIMILAR_TO,
    SOURCE_LOCATION,
    TYPE_TO_KIND,
    UNOWNED,
    tag_like,
)
from timbel.catalog.models import Component, Domain, System

API_VERSION = "backstage.io/v1alpha1"
SPEC_FIELD = {"depends_on": "dependsOn", "provides_api": "providesApis", "consumes_api": "consumesApis"}


def sanitize(text: str) -> str:
    """Turn any text into a Backstage-style name (may be empty for text without Latin letters or digits)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63].strip("-")


def unique_names(items: Sequence[tuple[str, str, str]]) -> dict[str, str]:
    """Give each (id, wanted name, prefix) a Backstage name unique in the set (case-insensitively).

    A valid, unshared name stays as it is; otherwise it becomes ``<prefix>-<sanitized name>``, with a
    counter if even that collides. Prefix and name decide the result, never the id, so the same
    catalog in another database gets the same names.
    """
    wanted: dict[str, int] = {}
    for _, name, _ in items:
        wanted[name.lower()] = wanted.get(name.lower(), 0) + 1
    names: dict[str, str] = {}
    taken: set[str] = set()
    for item_id, name, prefix in sorted(items, key=lambda i: (i[2], i[1], i[0])):
        candidate = name
        if not NAME_RE.match(name) or wanted[name.lower()] > 1 or name.lower() in taken:
            base = (sanitize(f"{prefix}-{name}") or "entity")[:58].strip("-")
            candidate, counter = base, 1
            while candidate.lower() in taken or candidate.lower() in wanted:
                counter += 1
                candidate = f"{base}-{counter}"
        taken.add(candidate.lower())
        names[item_id] = candidate
    return names


def owner_ref(usernames: Iterable[str]) -> str:
    """Return ``user:<first owner>`` or ``group:unowned`` when nobody (nameable) owns it."""
    valid = sorted(u for u in usernames if NAME_RE.match(u))
    return f"user:{valid[0]}" if valid else UNOWNED


def _owners_note(usernames: Iterable[str]) -> str | None:
    valid = sorted(u for u in usernames if NAME_RE.match(u))
    return ", ".join(valid) if len(valid) > 1 else None


def lifecycle_of(stage: str) -> str:
    """Map a Timbel stage to a Backstage lifecycle (staging also gets a timbel.io/stage annotation)."""
    return "production" if stage == "production" else "experimental"


def _document(
    kind: str,
    name: str,
    spec: dict[str, Any],
    *,
    title: str = "",
    description: str = "",
    annotations: dict[str, str | None] | None = None,
    tags: Iterable[str] = (),
    links: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if title:
        metadata["title"] = title
    if description:
        metadata["description"] = description
    notes = {k: v for k, v in sorted((annotations or {}).items()) if v}
    if notes:
        metadata["annotations"] = notes
    tag_list = sorted({t for t in (tag_like(x)[:63] for x in tags) if t})
    if tag_list:
        metadata["tags"] = tag_list
    if links:
        metadata["links"] = links
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def _with_relations(
    spec: dict[str, Any], relations: dict[str, list[str]], *, source_is_component: bool
) -> None:
    for relation, field in SPEC_FIELD.items():
        if relations.get(relation):
            spec[field] = sorted(relations[relation])
    part_of = sorted(relations.get("part_of", []))
    if source_is_component and len(part_of) == 1 and part_of[0].startswith("component:"):
        spec["subcomponentOf"] = part_of[0]
    elif part_of:
        spec["partOf"] = part_of


def domain_document(domain: Domain, *, owner: str | None) -> dict[str, Any]:
    """Return a Domain entity for a customer domain."""
    contacts = json.dumps(domain.contacts, ensure_ascii=False, sort_keys=True) if domain.contacts else None
    notes = {
        ANNOTATION + "industry": domain.industry,
        ANNOTATION + "region": domain.region,
        ANNOTATION + "priority": domain.priority,
        ANNOTATION + "contacts": contacts,
    }
    spec = {"owner": owner_ref([owner] if owner else [])}
    return _document(
        "Domain", domain.code, spec, title=domain.name, description=domain.description, annotations=notes
    )


def _location(repo_url: str) -> str | None:
    if not repo_url:
        return None
    return f"file:{repo_url}" if repo_url.startswith(("/", ".")) else f"url:{repo_url}"


def system_document(
    system: System, *, domain_code: str, owners: list[str], relations: dict[str, list[str]]
) -> dict[str, Any]:
    """Return a System entity; Timbel-only fields go into timbel.io/* annotations."""
    notes = {
        SOURCE_LOCATION: _location(system.repo_url),
        ANNOTATION + "default-branch": system.default_branch,
        ANNOTATION + "languages": ", ".join(system.languages),
        ANNOTATION + "frameworks": ", ".join(system.frameworks),
        ANNOTATION + "stage": "staging" if system.stage == "staging" else None,
        ANNOTATION + "source": system.source if system.source != "manual" else None,
        ANNOTATION + "owners": _owners_note(owners),
        SIMILAR_TO: ", ".join(sorted(relations.get("similar_to", []))),
    }
    spec: dict[str, Any] = {
        "owner": owner_ref(owners),
        "domain": domain_code,
        "lifecycle": lifecycle_of(system.stage),
    }
    _with_relations(spec, relations, source_is_component=False)
    links = [
        {"url": str(link.get("url")), "title": str(link.get("title") or link.get("label") or link.get("url"))}
        for link in system.links
        if link.get("url")
    ]
    return _document(
        "System",
        system.slug,
        spec,
        title=system.name,
        description=system.description,
        annotations=notes,
        tags=[*system.languages, *system.frameworks],
        links=links,
    )


def component_document(
    component: Component,
    *,
    name: str,
    system: System,
    owners: list[str],
    relations: dict[str, list[str]],
) -> dict[str, Any]:
    """Return a Component entity (or an API entity for ``kind='api'``) under its system."""
    is_api = component.kind == "api"
    spec_type = KIND_TO_TYPE.get(component.kind, component.kind)
    if is_api:
        spec_type = component.framework.lower() if component.framework.lower() in API_TYPES else "openapi"
    notes = {
        ANNOTATION + "name": component.name if name != component.name else None,
        ANNOTATION + "kind": None
        if is_api or TYPE_TO_KIND.get(spec_type) == component.kind
        else component.kind,
        ANNOTATION + "language": component.language,
        ANNOTATION + "framework": component.framework,
        ANNOTATION + "path": component.path,
        ANNOTATION + "reuse-score": str(component.reuse_score) if component.reuse_score else None,
        ANNOTATION + "commit": component.commit_sha,
        ANNOTATION + "source": component.source if component.source != "manual" else None,
        SIMILAR_TO: ", ".join(sorted(relations.get("similar_to", []))),
    }
    spec: dict[str, Any] = {
        "type": spec_type,
        "lifecycle": lifecycle_of(system.stage),
        "owner": owner_ref(owners),
        "system": system.slug,
    }
    if is_api:
        spec["definition"] = f"See {component.path or component.name} in the repository of {system.slug}."
    _with_relations(spec, relations, source_is_component=True)
    title = component.name if name != component.name else ""
    return _document(
        "API" if is_api else "Component",
        name,
        spec,
        title=title,
        description=component.description,
        annotations=notes,
    )


def resource_document(*, name: str, datastore: str, system: System, owners: list[str]) -> dict[str, Any]:
    """Return a Resource entity for one datastore of a system."""
    spec = {"type": "database", "owner": owner_ref(owners), "system": system.slug}
    notes: dict[str, str | None] = {ANNOTATION + "datastore": datastore}
    return _document("Resource", name, spec, title=datastore, annotations=notes)


def dump(documents: Sequence[dict[str, Any]]) -> str:
    """Serialise entity documents as one multi-document YAML text."""
    if not documents:
        return ""
    return yaml.safe_dump_all(
        documents,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        explicit_start=True,
        width=100,
    )
