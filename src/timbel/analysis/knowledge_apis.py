"""Find API definitions: OpenAPI/Swagger, AsyncAPI, GraphQL schemas and protobuf services.

Reuse score of an API (0–100): 40 for being a machine-readable contract, +20 when it has a title,
+10 a version, +15 a description, +3 per endpoint up to 15.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml

from timbel.analysis.files import RepoFile
from timbel.analysis.knowledge_models import ApiItem
from timbel.analysis.knowledge_read import first_paragraph, is_excluded, read_text

SpecFormat = Literal["openapi", "swagger", "asyncapi"]
_SPEC_FORMATS: tuple[SpecFormat, ...] = ("openapi", "swagger", "asyncapi")
# The C-accelerated safe loader when libyaml is present: same safety, much faster on large files.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_SPEC_KEY = re.compile(r"(?:^|[{,]\s*)[\"']?(openapi|swagger|asyncapi)[\"']?\s*:", re.MULTILINE)
_GRAPHQL_ROOT = re.compile(
    r"(?:extend\s+)?type\s+(Query|Mutation|Subscription)\s*(?:@\w+\s*)*\{([^}]{0,20000})\}"
)
_GRAPHQL_FIELD = re.compile(r"^[ \t]*(\w+)[ \t]*[(:]", re.MULTILINE)
_PROTO_SERVICE = re.compile(r"\bservice\s+(\w+)\s*\{")
_PROTO_RPC = re.compile(r"\brpc\s+\w+\s*\(")
_PROTO_PACKAGE = re.compile(r"^[ \t]*package\s+([\w.]+)\s*;", re.MULTILINE)
_COMMENTS = re.compile(r"#[^\n]*|//[^\n]*|/\*.*?(?:\*/|\Z)", re.DOTALL)
_GRAPHQL_STRINGS = re.compile(r'""".*?(?:"""|\Z)|"[^"\n]*"', re.DOTALL)


def find_apis(root: Path, files: list[RepoFile]) -> list[ApiItem]:
    """Return every API definition found in the repository; broken files are skipped."""
    found: list[ApiItem] = []
    for item in files:
        lower = item.path.lower()
        if not item.parseable or is_excluded(item.path):
            continue
        if lower.endswith((".json", ".yaml", ".yml")):
            api = _spec_document(root, item)
        elif lower.endswith((".graphql", ".graphqls", ".gql")):
            api = _graphql(root, item)
        elif lower.endswith(".proto"):
            api = _protobuf(root, item)
        else:
            continue
        if api is not None:
            api.reuse_score = _score(api)
            found.append(api)
    return found


def _score(api: ApiItem) -> int:
    """Apply the documented API reuse score."""
    has_title = api.name != api.path.rpartition("/")[2]
    return min(
        100,
        40
        + (20 if has_title else 0)
        + (10 if api.version else 0)
        + (15 if api.description else 0)
        + min(15, 3 * api.endpoint_count),
    )


def _spec_document(root: Path, item: RepoFile) -> ApiItem | None:
    """Parse an OpenAPI, Swagger or AsyncAPI document; None for anything else or broken files."""
    text = read_text(root, item)
    if text is None or _SPEC_KEY.search(text) is None:
        return None
    try:
        if item.path.lower().endswith(".json"):
            data: Any = json.loads(text)
        else:
            data = yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    except (ValueError, RecursionError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None
    raw_info = data.get("info")
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    spec_format: SpecFormat
    for key in _SPEC_FORMATS:
        if key in data:
            spec_format = key
            break
    else:
        return None
    if spec_format == "asyncapi":
        channels = data.get("channels")
        count = len(channels) if isinstance(channels, dict) else 0
    else:
        paths = data.get("paths")
        count = 0
        if isinstance(paths, dict):
            for operations in paths.values():
                if isinstance(operations, dict):
                    count += sum(1 for method in operations if str(method).lower() in HTTP_METHODS)
    title, version, description = info.get("title"), info.get("version"), info.get("description")
    return ApiItem(
        name=str(title) if title else item.path.rpartition("/")[2],
        format=spec_format,
        language="JSON" if item.path.lower().endswith(".json") else "YAML",
        path=item.path,
        version=str(version) if version is not None else None,
        spec_version=str(data[spec_format]),
        description=first_paragraph(description) if isinstance(description, str) else "",
        endpoint_count=count,
    )


def _graphql(root: Path, item: RepoFile) -> ApiItem | None:
    """Count the root fields (queries, mutations, subscriptions) of a GraphQL schema file."""
    text = read_text(root, item)
    if text is None:
        return None
    body = _COMMENTS.sub("", _GRAPHQL_STRINGS.sub("", text))
    count = sum(len(_GRAPHQL_FIELD.findall(block)) for _, block in _GRAPHQL_ROOT.findall(body))
    if count == 0 and "type " not in body:
        return None
    return ApiItem(
        name=item.path.rpartition("/")[2],
        format="graphql",
        language="GraphQL",
        path=item.path,
        endpoint_count=count,
    )


def _protobuf(root: Path, item: RepoFile) -> ApiItem | None:
    """Count the rpcs of a protobuf file's services; None when it defines no service."""
    text = read_text(root, item)
    if text is None:
        return None
    body = _COMMENTS.sub("", text)
    services = _PROTO_SERVICE.findall(body)
    if not services:
        return None
    package = _PROTO_PACKAGE.search(body)
    return ApiItem(
        name=", ".join(services),
        format="protobuf",
        language="Protocol Buffer",
        path=item.path,
        version=package.group(1) if package else None,
        spec_version="proto3" if re.search(r'syntax\s*=\s*"proto3"', body) else "proto2",
        endpoint_count=len(_PROTO_RPC.findall(body)),
    )
