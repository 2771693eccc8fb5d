"""Map Backstage entities to Timbel fields and back (pure functions; see decision 0007).

Import functions return only the fields the file states, so re-importing a plain Backstage file
never blanks what Timbel added; they raise ValueError with a reason for values Timbel cannot store.
Timbel-only fields travel in ``timbel.io/*`` annotations so an export re-imports to the same catalog.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from timbel.catalog.asset_schemas import ComponentKind, ComponentUpdate
from timbel.catalog.backstage import Entity, EntityRef, parse_ref, parse_refs
from timbel.catalog.schemas import CODE_RE, DomainUpdate
from timbel.catalog.system_schemas import SLUG_RE, SystemUpdate, clean_names


def tag_like(name: str) -> str:
    """Return a name the way it appears as a Backstage tag (``Next.js`` → ``next-js``)."""
    return re.sub(r"[^a-z0-9:+#]+", "-", name.lower()).strip("-")


ANNOTATION = "timbel.io/"
SOURCE_LOCATION = "backstage.io/source-location"
LIFECYCLE_TO_STAGE = {
    "production": "production",
    "staging": "staging",
    "development": "development",
    "experimental": "development",
}
COMPONENT_KINDS = tuple(k.value for k in ComponentKind)
TYPE_TO_KIND = {
    "website": "ui",
    "frontend": "ui",
    "backend": "service",
    "tool": "utility",
    "database": "data",
    "pipeline": "data",
    **{kind: kind for kind in COMPONENT_KINDS},
}
KIND_TO_TYPE = {"ui": "website"}
API_TYPES = ("openapi", "asyncapi", "graphql", "grpc", "trpc")
# Spec field, default kind of its references, relation kind.
RELATION_FIELDS = (
    ("dependsOn", "component", "depends_on"),
    ("providesApis", "api", "provides_api"),
    ("consumesApis", "api", "consumes_api"),
    ("subcomponentOf", "component", "part_of"),
    ("partOf", "system", "part_of"),
)
SIMILAR_TO = ANNOTATION + "similar-to"
UNOWNED = "group:unowned"
_LANGUAGE_NAMES = "Python Java Kotlin Go Rust TypeScript JavaScript C# C++ PHP Ruby Swift Scala Dart SQL"
_FRAMEWORK_NAMES = (
    "Spring React Vue Angular Next.js FastAPI Django Flask Express NestJS Node.js Flutter Gin .NET"
)
LANGUAGES = {name.lower(): name for name in _LANGUAGE_NAMES.split()}
FRAMEWORKS = {tag_like(name): name for name in _FRAMEWORK_NAMES.split()}
# Where each API field comes from, to name it in a problem.
_ORIGIN = {
    "name": "metadata.title",
    "description": "metadata.description",
    "repo_url": SOURCE_LOCATION,
    "links": "metadata.links",
    "stage": "timbel.io/stage",
    "kind": "timbel.io/kind",
    "reuse_score": "timbel.io/reuse-score",
    "commit_sha": "timbel.io/commit",
    "default_branch": "timbel.io/default-branch",
    "tech_stack": "timbel.io/languages or frameworks",
    "contacts": "timbel.io/contacts",
}


def _validated(schema: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """Check stated fields with the API's own update schema; ValueError names the first bad field."""
    try:
        return schema.model_validate(data).model_dump(mode="json", exclude_unset=True)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        where = _ORIGIN.get(field, f"timbel.io/{field.replace('_', '-')}")
        raise ValueError(f"{where}: {error['msg']}") from None


def _note(entity: Entity, key: str) -> str | None:
    value = entity.annotations.get(ANNOTATION + key)
    return value.strip() if value is not None else None


def _common(entity: Entity) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if entity.title:
        fields["name"] = entity.title
    if entity.description:
        fields["description"] = entity.description
    return fields


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def domain_fields(entity: Entity) -> dict[str, Any]:
    """Return the domain fields a Domain entity states (code = metadata.name, name = title)."""
    code = entity.name.lower()
    if not CODE_RE.match(code):
        raise ValueError("a domain's metadata.name must be 2-64 lower-case letters, digits or '-'")
    data = _common(entity)
    for key in ("industry", "region", "priority"):
        if (value := _note(entity, key)) is not None:
            data[key] = value
    if (contacts := _note(entity, "contacts")) is not None:
        try:
            data["contacts"] = json.loads(contacts)
        except ValueError:
            raise ValueError("timbel.io/contacts must be a JSON list of {name, role, email, phone}") from None
    return {"code": code, **_validated(DomainUpdate, data)}


def _repository(entity: Entity) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    location = entity.annotations.get(SOURCE_LOCATION, "").strip()
    if location:
        kind, _, target = location.partition(":")
        if kind not in ("url", "file") or not target:
            raise ValueError(f"{SOURCE_LOCATION} must be url:<repository> or file:<path>")
        match = re.match(r"^(.+?)/(?:-/)?tree/([^/]+)/?.*$", target)
        if match and kind == "url":
            target, fields["default_branch"] = match.group(1), match.group(2)
        fields["repo_url"] = target
    if (branch := _note(entity, "default-branch")) is not None:
        fields["default_branch"] = branch
    return fields


def _tech_stack(entity: Entity) -> dict[str, list[str]]:
    languages, frameworks = _note(entity, "languages"), _note(entity, "frameworks")
    if languages is None and frameworks is None:
        # Plain Backstage files: recognise well-known languages and frameworks among the tags.
        found = {"languages": [LANGUAGES[t] for t in entity.tags if t in LANGUAGES]}
        found["frameworks"] = [FRAMEWORKS[t] for t in entity.tags if t in FRAMEWORKS]
        return {k: v for k, v in found.items() if v}
    stated = {"languages": languages, "frameworks": frameworks}
    return {key: _split(value) for key, value in stated.items() if value is not None}


def system_fields(entity: Entity) -> dict[str, Any]:
    """Return the system columns a System entity states (slug = metadata.name, name = title)."""
    slug = entity.name.lower()
    if not SLUG_RE.match(slug):
        raise ValueError("a system's metadata.name must be lower-case letters, digits or '-'")
    data = {**_common(entity), **_repository(entity)}
    stack = _tech_stack(entity)
    if stack:
        data["tech_stack"] = stack
    stage, lifecycle = _note(entity, "stage"), entity.spec.get("lifecycle")
    if stage is not None:
        data["stage"] = stage
    elif isinstance(lifecycle, str) and lifecycle.lower() in LIFECYCLE_TO_STAGE:
        data["stage"] = LIFECYCLE_TO_STAGE[lifecycle.lower()]
    if entity.links:
        data["links"] = [
            {"title": link.get("title") or link["url"], "url": link["url"]} for link in entity.links
        ]
    if (source := _note(entity, "source")) is not None:
        data["source"] = source
    fields = _validated(SystemUpdate, data)
    tech = fields.pop("tech_stack", None) or {}
    fields.update({key: tech[key] for key in stack})
    return {"slug": slug, **fields}


def component_fields(entity: Entity) -> dict[str, Any]:
    """Return the component columns a Component or API entity states."""
    data: dict[str, Any] = {"name": _note(entity, "name") or entity.name}
    if entity.description:
        data["description"] = entity.description
    kind = _note(entity, "kind")
    spec_type = entity.spec.get("type")
    if entity.kind == "API":
        kind = "api"
    elif kind is None and isinstance(spec_type, str):
        kind = TYPE_TO_KIND.get(spec_type.lower(), "other")
    if kind is not None:
        data["kind"] = kind
    for key, column in (("language", "language"), ("framework", "framework"), ("path", "path")):
        if (value := _note(entity, key)) is not None:
            data[column] = value
    if (commit := _note(entity, "commit")) is not None:
        data["commit_sha"] = commit
    if (score := _note(entity, "reuse-score")) is not None:
        data["reuse_score"] = score
    if (source := _note(entity, "source")) is not None:
        data["source"] = source
    return _validated(ComponentUpdate, data)


def datastore_of(entity: Entity) -> str:
    """Return the datastore a Resource entity stands for."""
    name = _note(entity, "datastore") or entity.title or entity.name
    try:
        return clean_names([name])[0]
    except PydanticCustomError as exc:
        raise ValueError(f"the datastore name: {exc.message()}") from None


def resource_system_refs(entity: Entity) -> list[EntityRef]:
    """Return the refs that may place a Resource on a system: spec.system, then spec.dependencyOf."""
    refs = parse_refs(entity.spec.get("system"), default_kind="system")
    return refs + parse_refs(entity.spec.get("dependencyOf"), default_kind="component")


def relation_refs(entity: Entity) -> list[tuple[str, EntityRef]]:
    """Return (relation kind, target) pairs an entity declares; ValueError for malformed refs."""
    found: list[tuple[str, EntityRef]] = []
    for spec_field, default_kind, relation in RELATION_FIELDS:
        found += [
            (relation, ref) for ref in parse_refs(entity.spec.get(spec_field), default_kind=default_kind)
        ]
    similar = entity.annotations.get(SIMILAR_TO, "")
    found += [("similar_to", parse_ref(ref, default_kind="system")) for ref in _split(similar)]
    return found


def owner_refs(entity: Entity) -> list[EntityRef] | None:
    """Return who owns an entity (None when the file does not say): timbel.io/owners or spec.owner."""
    if (owners := _note(entity, "owners")) is not None:
        return [parse_ref(name, default_kind="user") for name in _split(owners)]
    owner = entity.spec.get("owner")
    return None if owner is None else [parse_ref(owner, default_kind="group")]
