"""Full analysis of a generated 20,000-file monorepo: wall time and peak memory, in-process and CLI.

Why: the analysis report promises a full report of a large repository in < 10 s with < 300 MB peak
memory. This writes a git repository with several services (FastAPI, Express, Go, Spring Boot, a
Vite SPA) and mixed languages into a temp dir, commits it, then times ``analyze_path`` in this process
and ``timbel analyze --format json`` as a child process (its peak RSS via ``resource.getrusage``).

Usage: python bench/analyze_large.py [--files N] [--runs N] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMBEL = ROOT / ".venv" / "bin" / "timbel"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}
SERVICES: dict[str, dict[str, str]] = {
    "services/catalog-api": {
        "pyproject.toml": '[project]\nname = "catalog-api"\nversion = "1.0"\n'
        'dependencies = ["fastapi>=0.110", "uvicorn>=0.29", "redis>=5"]\n',
        "uv.lock": "version = 1\n",
        "Dockerfile": "FROM python:3.11-slim\nUSER app\nEXPOSE 8000\n",
        "catalog/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/health')\n"
        "def health() -> dict[str, str]:\n    return {'ok': 'yes'}\n",
    },
    "services/web": {
        "package.json": '{"name": "web", "scripts": {"start": "node server.js"}, "dependencies": '
        '{"express": "^4.19.2"}}\n',
        "package-lock.json": "{}\n",
        "server.js": "const express = require('express');\nconst app = express();\n"
        "app.get('/healthz', (req, res) => res.send('ok'));\napp.listen(process.env.PORT || 3000);\n",
    },
    "services/orders": {
        "go.mod": "module example.com/orders\n\ngo 1.22\n\nrequire github.com/gin-gonic/gin v1.10.0\n",
        "go.sum": "",
        "main.go": 'package main\n\nimport "github.com/gin-gonic/gin"\n\n'
        "func main() {\n\tr := gin.Default()\n"
        '\tr.GET("/health", func(c *gin.Context) {})\n\tr.Run(":8081")\n}\n',
    },
    "services/billing": {
        "pom.xml": "<project><modelVersion>4.0.0</modelVersion><groupId>ex</groupId><artifactId>billing"
        "</artifactId><version>1</version><parent><groupId>org.springframework.boot</groupId><artifactId>"
        "spring-boot-starter-parent</artifactId><version>3.2.5</version></parent><dependencies><dependency>"
        "<groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-web</artifactId>"
        "</dependency></dependencies></project>\n",
        "src/main/resources/application.properties": "server.port=8082\n",
    },
    "apps/dashboard": {
        "package.json": '{"name": "dashboard", "scripts": {"dev": "vite", "build": "vite build"}, '
        '"dependencies": {"react": "^18.3.1"}, "devDependencies": {"vite": "^5.2.0"}}\n',
        "index.html": "<!doctype html><div id=root></div>\n",
    },
}
# (directory, extension, body template): where the bulk files go, round-robin.
PY = '"""Module {i}."""\n\n\ndef f{i}(x: int) -> int:\n    return x + {i}\n'
JAVA = "package ex.p{d};\n\npublic class C{i} {{\n  int v = {i};\n}}\n"
BULK = [
    ("services/catalog-api/catalog/mod{d}", "py", PY),
    ("services/web/src/lib{d}", "js", "export function f{i}(x) {{\n  return x + {i};\n}}\n"),
    ("services/web/src/types{d}", "ts", "export interface T{i} {{\n  id: number;\n  name: string;\n}}\n"),
    (
        "services/orders/internal/p{d}",
        "go",
        "package p{d}\n\nfunc F{i}(x int) int {{\n\treturn x + {i}\n}}\n",
    ),
    ("services/billing/src/main/java/ex/p{d}", "java", JAVA),
    ("apps/dashboard/src/c{d}", "tsx", "export const C{i} = () => <div>{i}</div>;\n"),
    ("apps/dashboard/src/s{d}", "css", ".c{i} {{\n  color: #{i:06x};\n}}\n"),
    ("docs/d{d}", "md", "# Page {i}\n\nSome text.\n"),
]


def generate(root: Path, total: int) -> None:
    """Write the services and ``total`` files in all, then commit them."""
    count = 0
    for base, files in SERVICES.items():
        for rel, text in files.items():
            (root / base / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / base / rel).write_text(text)
            count += 1
    (root / "README.md").write_text("# Large monorepo\n")
    count += 1
    for i in range(total - count):
        directory, ext, body = BULK[i % len(BULK)]
        path = root / directory.format(d=i // 400) / f"f{i}.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body.format(i=i, d=i // 400) * 8)
    env = {**os.environ, **GIT_ENV}
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "generated"]):
        subprocess.run(["git", "-c", "commit.gpgsign=false", *argv], cwd=root, env=env, check=True)


def child(repo: str) -> None:
    """Run ``timbel analyze --format json`` once; print wall seconds, peak RSS (MB) and the service count."""
    started = time.perf_counter()
    done = subprocess.run([str(TIMBEL), "analyze", repo, "--format", "json"], capture_output=True, check=True)
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = json.loads(done.stdout)
    print(json.dumps({"wall": wall, "peak_mb": peak_mb, "services": len(report["services"])}))


def main() -> None:
    """Generate, analyse, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    sys.path.insert(0, str(ROOT / "src"))
    from timbel.analysis.analyzer import analyze_path
    from timbel.analysis.schema import SourceInfo

    work = Path(tempfile.mkdtemp(prefix="timbel-bench-"))
    repo = work / "repo"
    repo.mkdir()
    try:
        started = time.perf_counter()
        generate(repo, args.files)
        print(f"generated {args.files} files and committed them in {time.perf_counter() - started:.1f} s")
        inproc: list[float] = []
        for _ in range(args.runs):
            started = time.perf_counter()
            report = analyze_path(repo, source=SourceInfo(path=str(repo)))
            inproc.append(time.perf_counter() - started)
        phases = ", ".join(f"{k} {v}" for k, v in report.stats.elapsed_ms.items())
        print(
            f"in-process analyze_path: median {statistics.median(inproc):.2f} s "
            f"over {args.runs} runs ({phases} ms)"
        )
        print(f"  {report.stats.files} files, {len(report.services)} services: "
              + ", ".join(f"{s.name} {s.framework} {s.port}" for s in report.services))  # fmt: skip
        print("  languages: " + ", ".join(f"{lang.name} {lang.share:.1%}" for lang in report.languages[:8]))
        runs = []
        for _ in range(args.runs):
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(repo)], capture_output=True, text=True, check=True
            )
            runs.append(json.loads(out.stdout))
        wall = statistics.median(r["wall"] for r in runs)
        peak = max(r["peak_mb"] for r in runs)
        print(
            f"CLI timbel analyze --format json: median {wall:.2f} s, "
            f"peak RSS {peak:.0f} MB (max of {args.runs})"
        )
        verdict = "PASS" if wall < 10 and peak < 300 else "FAIL"
        print(f"targets < 10 s and < 300 MB: {verdict}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
