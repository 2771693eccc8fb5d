"""The pipeline templates Timbel ships with: real test/build commands per stack, in pinned images.

Each stage runs in its image as the Jenkins user with the workspace mounted, so caches (npm, Maven, Go,
Composer, …) are pointed into the workspace instead of a home directory that may not be writable.
``ensure_seeds`` adds the missing ones by key and never touches a template an administrator changed.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.pipelines.models import PipelineTemplate, PipelineTemplateVersion

NODE = "node:20.18.1-bookworm-slim"
PYTHON = "python:3.12.8-slim-bookworm"
MAVEN = "maven:3.9.9-eclipse-temurin-21"
GRADLE = "gradle:8.11.1-jdk21"
GO = "golang:1.23.4-bookworm"
DOTNET = "mcr.microsoft.com/dotnet/sdk:8.0.404"
COMPOSER = "composer:2.8.4"
RUBY = "ruby:3.3.6-bookworm"
RUST = "rust:1.83.0-bookworm"
ALPINE = "alpine:3.21.0"

_NPM_CI = "npm ci --no-audit --no-fund --cache .npm"
_VENV = ["python -m venv .venv", ".venv/bin/pip install --no-cache-dir -r requirements.txt"]


def _stage(name: str, image: str, *commands: str) -> dict[str, Any]:
    return {"name": name, "image": image, "commands": list(commands)}


def _python(framework_checks: list[str]) -> list[dict[str, Any]]:
    return [
        _stage(
            "test",
            PYTHON,
            *_VENV,
            ".venv/bin/pip install --no-cache-dir pytest",
            *framework_checks,
        )
    ]


SEEDS: tuple[dict[str, Any], ...] = (
    {
        "key": "react-typescript", "name": "React (TypeScript)", "stack": "spa", "framework": "React",
        "description": "npm ci, lint, the unit tests once (CI mode), then the production bundle.",
        "stages": [
            _stage("test", NODE, _NPM_CI, "npm run lint --if-present", "CI=true npm test --if-present"),
            _stage("build", NODE, "npm run build"),
        ],
    },
    {
        "key": "vue3", "name": "Vue 3", "stack": "spa", "framework": "Vue",
        "description": "Installs with npm ci, lints, runs the Vitest unit tests and builds with Vite.",
        "stages": [
            _stage(
                "test", NODE, _NPM_CI, "npm run lint --if-present", "npm run test:unit --if-present -- --run"
            ),
            _stage("build", NODE, "npm run build"),
        ],
    },
    {
        "key": "nextjs", "name": "Next.js", "stack": "nextjs", "framework": "Next.js",
        "description": "Installs with npm ci, runs next lint and the tests, then next build.",
        "stages": [
            _stage("test", NODE, _NPM_CI, "npm run lint --if-present", "CI=true npm test --if-present"),
            _stage("build", NODE, "NEXT_TELEMETRY_DISABLED=1 npm run build"),
        ],
    },
    {
        "key": "nodejs-express", "name": "Node.js Express", "stack": "node", "framework": "Express",
        "description": "Installs with npm ci and runs npm test.",
        "stages": [_stage("test", NODE, _NPM_CI, "npm run lint --if-present", "CI=true npm test")],
    },
    {
        "key": "nestjs", "name": "NestJS", "stack": "node", "framework": "NestJS",
        "description": "Installs with npm ci, lints, runs the unit and e2e tests, and compiles.",
        "stages": [
            _stage(
                "test", NODE, _NPM_CI, "npm run lint --if-present", "npm test",
                "npm run test:e2e --if-present",
            ),
            _stage("build", NODE, "npm run build"),
        ],
    },
    {
        "key": "python-fastapi", "name": "Python FastAPI", "stack": "python", "framework": "FastAPI",
        "description": "A virtualenv with requirements.txt, then pytest (httpx for the TestClient).",
        "stages": _python([".venv/bin/pip install --no-cache-dir httpx", ".venv/bin/python -m pytest -q"]),
    },
    {
        "key": "python-django", "name": "Python Django", "stack": "python", "framework": "Django",
        "description": "Creates a virtualenv, installs requirements.txt, runs manage.py check and the tests.",
        "stages": _python([".venv/bin/python manage.py check", ".venv/bin/python manage.py test --noinput"]),
    },
    {
        "key": "python-flask", "name": "Python Flask", "stack": "python", "framework": "Flask",
        "description": "Creates a virtualenv, installs requirements.txt and runs pytest.",
        "stages": _python([".venv/bin/python -m pytest -q"]),
    },
    {
        "key": "java-spring-boot-maven", "name": "Java Spring Boot (Maven)", "stack": "java-maven",
        "framework": "Spring Boot",
        "description": "mvn verify (compile, unit and integration tests, package) with a workspace cache.",
        "stages": [_stage("test", MAVEN, "mvn -B -ntp -Dmaven.repo.local=.m2/repository verify")],
    },
    {
        "key": "java-spring-boot-gradle", "name": "Java Spring Boot (Gradle)", "stack": "java-gradle",
        "framework": "Spring Boot",
        "description": "Runs gradle test and builds the boot jar, with the Gradle home in the workspace.",
        "stages": [
            _stage("test", GRADLE, "gradle --no-daemon -g .gradle test"),
            _stage("build", GRADLE, "gradle --no-daemon -g .gradle bootJar"),
        ],
    },
    {
        "key": "go-gin", "name": "Go Gin", "stack": "go", "framework": "Gin",
        "description": "Runs go vet and go test with the race detector; caches live in the workspace.",
        "stages": [
            _stage(
                "test",
                GO,
                "GOCACHE=$PWD/.cache/go-build GOMODCACHE=$PWD/.cache/mod go vet ./...",
                "GOCACHE=$PWD/.cache/go-build GOMODCACHE=$PWD/.cache/mod go test -race ./...",
            )
        ],
    },
    {
        "key": "dotnet-web", "name": ".NET web (ASP.NET Core)", "stack": "dotnet",
        "framework": "ASP.NET Core",
        "description": "Restores and runs dotnet test in Release configuration.",
        "stages": [
            _stage(
                "test",
                DOTNET,
                "DOTNET_CLI_HOME=$PWD DOTNET_CLI_TELEMETRY_OPTOUT=1 dotnet restore",
                "DOTNET_CLI_HOME=$PWD DOTNET_CLI_TELEMETRY_OPTOUT=1 dotnet test --no-restore -c Release",
            )
        ],
    },
    {
        "key": "php-laravel", "name": "PHP Laravel", "stack": "php", "framework": "Laravel",
        "description": "composer install, an application key for the test run, then PHPUnit.",
        "stages": [
            _stage(
                "test",
                COMPOSER,
                "COMPOSER_HOME=$PWD/.composer composer install --no-interaction --no-progress --prefer-dist",
                "cp -n .env.example .env",
                "php artisan key:generate",
                "vendor/bin/phpunit",
            )
        ],
    },
    {
        "key": "ruby-rails", "name": "Ruby on Rails", "stack": "ruby", "framework": "Rails",
        "description": "bundle install into the workspace and rails test.",
        "stages": [
            _stage(
                "test", RUBY, "bundle config set --local path vendor/bundle", "bundle install",
                "bundle exec rails test",
            )
        ],
    },
    {
        "key": "rust-cargo", "name": "Rust (Cargo)", "stack": "rust", "framework": "",
        "description": "cargo test with the lock file, the Cargo home in the workspace.",
        "stages": [_stage("test", RUST, "CARGO_HOME=$PWD/.cargo cargo test --locked")],
    },
    {
        "key": "static-site", "name": "Static site", "stack": "static", "framework": "",
        "description": "Checks that the site has an index page; nothing to compile.",
        "stages": [
            _stage(
                "check", ALPINE, "test -f index.html || test -f public/index.html || test -f dist/index.html"
            )
        ],
    },
)  # fmt: skip


def snapshot(template: PipelineTemplate) -> dict[str, Any]:
    """Return the editable state of a template (what a version stores)."""
    return {
        "key": template.key,
        "name": template.name,
        "stack": template.stack,
        "framework": template.framework,
        "description": template.description,
        "stages": template.stages,
    }


def ensure_seeds(session: Session) -> list[str]:
    """Insert the shipped templates whose key is missing (idempotent); return the keys added."""
    existing = set(session.scalars(select(PipelineTemplate.key)))
    added: list[str] = []
    for seed in SEEDS:
        if seed["key"] in existing:
            continue
        template = PipelineTemplate(**copy.deepcopy(seed), version=1, usage_count=0, is_seed=True)
        session.add(template)
        session.flush()
        session.add(PipelineTemplateVersion(template_id=template.id, version=1, snapshot=snapshot(template)))
        added.append(seed["key"])
    session.flush()
    return added
