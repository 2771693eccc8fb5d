"""A Python project tested with pytest (Debian's python3-pytest on the runner's PATH): its real JUnit report
becomes the run's test results, and a failing test names itself."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.pipelines.engines.conftest import Recorder, engine, make_repo, spec, stage
from timbel.pipelines.engine_base import RunState, StageKind

FILES = {
    "shop/__init__.py": "",
    "shop/prices.py": "def with_vat(won: int) -> int:\n    return round(won * 1.1)\n",
    "tests/test_prices.py": (
        "import os\n\nfrom shop.prices import with_vat\n\n\n"
        "def test_vat():\n    assert with_vat(1000) == 1100\n\n\n"
        "def test_rounding():\n    assert with_vat(999) == 1099\n\n\n"
        "def test_switch():\n    assert os.environ.get('TIMBEL_PARAM_BREAK') != '1', '가격 검증 실패'\n"
    ),
}
PYTEST = stage(1, "test", StageKind.test, "python3 -m pytest -q --junitxml=test-results/junit.xml")


@pytest.fixture
def repo(tmp_path: Path) -> str:
    """The project as a git repository; a missing pytest fails naming the setup command."""
    if shutil.which("pytest-3", path="/usr/bin") is None:
        pytest.fail("python3-pytest is missing on the runner's PATH: run `make test` (installs it)")
    make_repo(tmp_path / "shop", FILES)
    return str(tmp_path / "shop")


def test_pytest_results_become_the_runs_test_results(repo: str, tmp_path: Path) -> None:
    events = Recorder()
    outcome = engine().execute(spec(repo, PYTEST), events, workspace_root=tmp_path / "ws")
    assert outcome.state is RunState.succeeded, outcome
    assert "3 passed" in events.text(1)
    [junit] = events.of_kind("junit")
    assert (junit["tests"], junit["failures"], junit["errors"]) == (3, 0, 0)


def test_a_failing_pytest_test_names_itself(repo: str, tmp_path: Path) -> None:
    events = Recorder()
    run = spec(repo, PYTEST, parameters={"break": "1"})
    outcome = engine().execute(run, events, workspace_root=tmp_path / "ws")
    assert outcome.state is RunState.failed
    assert "1 of 3 tests failed" in outcome.reason
    [junit] = events.of_kind("junit")
    [case] = junit["cases"]
    assert case["name"] == "test_switch" and "가격 검증 실패" in case["message"]
