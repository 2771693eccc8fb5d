"""Find documents: READMEs, docs folders, ADRs, changelogs and contributing guides.

Reuse score of a document (0–100): 20 for a heading title, 20 for a summary paragraph, 30 for a
size of 500 B–50 KiB (15 for 100 B–200 KiB), a kind bonus (readme, adr, api-guide, manual 20;
technical 15; other 5) and 10 when another document links to it by file name.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Literal

from timbel.analysis.files import RepoFile
from timbel.analysis.knowledge_models import DocumentItem, DocumentKind
from timbel.analysis.knowledge_read import first_paragraph, is_excluded, read_text, size_points

DocFormat = Literal["markdown", "rst", "asciidoc", "text"]
_FORMATS: dict[str, DocFormat] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".rst": "rst",
    ".adoc": "asciidoc",
    ".asciidoc": "asciidoc",
    ".txt": "text",
}
_TOP_NAMES = re.compile(r"^(readme|changelog|changes|history|contributing)(?:\.[a-z]+)?$", re.IGNORECASE)
_ADR = re.compile(
    r"(?:^|/)(?:adrs?|decisions|architecture-decisions)/|(?:^|/)adr[-_]?\d*[^/]*$", re.IGNORECASE
)
_DOC_DIR = re.compile(r"(?:^|/)(?:docs?|documentation|wiki|guides?)/", re.IGNORECASE)
_MANUAL = re.compile(
    r"guide|manual|tutorial|getting[-_]?started|usage|how[-_]?to|install|quickstart|faq", re.IGNORECASE
)
_API = re.compile(r"(?:^|/|[-_])api(?:s|[-_]|/|\.)", re.IGNORECASE)
_KIND_BONUS = {"readme": 20, "adr": 20, "api-guide": 20, "manual": 20, "technical": 15, "other": 5}
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
MAX_HEADING_CHARS = 300
MAX_DOCUMENTS_READ = 2000
_LINKED_NAME = re.compile(r"[\w.-]+\.(?:md|markdown|mdx|rst|adoc|asciidoc|txt)\b", re.IGNORECASE)
_UNDERLINE = re.compile(r"^(=+|-+|~+|\^+|\*+)\s*$")


def find_documents(root: Path, files: list[RepoFile]) -> tuple[list[DocumentItem], dict[str, str]]:
    """Return the repository's documents (title, kind, summary, reuse score) and their texts by path."""
    documents: list[DocumentItem] = []
    texts: dict[str, str] = {}
    for item in files:
        fmt = _format(item.path)
        if fmt is None or not item.parseable or is_excluded(item.path) or not _is_document(item.path):
            continue
        if len(texts) >= MAX_DOCUMENTS_READ:
            break
        text = read_text(root, item)
        if text is None:
            continue
        texts[item.path] = text
        title, summary = _title_and_summary(text, fmt)
        documents.append(
            DocumentItem(
                title=title or item.path.rpartition("/")[2],
                kind=document_kind(item.path),
                format=fmt,
                path=item.path,
                size=item.size,
                summary=summary,
            )
        )
    mentioned: dict[str, set[str]] = {path: set(_LINKED_NAME.findall(text)) for path, text in texts.items()}
    linked_names: Counter[str] = Counter(name for names in mentioned.values() for name in names)
    for doc in documents:
        name = doc.path.rpartition("/")[2]
        linked = linked_names[name] - (1 if name in mentioned[doc.path] else 0) > 0
        doc.reuse_score = min(
            100,
            (20 if doc.title != name else 0)
            + (20 if doc.summary else 0)
            + size_points(doc.size, (500, 50 * 1024), (100, 200 * 1024), 30)
            + _KIND_BONUS[doc.kind]
            + (10 if linked else 0),
        )
    return documents, texts


def _format(path: str) -> DocFormat | None:
    """Return the markup format of a document path, or None when it is not a document format."""
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    if dot == -1:
        return "text" if _TOP_NAMES.match(name) else None
    return _FORMATS.get(name[dot:].lower())


def _is_document(path: str) -> bool:
    """Say whether the path is a README, changelog, contributing guide, ADR or docs page."""
    name = path.rpartition("/")[2]
    if _TOP_NAMES.match(name):
        return True
    if name.lower().endswith(".txt"):  # docs/requirements.txt and the like are not documents
        return False
    return _ADR.search(path) is not None or _DOC_DIR.search(path) is not None


def document_kind(path: str) -> DocumentKind:
    """Map a document path to a catalog document kind."""
    name = path.rpartition("/")[2].lower()
    if name.startswith("readme"):
        return "readme"
    if _ADR.search(path):
        return "adr"
    if name.startswith(("changelog", "changes", "history")):
        return "other"
    if _API.search(path.lower()):
        return "api-guide"
    if _MANUAL.search(name) or name.startswith("contributing"):
        return "manual"
    return "technical" if _DOC_DIR.search(path) else "other"


def _title_and_summary(text: str, fmt: str) -> tuple[str, str]:
    """Return the first heading and the first prose paragraph after it (≤ 300 characters)."""
    lines = text.splitlines()
    title = ""
    paragraph: list[str] = []
    in_fence = False
    for index, raw in enumerate(lines[:400]):
        line = raw.strip()
        if line.startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        heading = _heading(line, lines[index + 1].strip() if index + 1 < len(lines) else "", fmt)
        if heading is not None:
            if paragraph:
                break
            title = title or heading
            continue
        if _UNDERLINE.match(line) and index > 0:
            continue
        if not line:
            if paragraph:
                break
            continue
        if line.startswith(("<", "[![", "![", "|", ">", ":", "..", "---")) or (title == "" and fmt == "rst"):
            continue
        paragraph.append(line)
    return title.strip("*_` "), first_paragraph(" ".join(paragraph))


def _heading(line: str, following: str, fmt: str) -> str | None:
    """Return the heading text when the line is a heading in the given format."""
    if len(line) > MAX_HEADING_CHARS:
        return None
    if fmt == "markdown":
        match = _MD_HEADING.match(line)
        if match:
            return match.group(1)
    if fmt == "asciidoc" and line.startswith("=") and line.lstrip("=").startswith(" "):
        return line.lstrip("= ").strip()
    if (
        line
        and _UNDERLINE.match(following)
        and len(following) >= min(len(line), 3)
        and not _UNDERLINE.match(line)
    ):
        return line
    return None
