"""Dockerfile generation: golden files per template set, rule-clean output, determinism, existing files kept.

Goldens live in tests/scaffold/golden/docker/; ``TIMBEL_UPDATE_GOLDEN=1`` rewrites them (review the diff).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.scaffold import golden_support
from tests.scaffold.golden_support import assert_golden
from timbel.scaffold.dockerfile import (
    dockerfile_path,
    exec_form,
    generate_dockerfiles,
    pick_version,
    render_dockerfile,
    render_dockerignore,
)
from timbel.scaffold.dockerfile_rules import check_dockerfile
from timbel.scaffold.plan import DeliveryPlan, ServicePlan

COMMIT = "0123456789abcdef0123456789abcdef01234567"
# One service per template set and build-tool variant, shaped like what the analyzer reports.
CASES: dict[str, dict[str, Any]] = {
    "node-express-npm": dict(stack="node", language="JavaScript", framework="Express", build_tool="npm",
                             runtime_version="20.11.1", port=3000, health_path="/health",
                             start_command="npm start"),
    "node-nestjs-pnpm": dict(stack="node", language="TypeScript", framework="NestJS", build_tool="pnpm",
                             runtime_version=">=18", port=3000, health_path="/health",
                             start_command="pnpm start", build_command="pnpm build"),
    "node-fastify-yarn": dict(stack="node", language="JavaScript", framework="Fastify", build_tool="yarn",
                              port=8080, start_command="yarn start"),
    "nextjs-npm": dict(stack="nextjs", language="TypeScript", framework="Next.js", build_tool="npm",
                       runtime_version="22", port=3000, health_path="/api/health",
                       start_command="npx next start", build_command="npm run build"),
    "spa-vite-react": dict(stack="spa", language="TypeScript", framework="React", build_tool="npm",
                           port=8080, build_command="npm run build"),
    "spa-angular-yarn": dict(stack="spa", language="TypeScript", framework="Angular", build_tool="yarn",
                             runtime_version="18.19.0", port=8080, build_command="yarn build"),
    "python-fastapi-uv": dict(stack="python", language="Python", framework="FastAPI", build_tool="uv",
                              runtime_version=">=3.11", port=8000, health_path="/healthz",
                              start_command="uv run uvicorn app.main:app --host 0.0.0.0 --port 8000"),
    "python-django-pip": dict(stack="python", language="Python", framework="Django", build_tool="pip",
                              runtime_version="3.12.3", port=8000, health_path="/health/",
                              start_command="gunicorn shop.wsgi:application --bind 0.0.0.0:8000",
                              build_command="pip install -r requirements.txt"),
    "python-flask-poetry": dict(stack="python", language="Python", framework="Flask", build_tool="poetry",
                                runtime_version="^3.10", port=5000, health_path="/ping",
                                start_command="poetry run gunicorn app:app --bind 0.0.0.0:5000"),
    "java-maven-spring": dict(stack="java-maven", language="Java", framework="Spring Boot",
                              build_tool="maven", runtime_version="17", port=8080,
                              health_path="/actuator/health"),
    "java-gradle-spring": dict(stack="java-gradle", language="Kotlin", framework="Spring Boot",
                               build_tool="gradle", runtime_version="21", port=8080,
                               health_path="/actuator/health"),
    "go-gin": dict(stack="go", language="Go", framework="Gin", build_tool="go", runtime_version="1.22.3",
                   port=8080, health_path="/healthz", build_command="go build -o bin/orders ./cmd/orders",
                   start_command="./bin/orders"),
    "dotnet-aspnet": dict(stack="dotnet", language="C#", framework="ASP.NET Core", build_tool="dotnet",
                          runtime_version="8.0", port=8080, health_path="/health",
                          build_command="dotnet publish Billing.Api.csproj -c Release -o out",
                          start_command="dotnet out/Billing.Api.dll"),
    "php-laravel": dict(stack="php", language="PHP", framework="Laravel", build_tool="composer",
                        runtime_version="^8.2", port=8000, health_path="/up"),
    "php-symfony": dict(stack="php", language="PHP", framework="Symfony", build_tool="composer", port=8080),
    "ruby-rails": dict(stack="ruby", language="Ruby", framework="Rails", build_tool="bundler",
                       runtime_version="3.2.2", port=3000, health_path="/up",
                       start_command="bin/rails server -b 0.0.0.0"),
    "ruby-sinatra": dict(stack="ruby", language="Ruby", framework="Sinatra", build_tool="bundler",
                         port=4567, health_path="/health"),
    "rust-axum": dict(stack="rust", language="Rust", framework="Axum", build_tool="cargo",
                      runtime_version="1.75", port=8080, health_path="/health",
                      build_command="cargo build --release", start_command="target/release/ledger"),
    "static-plain": dict(stack="static", language="HTML", framework="static", port=8080),
    "static-hugo": dict(stack="static", language="HTML", framework="Hugo", build_tool="hugo", port=8080,
                        build_command="hugo --minify"),
}  # fmt: skip


def _plan(*services: ServicePlan) -> DeliveryPlan:
    return DeliveryPlan(domain="commerce", system="shop", commit=COMMIT, services=list(services))


def _service(case: str, **extra: Any) -> ServicePlan:
    return ServicePlan(name=case, path=f"services/{case}", **{**CASES[case], **extra})


@pytest.mark.parametrize("case", sorted(CASES))
def test_dockerfile_matches_golden(case: str) -> None:
    service = _service(case)
    assert_golden(f"docker/{case}.Dockerfile", render_dockerfile(plan=_plan(service), service=service))


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_dockerfile_passes_the_rules(case: str) -> None:
    service = _service(case)
    text = render_dockerfile(plan=_plan(service), service=service)
    findings = check_dockerfile(text, port=service.port)
    assert [f for f in findings if f.severity == "error"] == []
    # Only a missing health path may leave a warning (no HEALTHCHECK), and then the file says why.
    if service.health_path or service.stack in ("spa", "static"):
        assert findings == []
        assert "\nHEALTHCHECK " in text
    else:
        assert [f.rule for f in findings] == ["healthcheck"]
        assert "# No HEALTHCHECK: the service has no known health path" in text


IGNORE_CASES = [
    "node-express-npm", "nextjs-npm", "spa-vite-react", "python-fastapi-uv", "java-maven-spring",
    "java-gradle-spring", "go-gin", "dotnet-aspnet", "php-laravel", "ruby-rails", "rust-axum", "static-hugo",
]  # fmt: skip


@pytest.mark.parametrize("stack_case", IGNORE_CASES)
def test_dockerignore_matches_golden(stack_case: str) -> None:
    service = _service(stack_case)
    text = render_dockerignore(plan=_plan(service), service=service)
    assert_golden(f"docker/{service.stack}.dockerignore", text)


def test_every_file_starts_with_the_header_and_a_pinned_runtime() -> None:
    plan = _plan(*(_service(case) for case in sorted(CASES)))
    files = generate_dockerfiles(plan)
    assert len(files) == 2 * len(CASES)
    for generated in files:
        assert generated.content.startswith("# Generated by timbel-scaffold 1 from shop@0123456789ab.")
        assert generated.target == "app"
        assert generated.content.endswith("\n") and not generated.content.endswith("\n\n")


def test_generation_is_deterministic() -> None:
    plan = _plan(*(_service(case) for case in sorted(CASES)))
    first = [f.model_dump() for f in generate_dockerfiles(plan)]
    again = [f.model_dump() for f in generate_dockerfiles(_plan(*reversed([_service(c) for c in CASES])))]
    assert first == again


def test_paths_and_existing_dockerfiles() -> None:
    root = ServicePlan(name="web", stack="node", port=3000)
    nested = ServicePlan(name="api", path="services/api/", stack="go", port=8080)
    kept = ServicePlan(
        name="worker", path="worker", stack="python", port=9000, existing_dockerfile="worker/Dockerfile"
    )
    files = generate_dockerfiles(_plan(root, nested, kept))
    assert [(f.path, f.kind) for f in files] == [
        ("services/api/Dockerfile", "dockerfile"),
        ("services/api/.dockerignore", "dockerignore"),
        ("Dockerfile", "dockerfile"),
        (".dockerignore", "dockerignore"),
    ]
    assert dockerfile_path(kept) == "worker/Dockerfile"
    assert generate_dockerfiles(_plan(kept)) == []


def test_port_and_health_path_come_from_the_plan() -> None:
    service = _service("python-django-pip", port=9000, health_path="/status/ready")
    text = render_dockerfile(plan=_plan(service), service=service)
    assert "\nEXPOSE 9000\n" in text
    assert "urlopen('http://127.0.0.1:9000/status/ready', timeout=4)" in text
    assert "\nUSER 10001:10001\n" in text


def test_health_path_with_quotes_cannot_break_out_of_the_probe() -> None:
    service = _service("node-express-npm", health_path="/h'$(reboot)")
    text = render_dockerfile(plan=_plan(service), service=service)
    assert "wget -q -O /dev/null 'http://127.0.0.1:3000/h%27%24%28reboot%29' || exit 1" in text


@pytest.mark.parametrize(
    ("constraint", "runtime", "expected"),
    [
        (">=3.11", "python", "3.11"), ("3.12.4", "python", "3.12"), (None, "python", "3.12"),
        ("^3.8", "python", "3.9"), ("3.14", "python", "3.14"), ("20.11.1", "node", "20"),
        ("^18.17", "node", "18"), ("v16", "node", "18"), ("lts/*", "node", "20"), ("1.8", "java", "8"),
        ("17", "java", "17"), ("19", "java", "21"), ("go1.22.3", "go", "1.22"), ("net8.0", "dotnet", "8.0"),
        (">=7.4", "php", "8.1"), ("ruby-3.2.2", "ruby", "3.2"), ("1.70", "rust", "1.82"),
    ],
)  # fmt: skip
def test_pick_version(constraint: str | None, runtime: str, expected: str) -> None:
    assert pick_version(constraint, runtime=runtime) == expected


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("npm start", '["npm", "start"]'),
        ("gunicorn app:app --bind 0.0.0.0:5000", '["gunicorn", "app:app", "--bind", "0.0.0.0:5000"]'),
        ("node server.js && echo done", '["/bin/sh", "-c", "node server.js && echo done"]'),
        ('python -c "print(1)"', '["/bin/sh", "-c", "python -c \\"print(1)\\""]'),
    ],
)
def test_exec_form(command: str, expected: str) -> None:
    assert exec_form(command) == expected


def test_golden_helper_fails_on_a_difference_and_updates_on_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(golden_support, "GOLDEN_DIR", tmp_path)
    monkeypatch.delenv(golden_support.UPDATE_ENV, raising=False)
    with pytest.raises(AssertionError, match="missing golden file"):
        golden_support.assert_golden("docker/x.Dockerfile", "FROM a:1\n")
    monkeypatch.setenv(golden_support.UPDATE_ENV, "1")
    golden_support.assert_golden("docker/x.Dockerfile", "FROM a:1\n")
    monkeypatch.delenv(golden_support.UPDATE_ENV)
    golden_support.assert_golden("docker/x.Dockerfile", "FROM a:1\n")
    with pytest.raises(AssertionError, match=r"-FROM a:1\n\+FROM a:2"):
        golden_support.assert_golden("docker/x.Dockerfile", "FROM a:2\n")
    with pytest.raises(ValueError, match="inside"):
        golden_support.golden_path("../escape")
