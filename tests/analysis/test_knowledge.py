"""Knowledge extraction: components, APIs, documents and design assets found in fixture repositories."""

from __future__ import annotations

import json
from pathlib import Path

from tests.analysis._git_fixture import commit_all, write_tree
from timbel.analysis.files import list_files
from timbel.analysis.knowledge import Knowledge, extract_knowledge

LONG_BODY = "\n".join(f"    value_{i} = {i}" for i in range(25))

PY_LIB = {
    "pkg/__init__.py": '"""Shared toolkit."""\n',
    "pkg/widgets.py": (
        f'"""Reusable widgets for dashboards."""\n\n\ndef render_widget():\n{LONG_BODY}\n    return 1\n'
    ),
    "pkg/lonely.py": f"def forgotten():\n{LONG_BODY}\n    return 2\n",
    "pkg/_private.py": '"""Private helper."""\n\n\ndef hidden():\n    return 3\n',
    "pkg/broken.py": "def broken(:\n",
    "pkg/a.py": "from pkg import widgets\n\nwidgets.render_widget()\n",
    "pkg/b.py": "from pkg import widgets\n",
    "pkg/c.py": "import pkg.widgets\n",
    "tests/test_widgets.py": "from pkg import widgets\n",
    "script.py": '"""A loose script."""\n\n\ndef main():\n    pass\n',
    "node_modules/lib/index.js": "/** Vendored. */\nexport function vendored() {}\n",
}


def _extract(tmp_path: Path, files: dict[str, str | bytes]) -> Knowledge:
    """Write, commit and analyse a fixture repository."""
    write_tree(tmp_path, files)
    commit_all(tmp_path)
    return extract_knowledge(tmp_path, list_files(tmp_path))


class TestComponents:
    def test_python_modules_are_scored_by_docs_references_and_tests(self, tmp_path: Path) -> None:
        knowledge = _extract(tmp_path, PY_LIB)
        by_name = {c.name: c for c in knowledge.components}
        widgets, lonely = by_name["pkg.widgets"], by_name["pkg.lonely"]
        assert widgets.description == "Reusable widgets for dashboards."
        assert widgets.members == ["render_widget"]
        assert widgets.references == 3 and widgets.tested
        assert widgets.reuse_score > lonely.reuse_score
        assert by_name["pkg"].description == "Shared toolkit."
        assert not {"pkg._private", "script", "vendored", "index"} & set(by_name)
        # Modules are read by a light scanner (no full parse): a file with a syntax error still shows
        # the top-level names it declares, and never stops the analysis.
        assert by_name["pkg.broken"].members == ["broken"] and by_name["pkg.broken"].description == ""
        assert not any(c.path.startswith("tests/") for c in knowledge.components)
        scores = [c.reuse_score for c in knowledge.components]
        assert scores == sorted(scores, reverse=True) and all(0 <= s <= 100 for s in scores)

    def test_ui_components_with_props_and_jsdoc(self, tmp_path: Path) -> None:
        files: dict[str, str | bytes] = {
            "web/src/Button.tsx": (
                "import React from 'react';\n"
                "interface ButtonProps {\n  label: string;\n  onClick?: () => void;\n}\n"
                "/** A primary action button. */\n"
                "export function Button({ label }: ButtonProps) {\n  return <button>{label}</button>;\n}\n"
            ),
            "web/src/Card.vue": (
                "<!-- A card that frames content. -->\n<template><div/></template>\n"
                '<script setup lang="ts">\ndefineProps<{ title: string; elevated?: boolean }>()\n</script>\n'
            ),
            "web/src/Badge.svelte": "<script>\n  export let text;\n  export let tone = 'info';\n</script>\n",
            "web/src/hero.component.ts": (
                "@Component({ selector: 'app-hero', template: '' })\nexport class HeroComponent {\n"
                "  @Input() name = '';\n}\n"
            ),
            "web/src/format.ts": (
                "/** String formatting helpers. */\nexport function money(v: number) { return v; }\n"
            ),
            "web/src/Button.stories.tsx": "export default { title: 'Button' };\n",
            "web/src/vendor.js": "/** Minified. */\nexport function m(){" + "var a=1;" * 40 + "}\n",
            "web/src/Avatar.js": "export const Avatar = ({ url }) => <img src={url} />;\n",
            "web/src/useCart.tsx": "export function useCart() { return []; }\nexport const MAX_ITEMS = 3;\n",
            "web/src/App.tsx": (
                "import { Button } from './Button';\nexport const App = () => <Button label='x'/>;\n"
            ),
        }
        by_name = {c.name: c for c in _extract(tmp_path, files).components}
        button = by_name["Button"]
        assert (button.kind, button.framework, button.language) == ("ui", "React", "TSX")
        assert button.props == ["label", "onClick"] and button.description == "A primary action button."
        assert button.references >= 1
        assert by_name["Card"].framework == "Vue" and by_name["Card"].props == ["title", "elevated"]
        assert by_name["Card"].description == "A card that frames content."
        assert by_name["Badge"].props == ["text", "tone"]
        assert by_name["HeroComponent"].framework == "Angular" and by_name["HeroComponent"].props == ["name"]
        assert by_name["format"].members == ["money"] and by_name["format"].kind == "library"
        assert button.reuse_score > by_name["App"].reuse_score
        assert by_name["Avatar"].kind == "ui" and by_name["Avatar"].language == "JavaScript"
        assert by_name["useCart"].kind == "library" and by_name["useCart"].members == ["useCart", "MAX_ITEMS"]
        assert "MAX_ITEMS" not in by_name and "vendor" not in by_name

    def test_java_kotlin_and_go(self, tmp_path: Path) -> None:
        files: dict[str, str | bytes] = {
            "src/main/java/com/acme/Money.java": (
                "package com.acme;\n\n/** Money amounts in minor units. */\npublic final class Money {\n"
                "  public long cents() { return 0; }\n}\n"
            ),
            "src/main/java/com/acme/Hidden.java": "package com.acme;\nclass Hidden {}\n",
            "src/main/kotlin/com/acme/Rates.kt": "package com.acme\n\nclass Rates\n\ninternal class Secret\n",
            "src/test/java/com/acme/MoneyTest.java": "package com.acme;\npublic class MoneyTest {}\n",
            "auth/doc.go": "// Package auth verifies tokens.\npackage auth\n",
            "auth/token.go": "package auth\n\nfunc Verify() bool { return true }\n\nfunc helper() {}\n",
            "auth/token_test.go": "package auth\n",
            "cmd/app/main.go": "package main\n\nfunc main() {}\n",
        }
        by_name = {c.name: c for c in _extract(tmp_path, files).components}
        money = by_name["com.acme.Money"]
        assert money.description == "Money amounts in minor units." and money.members == ["cents"]
        assert "com.acme.Rates" in by_name and by_name["com.acme.Rates"].language == "Kotlin"
        assert not {"com.acme.Hidden", "com.acme.Secret", "com.acme.MoneyTest", "cmd/app"} & set(by_name)
        auth = by_name["auth"]
        assert auth.description == "Package auth verifies tokens." and auth.members == ["Verify"]
        assert auth.path == "auth/doc.go"

    def test_component_count_is_bounded(self, tmp_path: Path) -> None:
        files: dict[str, str | bytes] = {"big/__init__.py": ""}
        files.update({f"big/m{i}.py": f'"""Module {i}."""\n\n\ndef f{i}():\n    pass\n' for i in range(30)})
        write_tree(tmp_path, files)
        commit_all(tmp_path)
        knowledge = extract_knowledge(tmp_path, list_files(tmp_path), max_components=10)
        assert len(knowledge.components) == 10


OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "Orders API", "version": "1.2.0", "description": "Create and track orders."},
    "paths": {
        "/orders": {"get": {}, "post": {}, "parameters": []},
        "/orders/{id}": {"get": {}, "delete": {}},
    },
}


class TestApis:
    def test_definitions_with_endpoint_counts(self, tmp_path: Path) -> None:
        files: dict[str, str | bytes] = {
            "api/openapi.json": json.dumps(OPENAPI),
            "api/legacy.yaml": "swagger: '2.0'\ninfo:\n  title: Legacy\npaths:\n  /a:\n    get: {}\n",
            "api/events.yml": (
                "asyncapi: 2.6.0\ninfo:\n  title: Events\n  version: '1'\nchannels:\n  a: {}\n  b: {}\n"
            ),
            "schema.graphql": (
                '"""Root"""\ntype Query {\n  orders(first: Int): [Order]\n  order(id: ID!): Order\n}\n'
                "type Mutation {\n  # create one\n  createOrder(input: OrderInput): Order\n}\n"
                "type Order { id: ID! }\n"
            ),
            "proto/orders.proto": (
                'syntax = "proto3";\npackage acme.orders.v1;\n'
                "service Orders {\n  rpc Get(GetRequest) returns (Order);\n"
                "  rpc List(ListRequest) returns (L);\n}\n"
            ),
            "proto/types.proto": 'syntax = "proto3";\nmessage Order {}\n',
            "api/broken.yaml": "openapi: 3.0.0\npaths: [unclosed\n",
            "config.yaml": "name: not an api\n",
        }
        by_path = {a.path: a for a in _extract(tmp_path, files).apis}
        assert set(by_path) == {
            "api/openapi.json",
            "api/legacy.yaml",
            "api/events.yml",
            "schema.graphql",
            "proto/orders.proto",
        }
        orders = by_path["api/openapi.json"]
        assert (orders.name, orders.version, orders.format, orders.endpoint_count) == (
            "Orders API",
            "1.2.0",
            "openapi",
            4,
        )
        assert orders.kind == "api" and orders.description == "Create and track orders."
        assert (
            by_path["api/legacy.yaml"].format == "swagger" and by_path["api/legacy.yaml"].endpoint_count == 1
        )
        assert by_path["api/events.yml"].endpoint_count == 2
        assert by_path["schema.graphql"].endpoint_count == 3
        proto = by_path["proto/orders.proto"]
        assert (proto.name, proto.version, proto.endpoint_count) == ("Orders", "acme.orders.v1", 2)
        assert orders.reuse_score > by_path["api/legacy.yaml"].reuse_score


class TestDocuments:
    def test_titles_kinds_and_summaries(self, tmp_path: Path) -> None:
        files: dict[str, str | bytes] = {
            "README.md": "[![ci](x.svg)](y)\n\n# Shop\n\nThe shop sells things.\nOn two lines.\n\n## More\n",
            "CHANGELOG.md": "# Changelog\n\n## 1.0\n",
            "CONTRIBUTING.md": "# Contributing\n\nOpen a pull request.\n",
            "docs/adr/0001-use-postgres.md": "# Use PostgreSQL\n\nWe chose PostgreSQL.\n",
            "docs/decisions/0002-queue.md": "# Queue\n",
            "notes/adr-003-cache.md": "# Cache\n",
            "docs/api/orders.md": "# Orders API guide\n",
            "docs/getting-started.rst": "Getting started\n===============\n\nInstall it first.\n",
            "docs/architecture.adoc": "= Architecture\n\nThree layers.\n",
            "docs/untitled.md": "just text " * 50 + "\n",
            "src/notes.md": "# Not a document\n",
            "docs/requirements.txt": "sphinx\n",
            "README.txt": "Plain readme\n",
        }
        by_path = {d.path: d for d in _extract(tmp_path, files).documents}
        assert "src/notes.md" not in by_path and "docs/requirements.txt" not in by_path
        assert by_path["README.txt"].kind == "readme" and by_path["README.txt"].format == "text"
        readme = by_path["README.md"]
        assert (readme.title, readme.kind, readme.summary) == (
            "Shop",
            "readme",
            "The shop sells things. On two lines.",
        )
        assert by_path["CHANGELOG.md"].kind == "other"
        assert by_path["CONTRIBUTING.md"].kind == "manual"
        kinds = {path: doc.kind for path, doc in by_path.items()}
        assert kinds["docs/adr/0001-use-postgres.md"] == kinds["docs/decisions/0002-queue.md"] == "adr"
        assert kinds["notes/adr-003-cache.md"] == "adr" and kinds["docs/api/orders.md"] == "api-guide"
        assert by_path["docs/getting-started.rst"].title == "Getting started"
        assert by_path["docs/getting-started.rst"].kind == "manual"
        assert by_path["docs/architecture.adoc"].title == "Architecture"
        assert by_path["docs/architecture.adoc"].kind == "technical"
        assert by_path["docs/untitled.md"].title == "untitled.md"
        assert len(by_path["docs/untitled.md"].summary) <= 300
        assert readme.reuse_score > by_path["docs/decisions/0002-queue.md"].reuse_score


def test_python_module_scanner_matches_the_top_level_facts() -> None:
    from timbel.analysis.knowledge_code import python_module

    text = (
        "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n"
        '"""Payment helpers.\n\n    Second paragraph.\n    """\n'
        "import os\n\n\n@dataclass\nclass Card:\n    def _inner(self):\n        pass\n\n\n"
        "async def charge():\n    def nested():\n        pass\n\n\ndef _hidden():\n    pass\n"
    )
    module = python_module("pay/cards.py", "pay.cards", text)
    assert module is not None
    assert module.description == "Payment helpers."
    assert module.members == ["Card", "charge"]
    explicit = python_module("pay/api.py", "pay.api", text + '\n__all__ = ["charge",\n    "refund"]\n')
    assert explicit is not None and explicit.members == ["charge", "refund"]
    assert python_module("pay/empty.py", "pay.empty", "x = 1\nb'not a docstring'\n") is None
    assert python_module("pay/bytes.py", "pay.bytes", "b'''bytes'''\n") is None
