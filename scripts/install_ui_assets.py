"""Copy the pinned npm UI assets into the package's git-ignored static/vendor folder.

Run after ``npm ci`` in ui-assets/ (the Makefile does both). Only the files the
templates reference are copied, so the vendor folder stays small.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = ROOT / "ui-assets" / "node_modules"
VENDOR = ROOT / "src" / "timbel" / "web" / "static" / "vendor"

FILES = {
    "htmx.org/dist/htmx.min.js": "htmx/htmx.min.js",
    "htmx-ext-sse/dist/sse.min.js": "htmx/sse.min.js",
    "alpinejs/dist/cdn.min.js": "alpinejs/alpine.min.js",
    "@tabler/core/dist/css/tabler.min.css": "tabler/tabler.min.css",
    "@tabler/core/dist/js/tabler.min.js": "tabler/tabler.min.js",
    "echarts/dist/echarts.min.js": "echarts/echarts.min.js",
    "swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui/swagger-ui-bundle.js",
    "swagger-ui-dist/swagger-ui.css": "swagger-ui/swagger-ui.css",
    "@highlightjs/cdn-assets/highlight.min.js": "highlight/highlight.min.js",
    "@highlightjs/cdn-assets/languages/dockerfile.min.js": "highlight/dockerfile.min.js",
    "@highlightjs/cdn-assets/languages/groovy.min.js": "highlight/groovy.min.js",
    "@highlightjs/cdn-assets/styles/github-dark.min.css": "highlight/github-dark.min.css",
}


def main() -> int:
    """Copy every listed asset; fail loudly when npm has not installed one."""
    missing = [src for src in FILES if not (MODULES / src).is_file()]
    if missing:
        print("missing UI assets (run `npm ci` in ui-assets/):", *missing, sep="\n  ", file=sys.stderr)
        return 1
    for src, dest in FILES.items():
        target = VENDOR / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(MODULES / src, target)
    print(f"UI assets installed in {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
