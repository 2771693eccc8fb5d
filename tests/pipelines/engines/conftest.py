"""Local runner fixtures: a recording ``RunEvents``, fixture repositories (Python and Node) and run specs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.servers.git_http import GitHttpServer, start_git_http
from timbel.pipelines.engine_base import RunSpec, StageKind, StageSpec, StageState
from timbel.pipelines.engines.local import LocalEngine
from timbel.pipelines.engines.local_process import Pacing

FAST = Pacing(grace_seconds=0.5, heartbeat_seconds=0.2, cancel_poll_seconds=0.1)


@dataclass
class Recorder:
    """A ``RunEvents`` that records every call; ``cancel_when`` decides when a cancel is requested."""

    cancel_when: Callable[[Recorder], bool] | None = None
    started: list[int] = field(default_factory=list)
    finished: dict[int, tuple[StageState, int | None, str]] = field(default_factory=dict)
    logs: list[tuple[int | None, str]] = field(default_factory=list)
    artifacts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    heartbeats: int = 0
    engine_ref: dict[str, Any] = field(default_factory=dict)

    def stage_started(self, index: int) -> None:
        assert index not in self.started, f"stage {index} started twice"
        self.started.append(index)

    def stage_finished(
        self, index: int, *, state: StageState, exit_code: int | None = None, reason: str = ""
    ) -> None:
        assert index not in self.finished, f"stage {index} finished twice"
        if state in (StageState.succeeded, StageState.failed):  # pending → succeeded/failed is not allowed
            assert index in self.started, f"stage {index} {state} without starting"
        self.finished[index] = (state, exit_code, reason)

    def log(self, text: str, *, stage_index: int | None = None) -> None:
        self.logs.append((stage_index, text))

    def artifact(self, kind: str, data: Mapping[str, Any]) -> None:
        self.artifacts.append((kind, dict(data)))

    def heartbeat(self) -> None:
        self.heartbeats += 1

    def cancel_requested(self) -> bool:
        return self.cancel_when is not None and self.cancel_when(self)

    def set_engine_ref(self, ref: Mapping[str, Any]) -> None:
        self.engine_ref = dict(ref)

    def text(self, index: int | None) -> str:
        """All log output of one stage (None: run-level lines)."""
        return "\n".join(text for stage, text in self.logs if stage == index)

    def state(self, index: int) -> StageState:
        return self.finished[index][0]

    def reason(self, index: int) -> str:
        return self.finished[index][2]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [data for name, data in self.artifacts if name == kind]


PY_FILES = {
    "calc.py": "def add(a, b):\n    return a + b\n",
    "test_calc.py": (
        "import os\nimport unittest\n\nimport calc\n\n\n"
        "class CalcTest(unittest.TestCase):\n"
        "    def test_add(self):\n        self.assertEqual(calc.add(2, 3), 5)\n\n"
        "    def test_param(self):\n"
        "        self.assertNotEqual(os.environ.get('TIMBEL_PARAM_FAIL_ONE'), '1', 'asked to fail')\n"
    ),
    "run_tests.py": (
        "import sys, unittest, pathlib\nfrom xml.sax.saxutils import quoteattr\n"
        "suite = unittest.defaultTestLoader.discover('.')\n"
        "cases = []\n"
        "def walk(s):\n"
        "    for t in s:\n"
        "        walk(t) if isinstance(t, unittest.TestSuite) else cases.append(t)\n"
        "walk(suite)\n"
        "result = unittest.TextTestRunner(verbosity=2).run(suite)\n"
        "failed = {t.id(): m for t, m in result.failures + result.errors}\n"
        'out = [\'<testsuite name="calc" tests="%d">\' % len(cases)]\n'
        "for t in cases:\n"
        "    cls, name = t.id().rsplit('.', 1)\n"
        "    out.append('<testcase classname=%s name=%s>' % (quoteattr(cls), quoteattr(name)))\n"
        "    if t.id() in failed:\n"
        "        out.append('<failure message=%s/>' % quoteattr(failed[t.id()].splitlines()[-1]))\n"
        "    out.append('</testcase>')\n"
        "out.append('</testsuite>')\n"
        "pathlib.Path('test-results').mkdir(exist_ok=True)\n"
        "pathlib.Path('test-results/junit.xml').write_text('\\n'.join(out))\n"
        "pathlib.Path('coverage.xml').write_text('<coverage line-rate=\"0.85\" version=\"7\"/>')\n"
        "print('테스트 완료: 한글 출력')\n"
        "sys.exit(0 if result.wasSuccessful() else 1)\n"
    ),
}

NODE_FILES = {
    "package.json": (
        '{"name": "fixture", "version": "1.0.0", "private": true, "scripts": {"test": "node test.js"}}\n'
    ),
    "test.js": (
        "const fs = require('fs');\n"
        "console.log('노드 테스트 시작');\n"
        "fs.writeFileSync('junit.xml', '<testsuites><testsuite name=\"n\" tests=\"2\">'"
        ' + \'<testcase classname="math" name="adds"/><testcase classname="math" name="skips">'
        "<skipped/></testcase></testsuite></testsuites>');\n"
        "fs.mkdirSync('coverage', {recursive: true});\n"
        "fs.writeFileSync('coverage/coverage-summary.json', JSON.stringify({total: {lines: {pct: 92.5}}}));\n"
    ),
}


def make_repo(path: Path, files: Mapping[str, str]) -> str:
    """Create a git repository with ``files`` committed on ``main``; return the commit SHA."""
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(path), "GIT_CONFIG_NOSYSTEM": "1"}
    ident = ["-c", "user.name=Test", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"]
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "fixture"]):
        subprocess.run(["git", *ident, "-C", str(path), *argv], check=True, env=env, capture_output=True)
    out = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "HEAD"], check=True, env=env, capture_output=True
    )
    return out.stdout.decode().strip()


@pytest.fixture
def py_repo(tmp_path: Path) -> tuple[Path, str]:
    """A Python project with unittest tests and a JUnit/coverage writer."""
    repo = tmp_path / "py-repo"
    return repo, make_repo(repo, PY_FILES)


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHttpServer]:
    """git http-backend on loopback for this module."""
    server = start_git_http(tmp_path_factory.mktemp("git-http"))
    try:
        yield server
    finally:
        server.stop()


def engine(**options: Any) -> LocalEngine:
    """A local engine for tests: file repositories allowed, no image builder, fast pacing."""
    options.setdefault("builder", None)
    return LocalEngine(allow_local=True, pacing=FAST, **options)


def stage(index: int, name: str, kind: StageKind = StageKind.custom, command: str | None = None,
          **options: Any) -> StageSpec:  # fmt: skip
    """A stage spec."""
    return StageSpec(index=index, name=name, kind=kind, command=command, **options)


def spec(repo: str, *stages: StageSpec, run_id: str = "run-1", **options: Any) -> RunSpec:
    """A run of ``stages`` (index 0 is the checkout, prepended) on ``main``."""
    all_stages = (stage(0, "checkout", StageKind.checkout), *stages)
    values: dict[str, Any] = {"number": 1, "system_slug": "shop", "ref": "main", "commit": None}
    values.update(options)
    return RunSpec(run_id=run_id, repo_url=repo, stages=all_stages, **values)
