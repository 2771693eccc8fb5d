"""Reusable knowledge in a repository: components, APIs, documents and design assets.

Why: registering a repository should fill the catalog with what others can reuse, ranked so the
useful items come first. Nothing is imported or executed: Python is parsed with `ast`, other
languages with light regexes, YAML with the safe loader; only parseable files are read (no
symlinks, ≤ 256 KiB each); broken files are skipped.

Component reuse score (0–100, deterministic):
- documented (docstring, JSDoc/Javadoc, Go package comment, SFC comment): 30;
- public surface (public/exported members or props, or a UI component): 15;
- size sweet spot: 20–400 lines 20, 5–1,000 lines 10, else 0;
- referenced: 5 per other file of the same language family that mentions its name
  (module's last segment, component or class name, Go package name), up to 25;
- tested: a test file mentions its name: 10.
API, document and design asset scores are documented in `knowledge_apis`, `knowledge_docs`
and `knowledge_design`. Each list is sorted by score (then path) and bounded.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, Field

from timbel.analysis.files import RepoFile
from timbel.analysis.generated import generated_by_content
from timbel.analysis.knowledge_apis import find_apis
from timbel.analysis.knowledge_code import (
    go_file,
    go_package,
    js_components,
    jvm_class,
    python_module,
    sfc_component,
)
from timbel.analysis.knowledge_design import find_design_assets
from timbel.analysis.knowledge_docs import find_documents
from timbel.analysis.knowledge_models import ApiItem, ComponentItem, DesignAssetItem, DocumentItem
from timbel.analysis.knowledge_read import is_excluded, is_test_path, read_text, size_points
from timbel.analysis.languages import is_documentation

MAX_COMPONENTS = 200
MAX_APIS = 100
MAX_DOCUMENTS = 300
MAX_DESIGN_ASSETS = 200
MAX_CODE_FILES = 5000
_FAMILIES = {
    ".py": "python",
    ".js": "js",
    ".jsx": "js",
    ".mjs": "js",
    ".cjs": "js",
    ".ts": "js",
    ".tsx": "js",
    ".vue": "js",
    ".svelte": "js",
    ".java": "jvm",
    ".kt": "jvm",
    ".go": "go",
}
_JS_LANGUAGE = {
    ".ts": "TypeScript",
    ".tsx": "TSX",
    ".jsx": "JavaScript",
    ".mjs": "JavaScript",
    ".cjs": "JavaScript",
    ".js": "JavaScript",
}
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_Item = TypeVar("_Item", ComponentItem, ApiItem, DocumentItem, DesignAssetItem)
_SKIP_PY = frozenset({"setup.py", "conftest.py", "noxfile.py", "manage.py", "__main__.py"})


class Knowledge(BaseModel):
    """The report's ``knowledge`` section; every item has at least ``path`` and ``reuse_score``."""

    components: list[ComponentItem] = Field(default_factory=list)
    apis: list[ApiItem] = Field(default_factory=list)
    documents: list[DocumentItem] = Field(default_factory=list)
    design_assets: list[DesignAssetItem] = Field(default_factory=list)


def extract_knowledge(
    root: Path, files: list[RepoFile], *, max_components: int = MAX_COMPONENTS
) -> Knowledge:
    """Extract the repository's reusable knowledge, each list ranked by reuse score and bounded."""
    root = root.resolve()
    documents, texts = find_documents(root, files)
    markdown = {path: text for path, text in texts.items() if path.lower().endswith((".md", ".mdx"))}
    return Knowledge(
        components=_ranked(_components(root, files), max_components),
        apis=_ranked(find_apis(root, files), MAX_APIS),
        documents=_ranked(documents, MAX_DOCUMENTS),
        design_assets=_ranked(find_design_assets(root, files, markdown), MAX_DESIGN_ASSETS),
    )


def _ranked(items: list[_Item], limit: int) -> list[_Item]:
    """Sort items by descending reuse score, then path, and keep the first `limit`."""
    return sorted(
        items,
        key=lambda item: (
            -item.reuse_score,
            item.path,
            getattr(item, "name", "") or getattr(item, "title", ""),
        ),
    )[:limit]


def _family(path: str) -> str | None:
    """Return the language family of a code file by extension."""
    dot = path.rfind(".")
    return _FAMILIES.get(path[dot:].lower()) if dot > path.rfind("/") else None


def _components(root: Path, files: list[RepoFile]) -> list[ComponentItem]:
    """Extract components from code files and score them against the code corpus (one pass, bounded)."""
    packages = {path.rpartition("/")[0] for path in _files_named(files, "__init__.py")}
    frequency: dict[str, Counter[str]] = {}
    tested_names: set[str] = set()
    found: list[_Found] = []
    go_dirs: dict[str, dict[str, tuple[str, str, list[str]]]] = {}
    go_facts: dict[str, tuple[int, set[str]]] = {}
    read = 0
    for item in files:
        family = _family(item.path)
        if family is None or is_excluded(item.path) or read >= MAX_CODE_FILES:
            continue
        text = read_text(root, item)
        if text is None or generated_by_content(item.path, text):  # minified or tool-generated
            continue
        read += 1
        names = set(_IDENTIFIER.findall(text))
        if is_test_path(item.path):
            tested_names |= names  # tests count in their own factor, not as references
            continue
        frequency.setdefault(family, Counter()).update(names)
        if _skipped(item.path):
            continue
        lines = text.count("\n") + 1
        for component in _extract(item.path, text, packages, go_dirs):
            found.append(_Found(component, lines, _token(component) in names))
        if item.path.endswith(".go"):
            go_facts[item.path] = (lines, names)
    for directory, parsed in go_dirs.items():
        package = go_package(directory, parsed)
        if package is not None:
            facts = [go_facts[path] for path in parsed]
            mentions = sum(1 for _, names in facts if _token(package) in names)
            found.append(_Found(package, sum(lines for lines, _ in facts), False, mentions))
    for entry in found:
        component = entry.component
        own = entry.own_mentions + (1 if entry.mentions_itself else 0)
        component.references = max(
            0, frequency.get(_family(component.path) or "", Counter())[_token(component)] - own
        )
        component.tested = _token(component) in tested_names
        component.reuse_score = min(
            100,
            (30 if component.description else 0)
            + (15 if component.members or component.props or component.kind == "ui" else 0)
            + size_points(entry.lines, (20, 400), (5, 1000), 20)
            + min(25, 5 * component.references)
            + (10 if component.tested else 0),
        )
    return [entry.component for entry in found]


@dataclass(slots=True)
class _Found:
    """A component with the facts its score needs."""

    component: ComponentItem
    lines: int
    mentions_itself: bool
    own_mentions: int = 0


def _token(component: ComponentItem) -> str:
    """Return the name other files use to refer to a component (last segment of its name)."""
    return re.split(r"[./]", component.name)[-1]


def _extract(
    path: str, text: str, packages: set[str], go_dirs: dict[str, dict[str, tuple[str, str, list[str]]]]
) -> list[ComponentItem]:
    """Extract the components of one source file (Go files are grouped by directory for later)."""
    extension = path[path.rfind(".") :].lower()
    if extension == ".py":
        if path.rpartition("/")[0] not in packages:  # scripts outside a package are not reusable
            return []
        module = python_module(path, _dotted(path, packages), text)
        return [module] if module else []
    if extension in {".vue", ".svelte"}:
        return [sfc_component(path, text)]
    if extension in _JS_LANGUAGE:
        return js_components(path, text, _JS_LANGUAGE[extension])
    if extension in {".java", ".kt"}:
        jvm = jvm_class(path, text, "Java" if extension == ".java" else "Kotlin")
        return [jvm] if jvm else []
    parsed = go_file(text)
    if parsed is not None:
        go_dirs.setdefault(path.rpartition("/")[0], {})[path] = parsed
    return []


def _files_named(files: list[RepoFile], name: str) -> list[str]:
    """Return the paths of files with exactly this base name."""
    return [item.path for item in files if item.path.rpartition("/")[2] == name]


def _skipped(path: str) -> bool:
    """Say whether a code file is never a component: docs/examples, stories, private or tool modules."""
    name = path.rpartition("/")[2]
    if is_documentation(path) or ".stories." in name or name.endswith(".d.ts") or name in _SKIP_PY:
        return True
    return name.endswith(".py") and name.startswith("_") and name != "__init__.py"


def _dotted(path: str, packages: set[str]) -> str:
    """Return a Python module's dotted name, climbing the directories that hold an ``__init__.py``."""
    directory, _, name = path.rpartition("/")
    parts = [] if name == "__init__.py" else [name.removesuffix(".py")]
    while directory and directory in packages:
        directory, _, segment = directory.rpartition("/")
        parts.insert(0, segment)
    return ".".join(parts) or name.removesuffix(".py")
