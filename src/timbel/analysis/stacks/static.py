"""Detect static sites: generator projects (Hugo, Jekyll, MkDocs) and plain `index.html` folders.

A static site has no server of its own: it is served by nginx (or Caddy) on port 80, which we report as
a default. A folder only counts when no other manifest owns it (a Node SPA's `index.html` belongs to
its package.json, a Flask app's `templates/index.html` to the Python project).
"""

from __future__ import annotations

import posixpath
import re

from timbel.analysis.stacks.base import Detected, StackContext, default_hit

# (config file, generator, build command, output directory)
GENERATORS: tuple[tuple[str, str, str, str], ...] = (
    ("hugo.toml", "Hugo", "hugo --minify", "public"),
    ("hugo.yaml", "Hugo", "hugo --minify", "public"),
    ("config.toml", "Hugo", "hugo --minify", "public"),
    ("_config.yml", "Jekyll", "bundle exec jekyll build", "_site"),
    ("mkdocs.yml", "MkDocs", "mkdocs build", "site"),
)
# Folders whose index.html is a template, a fixture or build output, never a site of its own.
_NOT_SITES = frozenset(
    {
        "templates",
        "template",
        "views",
        "layouts",
        "partials",
        "test",
        "tests",
        "fixtures",
        "examples",
        "example",
        "coverage",
        "htmlcov",
        "node_modules",
        "vendor",
        "dist",
        "build",
        "_site",
        ".github",
    }
)
# Any of these in the folder means another detector owns it (static.detect runs on every candidate).
OTHER_MANIFESTS = (
    "package.json",
    "pyproject.toml",
    "requirements.txt",
    "Pipfile",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "go.mod",
    "composer.json",
    "Gemfile",
    "Cargo.toml",
)
_HUGO_KEYS = re.compile(r"^\s*(?:baseURL|theme|languageCode)\s*=", re.MULTILINE | re.IGNORECASE)


def _parent(rel: str) -> str:
    return posixpath.dirname(rel) or "."


def _inside(path: str, ancestor: str) -> bool:
    return ancestor == "." or path == ancestor or path.startswith(ancestor + "/")


def candidate_dirs(files: list[str], manifest_dirs: set[str]) -> set[str]:
    """Return directories that look like static sites and are not owned by another manifest."""
    configs = {g[0] for g in GENERATORS}
    content = {
        f.split("/content/", 1)[0] if not f.startswith("content/") else "." for f in files if "content/" in f
    }
    gen_dirs = {
        _parent(f)
        for f in files
        if (name := f.rsplit("/", 1)[-1]) in configs and (name != "config.toml" or _parent(f) in content)
    }
    html_dirs = {_parent(f) for f in files if f.rsplit("/", 1)[-1] == "index.html"}
    out: set[str] = set()
    for d in sorted(gen_dirs | html_dirs, key=lambda p: (p.count("/"), p)):
        if any(_inside(d, m) for m in manifest_dirs) or any(_inside(d, o) for o in out):
            continue
        if d in html_dirs and d not in gen_dirs and set(d.split("/")) & _NOT_SITES:
            continue
        out.add(d)
    return out


def _generator(ctx: StackContext) -> tuple[str, str, str, str] | None:
    for gen in GENERATORS:
        if not ctx.has(gen[0]):
            continue
        if gen[0] == "config.toml" and not (
            _HUGO_KEYS.search(ctx.read(gen[0]) or "") and any("/content/" in f"/{f}" for f in ctx.files)
        ):
            continue
        return gen
    return None


def detect(ctx: StackContext) -> Detected | None:
    """Describe a static site folder as a `frontend` served by nginx; None when it is not one."""
    if any(ctx.has(m) for m in OTHER_MANIFESTS) or any(f.endswith(".csproj") for f in ctx.files):
        return None
    gen = _generator(ctx)
    if gen is None and not ctx.has("index.html"):
        return None
    dirname = ctx.root.name if ctx.path == "." else ctx.path.rsplit("/", 1)[-1]
    det = Detected(name=dirname, language="HTML", build_tool=None, kind="frontend")
    det.manifest = ctx.rel(gen[0] if gen else "index.html")
    det.framework = gen[1] if gen else "static"
    if gen:
        det.build_tool = gen[1].lower()
        det.build_command = gen[2]
    # The web root is the generator's output directory (GENERATORS) or the folder itself.
    det.start_command = 'nginx -g "daemon off;"'
    det.hits = [default_hit(ctx, gen[0] if gen else "index.html", 80, "nginx static file server")]
    return det
