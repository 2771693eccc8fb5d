"""Catalogs are complete for every message in the code, and templates hold no untranslated prose."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from timbel.web import i18n

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "src" / "timbel" / "web" / "templates"
CATALOGS = ROOT / "src" / "timbel" / "web" / "i18n"
LOCALES = ("ko", "en")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
# Words that are names or notation, not prose.
ALLOWED_WORDS = {"Timbel", "UTC", "CSV", "API"}


def extracted() -> dict[str | tuple[str, ...], list[str]]:
    """Every message id in templates and Python sources, per babel.cfg, with where it came from."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[str | tuple[str, ...], list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None},
    ):
        found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


def catalog(locale: str) -> Catalog:
    with (CATALOGS / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


@pytest.fixture(scope="module")
def messages() -> dict[str | tuple[str, ...], list[str]]:
    return extracted()


def test_extraction_finds_templates_and_python(messages: dict[str | tuple[str, ...], list[str]]) -> None:
    places = {where.split(":")[0] for wheres in messages.values() for where in wheres}
    assert any(p.endswith(".html") for p in places) and any(p.endswith(".py") for p in places)
    assert len(messages) > 100


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_translates_every_message(
    locale: str, messages: dict[str | tuple[str, ...], list[str]]
) -> None:
    cat = catalog(locale)
    problems: list[str] = []
    for msgid, where in messages.items():
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        entry = cat.get(key)
        if entry is None:
            problems.append(f"missing {msgid!r} ({where[0]})")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(s.strip() for s in strings):
            problems.append(f"untranslated {msgid!r} ({where[0]})")
        wanted = set(PLACEHOLDER.findall(key))
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != wanted and not (
                isinstance(msgid, tuple) and "num" in wanted
            ):
                problems.append(f"placeholders differ in {msgid!r}: {text!r}")
    assert problems == []


def test_template_pot_is_current(messages: dict[str | tuple[str, ...], list[str]]) -> None:
    with (CATALOGS / "messages.pot").open("rb") as handle:
        pot = read_po(handle)
    in_pot = {m.id for m in pot if m.id}
    assert in_pot == set(messages), "regenerate messages.pot (see src/timbel/web/README.md)"


def test_runtime_catalogs_translate() -> None:
    i18n.load_catalogs(LOCALES)
    with i18n.use_locale("ko"):
        assert i18n.gettext("Sign in") == "로그인"
        assert i18n.ngettext("%(num)d user", "%(num)d users", 3) % {"num": 3} == "사용자 3명"
    with i18n.use_locale("en"):
        assert i18n.ngettext("%(num)d user", "%(num)d users", 1) % {"num": 1} == "1 user"
        assert i18n.ngettext("%(num)d user", "%(num)d users", 2) % {"num": 2} == "2 users"


def template_texts() -> Iterator[tuple[str, str]]:
    """Visible text of every template (text nodes and human-facing attributes), Jinja removed."""
    for path in sorted(TEMPLATES.rglob("*.html")):
        source = path.read_text(encoding="utf-8")
        source = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", source, flags=re.DOTALL)
        source = re.sub(r"<(script|style)\b.*?</\1>", " ", source, flags=re.DOTALL)
        name = str(path.relative_to(TEMPLATES))
        for attribute in re.findall(r'\b(?:placeholder|title|alt|aria-label)="([^"]*)"', source):
            yield name, attribute
        for text in re.split(r"<[^>]*>", source):
            yield name, text


def test_templates_have_no_untranslated_prose() -> None:
    offending: list[str] = []
    for name, text in template_texts():
        if re.search(r"[\uac00-\ud7a3\u3131-\u318e]", text):
            offending.append(f"{name}: Hangul outside a translation call: {text.strip()!r}")
        words = [w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in ALLOWED_WORDS]
        if words:
            offending.append(f"{name}: English outside a translation call: {text.strip()!r}")
    assert offending == []


VIEW_MODULES = ("web/*.py", "auth/views.py", "auth/admin_views.py", "audit/views.py")


def test_python_views_have_no_hangul_string_literals() -> None:
    offending: list[str] = []
    for pattern in VIEW_MODULES:
        for path in (ROOT / "src" / "timbel").glob(pattern):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = {
                id(node.body[0].value)
                for node in ast.walk(tree)
                if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                and node.body
                and isinstance(node.body[0], ast.Expr)
            }
            offending += [
                f"{path.name}:{node.lineno}"
                for node in ast.walk(tree)
                if isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and re.search(r"[\uac00-\ud7a3]", node.value)
            ]
    assert offending == []
