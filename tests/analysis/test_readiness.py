"""Readiness checks toggle with what the repository holds; weights sum to 100; hints only on failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.analysis._git_fixture import write_tree
from timbel.analysis.readiness import WEIGHTS, assess_readiness, base_image_pinned, dockerfile_findings
from timbel.analysis.report import Delivery, Service

GOOD_DOCKERFILE = "FROM python:3.11-slim AS build\nRUN pip wheel .\nFROM python:3.11-slim\nUSER 10001\n"


def _service(**kw: object) -> Service:
    return Service.model_validate({"name": "api", "path": ".", "kind": "api", "language": "Python", **kw})


def _assess(
    tmp_path: Path, files: dict[str, str], services: list[Service], delivery: Delivery
) -> dict[str, bool]:
    write_tree(tmp_path, files)
    result = assess_readiness(tmp_path, sorted(files), services, delivery)
    assert result.score == sum(c.weight for c in result.checks if c.ok)
    assert all((c.hint is None) == c.ok for c in result.checks)
    return {c.id: c.ok for c in result.checks}


def test_weights_sum_to_100() -> None:
    assert sum(WEIGHTS.values()) == 100


def test_everything_present_scores_100(tmp_path: Path) -> None:
    files = {
        "Dockerfile": GOOD_DOCKERFILE,
        "README.md": "# x\n",
        "poetry.lock": "",
        "src/test/java/AppTest.java": "",
        "Jenkinsfile": "",
        "chart/Chart.yaml": "",
    }
    delivery = Delivery(dockerfiles=["Dockerfile"], jenkinsfiles=["Jenkinsfile"], helm_charts=["chart"])
    checks = _assess(tmp_path, files, [_service(port=8080, health_path="/actuator/health")], delivery)
    assert all(checks.values()), checks


def test_empty_repository_fails_every_check(tmp_path: Path) -> None:
    checks = _assess(tmp_path, {"main.py": "print(1)\n", "docs/readme.md": ""}, [], Delivery())
    assert not any(checks.values()), checks


def test_root_user_and_latest_base_fail_their_checks(tmp_path: Path) -> None:
    files = {"Dockerfile": "FROM node:latest\nUSER node\nUSER root\n", "README.rst": ""}
    checks = _assess(tmp_path, files, [_service(port=3000)], Delivery(dockerfiles=["Dockerfile"]))
    assert checks["dockerfile"] and not checks["dockerfile_non_root"] and not checks["dockerfile_pinned_base"]
    assert checks["port_known"] and not checks["health_endpoint"] and checks["readme"]


def test_tests_detected_by_a_test_command_alone(tmp_path: Path) -> None:
    checks = _assess(tmp_path, {"app.py": ""}, [_service(test_command="pytest")], Delivery())
    assert checks["tests"]


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("python:3.11-slim", True),
        ("registry.example.com:5000/team/app:1.2", True),
        ("registry.example.com:5000/team/app", False),
        ("ubuntu", False),
        ("ubuntu:latest", False),
        ("alpine@sha256:" + "a" * 64, True),
    ],
)
def test_base_image_pinning(image: str, pinned: bool) -> None:
    assert base_image_pinned(image) is pinned


def test_stage_references_and_scratch_are_not_base_images() -> None:
    text = "FROM golang:1.22 AS build\nFROM scratch AS final\nCOPY --from=build /a /a\nFROM build\nUSER app\n"
    assert dockerfile_findings(text) == (True, [])


def test_user_does_not_carry_over_into_the_next_stage() -> None:
    assert dockerfile_findings("FROM a:1\nUSER app\nFROM b:2\n") == (False, [])
