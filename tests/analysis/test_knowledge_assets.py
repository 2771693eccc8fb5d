"""Knowledge extraction: design assets, safety limits and this project's own repository."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.analysis._git_fixture import commit_all, write_tree
from timbel.analysis.files import list_files
from timbel.analysis.knowledge import extract_knowledge
from timbel.analysis.knowledge_code import js_components
from timbel.analysis.knowledge_models import ComponentItem, DocumentItem

PNG = b"\x89PNG\r\n\x1a\n\0" + b"x" * 5000


class TestDesignAssets:
    def test_images_icons_links_stories_and_styles(self, tmp_path: Path) -> None:
        files: dict[str, str | bytes] = {
            "public/images/hero.png": PNG,
            "src/assets/icons/cart.svg": "<svg/>",
            "design/checkout-mockup.png": PNG,
            "src/lib/diagram.png": PNG,
            "README.md": "# App\n\nDesigns: https://www.figma.com/file/AbC123/Shop-UI?node-id=1 and again\n"
            "https://www.figma.com/file/AbC123/Shop-UI?node-id=1\n",
            "web/Button.stories.tsx": "export default { title: 'Button' };\n",
            "tailwind.config.js": "module.exports = {};\n",
            "src/styles/_variables.scss": "$a: 1;\n",
            "src/styles/palette.scss": "".join(f"$c{i}: #00{i};\n" for i in range(6)),
            "src/styles/page.scss": "body { margin: 0; }\n",
            "tokens/color.json": '{"primary": "#000"}\n',
        }
        write_tree(tmp_path, files)
        commit_all(tmp_path)
        assets = {(a.path, a.kind) for a in extract_knowledge(tmp_path, list_files(tmp_path)).design_assets}
        assert assets == {
            ("public/images/hero.png", "image"),
            ("src/assets/icons/cart.svg", "icon"),
            ("design/checkout-mockup.png", "mockup"),
            ("README.md", "figma-link"),
            ("web/Button.stories.tsx", "other"),
            ("tailwind.config.js", "style"),
            ("src/styles/_variables.scss", "style"),
            ("src/styles/palette.scss", "style"),
            ("tokens/color.json", "style"),
        }
        knowledge = extract_knowledge(tmp_path, list_files(tmp_path))
        figma = next(a for a in knowledge.design_assets if a.kind == "figma-link")
        assert figma.url == "https://www.figma.com/file/AbC123/Shop-UI?node-id=1" and figma.title == "Shop UI"
        assert all(0 <= a.reuse_score <= 100 for a in knowledge.design_assets)


class TestSafety:
    def test_symlinks_and_oversized_files_are_not_read(self, tmp_path: Path) -> None:
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "secret.py").write_text(
            '"""Secret module outside the repository."""\n\ndef leak():\n    pass\n'
        )
        repo = tmp_path / "repo"
        write_tree(repo, {"pkg/__init__.py": "", "docs/big.md": "# Big\n\n" + "x" * 2000})
        os.symlink(outside / "secret.py", repo / "pkg" / "linked.py")
        os.symlink(outside, repo / "docs" / "linked")
        commit_all(repo)
        knowledge = extract_knowledge(repo, list_files(repo, max_parse_bytes=1000))
        assert not any("linked" in c.path for c in knowledge.components)
        assert knowledge.documents == []
        assert knowledge.model_dump()  # the section serialises


class TestOwnRepository:
    def test_finds_readme_adrs_and_documented_modules(self) -> None:
        root = Path(__file__).resolve().parents[2]
        knowledge = extract_knowledge(root, list_files(root))
        documents = {d.path: d for d in knowledge.documents}
        assert documents["README.md"].kind == "readme" and documents["README.md"].title == "Timbel"
        adrs = [d for path, d in documents.items() if path.startswith("docs/decisions/") and d.kind == "adr"]
        assert len(adrs) >= 5
        assert len(knowledge.components) == 200  # this repository has more; the ranking keeps the cap
        everything = extract_knowledge(root, list_files(root), max_components=10_000)
        search = next(c for c in everything.components if c.name == "timbel.catalog.search_service")
        assert search.path == "src/timbel/catalog/search_service.py"
        assert search.description.startswith("Unified catalog search")
        assert search.language == "Python" and search.reuse_score >= 50


class TestHostileInput:
    def test_pathological_files_are_handled_quickly(self, tmp_path: Path) -> None:
        files: dict[str, str | bytes] = {
            "web/src/evil.ts": "/**" * 60_000 + "\nexport function ok() {}\n",
            "web/src/Evil.vue": "<script>\nprops: {" * 20_000,
            "lib/evil.go": "//\n" * 60_000 + "package evil\n\nfunc Run() {}\n",
            "docs/evil.md": "# " + " " * 100_000 + "x\n",
            "schema.graphql": '"""' * 50_000,
            "api/deep.json": '{"openapi": ' + "[" * 50_000,
            "api/deep.yaml": "openapi: " + "[" * 50_000,
            "pkg/__init__.py": "",
            "pkg/deep.py": "x = " + "(" * 50_000,
            "src/Evil.java": "public class Evil {\n" + "  public " * 30_000 + "\n}\n",
        }
        write_tree(tmp_path, files)
        commit_all(tmp_path)
        started = time.monotonic()
        knowledge = extract_knowledge(tmp_path, list_files(tmp_path))
        assert time.monotonic() - started < 5
        names = {c.name for c in knowledge.components}
        assert {"evil", "lib", "Evil"} <= names
        assert not any(a.path.startswith("api/") for a in knowledge.apis)


class TestCatalogFit:
    def test_long_names_and_titles_fit_the_catalog_limits(self) -> None:
        component = ComponentItem(name="x" * 500, kind="library", language="Go", path="a/b.go")
        document = DocumentItem(
            title="t" * 900, kind="technical", format="markdown", path="docs/a.md", size=1
        )
        assert len(component.name) == 200 and len(document.title) == 300


class TestDocComments:
    def test_only_the_comment_directly_before_a_declaration_documents_it(self) -> None:
        plain = "const y = 0;\n/** Doc of x. */\nconst x = 1;\n/* plain */\nexport function f() {}\n"
        decorated = "/**\n * Adds numbers.\n * @param a first\n */\n@Injectable()\nexport class Adder {}\n"
        assert js_components("lib/f.ts", plain, "TypeScript")[0].description == ""
        assert js_components("lib/adder.ts", decorated, "TypeScript")[0].description == "Adds numbers."
