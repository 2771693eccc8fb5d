"""Dockerfile rules: each rule fails on a bad example and stays quiet on a good one."""

from __future__ import annotations

import pytest

from timbel.scaffold.dockerfile_rules import check_dockerfile, parse_instructions

GOOD = """\
# a good multi-stage Dockerfile
FROM golang:1.22-alpine AS build
ARG VERSION=dev
RUN go build -o /out/server . \\
    && echo built
FROM alpine:3.20
COPY --from=build /out/server /server
USER 10001:10001
EXPOSE 8080/tcp
HEALTHCHECK CMD wget -q -O /dev/null http://127.0.0.1:8080/health || exit 1
CMD ["/server"]
"""


def _rules(text: str, *, port: int | None = 8080) -> list[tuple[str, int, str]]:
    return [(f.rule, f.line, f.severity) for f in check_dockerfile(text, port=port)]


def test_a_good_dockerfile_has_no_findings() -> None:
    assert _rules(GOOD) == []


def test_instructions_join_continuations_and_keep_their_first_line() -> None:
    run = [i for i in parse_instructions(GOOD) if i.keyword == "RUN"]
    assert [(i.line, i.args) for i in run] == [(4, "go build -o /out/server . && echo built")]


@pytest.mark.parametrize(
    ("base", "severity"),
    [
        ("FROM alpine:3.20", None),
        ("FROM alpine", "error"),
        ("FROM alpine:latest", "error"),
        ("FROM registry.local:5000/team/base", "error"),
        ("FROM registry.local:5000/team/base:1.2", None),
        ("FROM --platform=linux/amd64 alpine@sha256:" + "a" * 64, None),
        ("FROM ${BASE_IMAGE}", "warning"),
    ],
)
def test_pinned_base(base: str, severity: str | None) -> None:
    text = GOOD.replace("FROM alpine:3.20", base)
    found = [f for f in check_dockerfile(text, port=8080) if f.rule == "pinned-base"]
    assert [f.severity for f in found] == ([severity] if severity else [])
    if found:
        assert found[0].line == 6


def test_stage_names_and_scratch_are_not_images() -> None:
    text = GOOD.replace("FROM alpine:3.20", "FROM build AS again\nFROM scratch")
    assert [r for r in _rules(text) if r[0] == "pinned-base"] == []


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("", [("non-root-user", 6, "error")]),
        ("USER root", [("non-root-user", 8, "error")]),
        ("USER 0:0", [("non-root-user", 8, "error")]),
        ("USER app", [("non-root-user", 8, "warning")]),
        ("USER 1000", []),
    ],
)
def test_non_root_final_user(user: str, expected: list[tuple[str, int, str]]) -> None:
    text = GOOD.replace("USER 10001:10001", user)
    assert [r for r in _rules(text) if r[0] == "non-root-user"] == expected


def test_a_user_in_an_earlier_stage_does_not_count() -> None:
    text = GOOD.replace("AS build\n", "AS build\nUSER 10001\n").replace("USER 10001:10001\n", "")
    assert ("non-root-user", 7, "error") in _rules(text)


@pytest.mark.parametrize(
    ("line", "bad"),
    [
        ("ENV DB_PASSWORD=hunter2", True),
        ("ENV API_KEY abc123", True),
        ('ARG GITHUB_TOKEN="ghp_x"', True),
        ("ENV LOG_LEVEL=info AWS_SECRET_ACCESS_KEY=abc", True),
        ("ARG NPM_TOKEN", False),
        ("ENV DB_PASSWORD=$DB_PASSWORD", False),
        ("ENV KEYCLOAK_URL=http://kc", False),
        ("ENV NODE_ENV=production", False),
    ],
)
def test_no_secrets_in_arg_or_env(line: str, bad: bool) -> None:
    text = GOOD.replace("ARG VERSION=dev", line)
    found = [r for r in _rules(text) if r[0] == "no-secrets"]
    assert found == ([("no-secrets", 3, "error")] if bad else [])


@pytest.mark.parametrize(
    ("expose", "port", "expected"),
    [
        ("EXPOSE 8080/tcp", 8080, []),
        ("EXPOSE 3000", 8080, [("expose-port", 9, "error")]),
        ("EXPOSE 3000 8080", 8080, []),
        ("", 8080, [("expose-port", 6, "warning")]),
        ("EXPOSE $PORT", 8080, [("expose-port", 9, "warning")]),
        ("EXPOSE 3000", None, []),
    ],
)
def test_expose_matches_the_port(expose: str, port: int | None, expected: list[tuple[str, int, str]]) -> None:
    text = GOOD.replace("EXPOSE 8080/tcp", expose)
    assert [r for r in _rules(text, port=port) if r[0] == "expose-port"] == expected


@pytest.mark.parametrize(
    ("healthcheck", "expected"),
    [
        ("", [("healthcheck", 6, "warning")]),
        ("HEALTHCHECK NONE", [("healthcheck", 10, "warning")]),
    ],
)
def test_healthcheck_missing_is_a_warning(healthcheck: str, expected: list[tuple[str, int, str]]) -> None:
    text = GOOD.replace(
        "HEALTHCHECK CMD wget -q -O /dev/null http://127.0.0.1:8080/health || exit 1", healthcheck
    )
    assert _rules(text) == expected


def test_no_from_is_an_error() -> None:
    assert _rules("# empty\nRUN echo hi\n") == [("syntax", 1, "error")]


def test_findings_are_sorted_by_line() -> None:
    text = "FROM node\nENV SECRET=x\n"
    assert [(r[0], r[1]) for r in _rules(text, port=3000)] == [
        ("expose-port", 1),
        ("healthcheck", 1),
        ("non-root-user", 1),
        ("pinned-base", 1),
        ("no-secrets", 2),
    ]
