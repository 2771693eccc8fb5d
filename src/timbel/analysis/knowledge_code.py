"""Extract code components without running anything: Python, JS/TS, JVM and Go via light scanners.

Python: the module docstring comes from the first token (``tokenize``), public names from column-0
``def``/``class`` lines and the last ``__all__`` list — the same facts ``ast`` gives for a module's top
level, without parsing the whole file (parsing was most of the analysis time on Python repositories).
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import tokenize
from collections.abc import Iterable

from timbel.analysis.knowledge_models import ComponentItem, ComponentKind
from timbel.analysis.knowledge_read import first_paragraph

MAX_MEMBERS = 30
DOC_LOOKBACK = 4000
# Every pattern is linear on hostile input: no unbounded lazy scans, `[ \t]*` instead of `\s*` after `^`.
_JS_EXPORT = re.compile(
    r"export\s+(?:default\s+)?(?:async\s+)?(function\*?|class|const|let|interface|type|enum)\s+([A-Za-z_$][\w$]*)"
)
_JS_PROPS = re.compile(r"(?:interface|type)\s+\w*Props\s*=?\s*\{([^}]{0,4000})\}")
_PROP_NAME = re.compile(r"(?:^|[;,{])[ \t\n]*(?:readonly\s+)?([A-Za-z_$][\w$]*)\??[ \t]*:", re.MULTILINE)
_VUE_PROPS = re.compile(
    r"defineProps\s*(?:<\s*\{([^}]{0,4000})\}|\(\s*\{([^}]{0,4000})\})|props\s*:\s*\{([^}]{0,4000})\}"
)
_SVELTE_PROP = re.compile(r"^[ \t]*export\s+let\s+(\w+)", re.MULTILINE)
_ANGULAR = re.compile(r"@Component\s*\(")
_ANGULAR_CLASS = re.compile(r"export\s+class\s+(\w+)")
_ANGULAR_INPUT = re.compile(r"@Input\(\)\s*(?:set\s+)?(\w+)")
_JSX_RETURN = re.compile(r"(?:return|=>)\s*(?:\(\s*)?<[A-Za-z]")
_JVM_PACKAGE = re.compile(r"^[ \t]*package\s+([\w.]+)", re.MULTILINE)
_JVM_CLASS = re.compile(
    r"^[ \t]*((?:(?:public|private|protected|internal|open|data|sealed|abstract|final|static|enum|annotation|"
    r"value)[ \t]+)*)(class|interface|object|record|enum)[ \t]+(\w+)",
    re.MULTILINE,
)
_JAVA_METHOD = re.compile(
    r"^[ \t]*public\s+(?:static\s+)?(?:final\s+)?[\w<>\[\], ?]+\s+(\w+)\s*\(", re.MULTILINE
)
_PY_TOP = re.compile(r"^(?:async[ \t]+def|def|class)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)
_PY_ALL = re.compile(r"^__all__[ \t]*(?::[^=\n]{0,200})?=[ \t]*[\[(]", re.MULTILINE)
_GO_PACKAGE = re.compile(r"^package[ \t]+(\w+)", re.MULTILINE)
_GO_EXPORTED = re.compile(r"^(?:func\s+(?:\([^)\n]*\)\s*)?|type\s+)([A-Z]\w*)", re.MULTILINE)
_UI_EXTENSIONS = {".vue": "Vue", ".svelte": "Svelte"}


def component_kind(path: str) -> ComponentKind:
    """Guess the catalog component kind of a module from its path."""
    lower = path.lower()
    if re.search(r"(?:^|/|_)(?:routes?|controllers?|handlers?|endpoints?|api)(?:/|\.|_)", lower):
        return "api"
    if re.search(r"(?:^|/|_)(?:models?|schemas?|entities|entity|repositor(?:y|ies)|dto)(?:/|\.|_)", lower):
        return "data"
    if re.search(r"(?:^|/|_)(?:utils?|helpers?|common|shared)(?:/|\.|_)", lower):
        return "utility"
    return "library"


def doc_before(text: str, position: int) -> str:
    """Return the ``/** ... */`` comment right before `position` (annotations in between are skipped)."""
    head = text[max(0, position - DOC_LOOKBACK) : position].rstrip()
    while True:
        line_start = head.rfind("\n")
        if not head[line_start + 1 :].lstrip().startswith("@"):
            break
        head = head[: max(line_start, 0)].rstrip()
    if not head.endswith("*/"):
        return ""
    opening = head.rfind("/**")
    body = head[opening + 3 : -2] if opening != -1 else ""
    return "" if "*/" in body else body  # the last comment was a plain /* */ one


def _clean_jsdoc(raw: str | None) -> str:
    """Turn a JSDoc/Javadoc body into its first paragraph, without tags."""
    if not raw:
        return ""
    lines = [line.strip().lstrip("*").strip() for line in raw.splitlines()]
    return first_paragraph("\n".join(line for line in lines if not line.startswith("@")))


def _python_docstring(text: str) -> str:
    """Return the module docstring: the first statement when it is a string literal (cleaned like ``ast``)."""
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENCODING}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in skip:
                continue
            if token.type != tokenize.STRING:
                return ""
            value = ast.literal_eval(token.string)
            return inspect.cleandoc(value) if isinstance(value, str) else ""
    except (tokenize.TokenError, SyntaxError, ValueError, IndentationError, MemoryError):
        return ""
    return ""


def _python_all(text: str) -> list[str] | None:
    """Return the names of the module's last top-level ``__all__ = [...]`` assignment, if any."""
    matches = list(_PY_ALL.finditer(text))
    if not matches:
        return None
    start = matches[-1].end() - 1
    close = text.find("]" if text[start] == "[" else ")", start)
    try:
        node = ast.parse(text[start : close + 1], mode="eval").body if close != -1 else None
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if not isinstance(node, ast.List | ast.Tuple):
        return None
    return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]


def python_module(path: str, dotted: str, text: str) -> ComponentItem | None:
    """Describe a Python module by its docstring and public top-level names; None if it has neither."""
    public = [name for name in _PY_TOP.findall(text) if not name.startswith("_")]
    explicit = _python_all(text)
    docstring = _python_docstring(text)
    members = explicit if explicit is not None else public
    if not docstring and not members:
        return None
    return ComponentItem(
        name=dotted,
        kind=component_kind(path),
        language="Python",
        path=path,
        description=first_paragraph(docstring),
        members=members[:MAX_MEMBERS],
    )


def js_components(path: str, text: str, language: str) -> list[ComponentItem]:
    """Return a JS/TS file's UI components (one each) or, for plain modules, one module component."""
    angular = _ANGULAR.search(text)
    decorated = _ANGULAR_CLASS.search(text, angular.end(), angular.end() + DOC_LOOKBACK) if angular else None
    if angular and decorated:
        selector = re.search(r"selector\s*:\s*['\"]([^'\"\n]+)", text[angular.end() : decorated.start()])
        return [
            ComponentItem(
                name=decorated.group(1),
                kind="ui",
                language=language,
                framework="Angular",
                path=path,
                description=f"selector {selector.group(1)}" if selector else "",
                props=_ANGULAR_INPUT.findall(text)[:MAX_MEMBERS],
            )
        ]
    exports = [(doc_before(text, m.start()), m.group(1), m.group(2)) for m in _JS_EXPORT.finditer(text)]
    if not exports:
        return []
    jsx = path.endswith((".jsx", ".tsx")) or _JSX_RETURN.search(text) is not None
    props = _props(_JS_PROPS.findall(text))
    ui = [
        (doc, name)
        for doc, kind, name in exports
        if name[:1].isupper() and not name.isupper() and kind in {"function", "const", "class"}
    ]
    if jsx and ui:
        framework = _jsx_framework(text)
        return [
            ComponentItem(
                name=name,
                kind="ui",
                language=language,
                framework=framework,
                path=path,
                description=_clean_jsdoc(doc),
                props=props,
            )
            for doc, name in ui[:10]
        ]
    documented = next((_clean_jsdoc(doc) for doc, _, _ in exports if doc), "")
    stripped = text.lstrip()
    closing = stripped.find("*/", 0, DOC_LOOKBACK) if stripped.startswith("/**") else -1
    stem = path.rpartition("/")[2].split(".")[0]
    name = stem if stem != "index" else path.rpartition("/")[0].rpartition("/")[2] or stem
    return [
        ComponentItem(
            name=name,
            kind=component_kind(path),
            language=language,
            path=path,
            description=_clean_jsdoc(stripped[3:closing]) if closing != -1 else documented,
            members=[n for _, _, n in exports][:MAX_MEMBERS],
        )
    ]


def _jsx_framework(text: str) -> str:
    """Name the JSX library a file imports (React unless Preact or Solid is imported)."""
    if re.search(r"from\s+['\"]preact", text):
        return "Preact"
    if re.search(r"from\s+['\"]solid-js", text):
        return "Solid"
    return "React"


def _props(blocks: Iterable[str]) -> list[str]:
    """Return prop names declared in Props interfaces/types."""
    return [name for block in blocks for name in _PROP_NAME.findall(block)][:MAX_MEMBERS]


def sfc_component(path: str, text: str) -> ComponentItem:
    """Describe a Vue or Svelte single-file component."""
    extension = path[path.rfind(".") :]
    framework = _UI_EXTENSIONS[extension]
    if framework == "Vue":
        match = _VUE_PROPS.search(text)
        props = _props([next((g for g in match.groups() if g), "")]) if match else []
        if match and not props:
            block = next((g for g in match.groups() if g), "")
            props = re.findall(r"^[ \t]*(\w+)[ \t]*[:,]", block, re.MULTILINE)
    else:
        props = _SVELTE_PROP.findall(text)[:MAX_MEMBERS]
    stripped = text.lstrip()
    comment_end = stripped.find("-->", 0, DOC_LOOKBACK) if stripped.startswith("<!--") else -1
    jsdoc_start = text.find("/**")
    jsdoc_end = text.find("*/", jsdoc_start, jsdoc_start + DOC_LOOKBACK) if jsdoc_start != -1 else -1
    if comment_end != -1:
        description = first_paragraph(stripped[4:comment_end])
    else:
        description = _clean_jsdoc(text[jsdoc_start + 3 : jsdoc_end] if jsdoc_end != -1 else None)
    name = path.rpartition("/")[2].rpartition(".")[0]
    return ComponentItem(
        name=name,
        kind="ui",
        language=framework,
        framework=framework,
        path=path,
        description=description,
        props=props[:MAX_MEMBERS],
    )


def jvm_class(path: str, text: str, language: str) -> ComponentItem | None:
    """Describe the public top-level class of a Java/Kotlin file; None if it has none."""
    package = _JVM_PACKAGE.search(text)
    for match in _JVM_CLASS.finditer(text):
        modifiers = match.group(1)
        if "private" in modifiers or "internal" in modifiers or "protected" in modifiers:
            continue
        if language == "Java" and "public" not in modifiers:
            continue
        name = match.group(3)
        qualified = f"{package.group(1)}.{name}" if package else name
        members = [m for m in _JAVA_METHOD.findall(text) if m != name] if language == "Java" else []
        return ComponentItem(
            name=qualified,
            kind=component_kind(path),
            language=language,
            path=path,
            description=_clean_jsdoc(doc_before(text, match.start())),
            members=list(dict.fromkeys(members))[:MAX_MEMBERS],
        )
    return None


def go_file(text: str) -> tuple[str, str, list[str]] | None:
    """Return a Go file's package name, package doc comment and exported names; None without a package."""
    match = _GO_PACKAGE.search(text)
    if match is None:
        return None
    comment: list[str] = []
    for line in reversed(text[: match.start()].splitlines()[-200:]):
        if not line.startswith("//"):
            break
        comment.insert(0, line[2:].strip())
    package = match.group(1)
    doc = "\n".join(comment)
    return package, doc if doc.startswith(f"Package {package}") else "", _GO_EXPORTED.findall(text)


def go_package(directory: str, parsed: dict[str, tuple[str, str, list[str]]]) -> ComponentItem | None:
    """Describe a Go package (one directory) by its package doc comment and exported names."""
    package, doc, members = "", "", []
    for path in sorted(parsed):
        package, comment, exported = parsed[path]
        doc = doc or comment
        members.extend(exported)
    if not package or package == "main" or (not doc and not members):
        return None
    path = min(parsed, key=lambda p: (not p.endswith("doc.go"), p))
    return ComponentItem(
        name=directory or package,
        kind=component_kind(directory + "/"),
        language="Go",
        path=path,
        description=first_paragraph(doc),
        members=list(dict.fromkeys(members))[:MAX_MEMBERS],
    )
