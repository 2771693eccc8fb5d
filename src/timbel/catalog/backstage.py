"""Read Backstage ``catalog-info.yaml`` files: parse safely, validate the envelope, parse entity refs.

Pure functions, no database. Why so strict: an import is all-or-nothing, so every problem of every
document is collected (document position, kind, name, reason) before anything is written. YAML
aliases are refused outright (no "billion laughs"), and every document must be a mapping.
Field mapping to Timbel's models lives in ``backstage_map``; see docs/decisions/0007-backstage-mapping.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import AliasEvent, DocumentStartEvent

KINDS = ("Domain", "System", "Component", "API", "Resource", "Group", "User")
_KIND_BY_LOWER = {k.lower(): k for k in KINDS}
API_VERSION_PREFIX = "backstage.io/"
# Backstage: 1-63 characters, runs of [A-Za-z0-9] separated by one of -, _ or .
NAME_RE = re.compile(r"^(?=.{1,63}$)([A-Za-z0-9]+[-_.])*[A-Za-z0-9]+$")
NAMESPACE_RE = re.compile(r"^(?=.{1,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
DEFAULT_NAMESPACE = "default"
MAX_DOCUMENTS = 5000


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one document (1-based position) cannot be imported."""

    document: int
    kind: str
    name: str
    reason: str
    type: str = "backstage.invalid"

    def as_error(self) -> dict[str, Any]:
        """Return the problem as an entry of a ValidationFailed ``errors`` list."""
        return {
            "loc": ["body", "documents", self.document],
            "type": self.type,
            "msg": self.reason,
            "document": self.document,
            "kind": self.kind,
            "name": self.name,
        }


@dataclass(frozen=True, slots=True)
class EntityRef:
    """A Backstage entity reference ``[kind:][namespace/]name``; kind lower-case, name as written."""

    kind: str
    namespace: str
    name: str

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity for lookups: Backstage compares kinds, namespaces and names case-insensitively."""
        return (self.kind, self.namespace.lower(), self.name.lower())

    def __str__(self) -> str:
        if self.namespace == DEFAULT_NAMESPACE:
            return f"{self.kind}:{self.name}"
        return f"{self.kind}:{self.namespace}/{self.name}"


@dataclass(slots=True)
class Entity:
    """One validated document: envelope and metadata parsed, ``spec`` still raw."""

    document: int
    kind: str
    namespace: str
    name: str
    title: str = ""
    description: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> EntityRef:
        """The reference other entities use for this one."""
        return EntityRef(self.kind.lower(), self.namespace, self.name)

    def problem(self, reason: str, type_: str = "backstage.invalid") -> Problem:
        """Return a problem about this entity."""
        return Problem(self.document, self.kind, self.name, reason, type_)


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_documents(data: bytes) -> tuple[list[tuple[int, Any]], list[Problem]]:
    """Split a multi-document YAML file into (position, document) pairs; empty documents are skipped."""
    position = 0
    try:
        # First pass over the event stream only: refuse aliases before anything is built from them.
        for event in yaml.parse(data, Loader=_LOADER):
            if isinstance(event, DocumentStartEvent):
                position += 1
                if position > MAX_DOCUMENTS:
                    return [], [Problem(position, "", "", f"more than {MAX_DOCUMENTS} documents")]
            elif isinstance(event, AliasEvent):
                return [], [
                    Problem(position, "", "", "YAML aliases are not accepted", "backstage.yaml_alias")
                ]
        documents = [
            (number, document)
            for number, document in enumerate(yaml.load_all(data, Loader=_LOADER), start=1)
            if document is not None
        ]
    except yaml.YAMLError as exc:
        reason = f"not valid YAML: {_one_line(exc)}"
        return [], [Problem(max(position, 1), "", "", reason, "backstage.yaml")]
    except RecursionError:
        return [], [Problem(max(position, 1), "", "", "nested too deeply", "backstage.yaml")]
    return documents, []


def _one_line(exc: yaml.YAMLError) -> str:
    return " ".join(str(exc).split())[:300]


def parse_ref(text: Any, *, default_kind: str, default_namespace: str = DEFAULT_NAMESPACE) -> EntityRef:
    """Parse ``[kind:][namespace/]name``; raise ValueError for anything else."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("an entity reference must be a non-empty string")
    rest = text.strip()
    kind = default_kind
    if ":" in rest:
        kind, rest = rest.split(":", 1)
    namespace = default_namespace
    if "/" in rest:
        namespace, rest = rest.split("/", 1)
    kind = kind.strip().lower()
    if kind not in _KIND_BY_LOWER:
        raise ValueError(f"unknown kind {kind!r} in reference {text!r}")
    if not NAMESPACE_RE.match(namespace.lower()) or not NAME_RE.match(rest):
        raise ValueError(f"malformed entity reference {text!r}")
    return EntityRef(kind, namespace.lower(), rest)


def parse_refs(value: Any, *, default_kind: str) -> list[EntityRef]:
    """Parse a reference or a list of references (None = none); raise ValueError on the first bad one."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [parse_ref(item, default_kind=default_kind) for item in items]


def _string_map(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"metadata.{what} must be a mapping of strings")
    if not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"metadata.{what} values must be strings")
    return dict(value)


def _links(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("metadata.links must be a list")
    links: list[dict[str, str]] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str) or not item["url"].strip():
            raise ValueError("every metadata.links entry needs a url")
        link = {"url": item["url"].strip()[:1000]}
        if isinstance(item.get("title"), str) and item["title"].strip():
            link["title"] = item["title"].strip()[:200]
        links.append(link)
    return links


def parse_entity(document: int, raw: Any) -> Entity | Problem:
    """Check one document's envelope (apiVersion, kind, metadata.name, …) and return its entity."""
    if not isinstance(raw, dict):
        return Problem(document, "", "", "the document is not a mapping", "backstage.not_mapping")
    metadata = raw.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    shown_name = name if isinstance(name, str) else ""
    raw_kind = raw.get("kind")
    shown_kind = raw_kind if isinstance(raw_kind, str) else ""

    def bad(reason: str, type_: str = "backstage.invalid") -> Problem:
        return Problem(document, shown_kind, shown_name, reason, type_)

    api_version = raw.get("apiVersion")
    if not isinstance(api_version, str) or not api_version.strip():
        return bad("apiVersion is missing", "backstage.missing_api_version")
    if not api_version.startswith(API_VERSION_PREFIX):
        return bad(f"apiVersion {api_version!r} is not a backstage.io version", "backstage.api_version")
    if not isinstance(raw_kind, str) or not raw_kind.strip():
        return bad("kind is missing", "backstage.missing_kind")
    kind = _KIND_BY_LOWER.get(raw_kind.strip().lower())
    if kind is None:
        return bad(
            f"unknown kind {raw_kind!r} (expected one of {', '.join(KINDS)})", "backstage.unknown_kind"
        )
    if not isinstance(metadata, dict):
        return bad("metadata is missing", "backstage.missing_metadata")
    if not isinstance(name, str) or not name:
        return bad("metadata.name is missing", "backstage.missing_name")
    if not NAME_RE.match(name):
        return bad(
            "metadata.name must be 1-63 letters or digits, separated by single '-', '_' or '.'",
            "backstage.bad_name",
        )
    namespace = metadata.get("namespace", DEFAULT_NAMESPACE)
    if not isinstance(namespace, str) or not NAMESPACE_RE.match(namespace.lower()):
        return bad("metadata.namespace is malformed", "backstage.bad_namespace")
    spec = raw.get("spec", {})
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        return bad("spec must be a mapping", "backstage.bad_spec")
    try:
        title, description = (_optional_text(metadata, key) for key in ("title", "description"))
        tags = metadata.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError("metadata.tags must be a list of strings")
        return Entity(
            document=document,
            kind=kind,
            namespace=namespace.lower(),
            name=name,
            title=title,
            description=description,
            annotations=_string_map(metadata.get("annotations"), "annotations"),
            tags=list(tags),
            links=_links(metadata.get("links")),
            spec=spec,
        )
    except ValueError as exc:
        return bad(str(exc), "backstage.bad_metadata")


def _optional_text(metadata: dict[str, Any], key: str) -> str:
    value = metadata.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"metadata.{key} must be a string")
    return value.strip()


def read_entities(data: bytes) -> tuple[list[Entity], list[Problem]]:
    """Parse a file into entities, collecting every problem (including duplicate entities)."""
    documents, problems = load_documents(data)
    entities: list[Entity] = []
    seen: dict[tuple[str, str, str], int] = {}
    for position, raw in documents:
        parsed = parse_entity(position, raw)
        if isinstance(parsed, Problem):
            problems.append(parsed)
            continue
        first = seen.setdefault(parsed.ref.key, position)
        if first != position:
            problems.append(
                parsed.problem(f"the same entity is already document {first}", "backstage.duplicate")
            )
            continue
        entities.append(parsed)
    return entities, problems
