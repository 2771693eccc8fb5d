"""Shipped pipeline templates: real, pinned, valid, inserted idempotently by key, chosen per stack."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select

from timbel.audit.service import AuditContext
from timbel.core.db import session_scope
from timbel.core.errors import NotFound
from timbel.pipelines import template_service
from timbel.pipelines.models import PipelineTemplate, PipelineTemplateVersion
from timbel.pipelines.template_schemas import PipelineTemplateCreate, PipelineTemplateUpdate
from timbel.pipelines.template_seeds import SEEDS
from timbel.scaffold.jenkinsfile import StageSpec, generate_jenkinsfile
from timbel.scaffold.jenkinsfile_check import check_jenkinsfile
from timbel.scaffold.plan import DeliveryPlan, ServicePlan

REQUIRED_KEYS = {
    "react-typescript", "vue3", "nextjs", "nodejs-express", "nestjs", "python-fastapi", "python-django",
    "python-flask", "java-spring-boot-maven", "java-spring-boot-gradle", "go-gin", "dotnet-web",
    "php-laravel", "static-site",
}  # fmt: skip
PINNED = re.compile(r"^[a-z0-9./-]+:[0-9][0-9A-Za-z.-]*$")


class TestSeedContent:
    def test_every_required_stack_is_shipped(self) -> None:
        assert {s["key"] for s in SEEDS} >= REQUIRED_KEYS
        assert len({s["key"] for s in SEEDS}) == len(SEEDS)

    @pytest.mark.parametrize("seed", SEEDS, ids=[s["key"] for s in SEEDS])
    def test_seed_is_valid_with_pinned_images(self, seed: dict[str, object]) -> None:
        data = PipelineTemplateCreate.model_validate(seed)
        assert data.stages, "a shipped template runs at least one stage"
        for stage in data.stages:
            assert PINNED.match(stage.image), f"{seed['key']}: {stage.image} is not pinned to a version"
            assert "latest" not in stage.image

    def test_commands_are_the_real_ones(self) -> None:
        commands = {s["key"]: " && ".join(c for st in s["stages"] for c in st["commands"]) for s in SEEDS}  # type: ignore[index, attr-defined]
        assert "npm ci" in commands["nodejs-express"] and "npm test" in commands["nodejs-express"]
        assert "pytest" in commands["python-fastapi"]
        assert "manage.py test" in commands["python-django"]
        assert (
            "mvn -B" in commands["java-spring-boot-maven"] and "verify" in commands["java-spring-boot-maven"]
        )
        assert (
            "gradle" in commands["java-spring-boot-gradle"] and " test" in commands["java-spring-boot-gradle"]
        )
        assert "go test ./..." in commands["go-gin"].replace("-race ", "")
        assert "dotnet test" in commands["dotnet-web"]
        assert "composer install" in commands["php-laravel"] and "phpunit" in commands["php-laravel"]


class TestEnsureSeeds:
    def test_idempotent_by_key_and_keeps_admin_changes(
        self, app: FastAPI, seeded: Callable[[], list[str]]
    ) -> None:
        assert seeded() == [s["key"] for s in SEEDS]
        assert seeded() == []
        factory = app.state.session_factory
        with session_scope(factory) as session:
            assert session.scalar(select(func.count()).select_from(PipelineTemplate)) == len(SEEDS)
            assert session.scalar(select(func.count()).select_from(PipelineTemplateVersion)) == len(SEEDS)
            flask = template_service.get_by_key(session, key="python-flask")
            assert flask is not None and flask.is_seed and flask.version == 1
            template_service.update(
                session,
                template=flask,
                data=PipelineTemplateUpdate(
                    stages=[StageSpec(name="test", image="python:3.13.1", commands=["pytest"])]
                ),
                ctx=AuditContext(actor_name="test"),
            )
            session.execute(delete(PipelineTemplate).where(PipelineTemplate.key == "go-gin"))
        assert seeded() == ["go-gin"]
        with session_scope(factory) as session:
            flask = template_service.get_by_key(session, key="python-flask")
            assert flask is not None and flask.version == 2 and flask.stages[0]["image"] == "python:3.13.1"


class TestChooseTemplate:
    def test_by_stack_and_framework(self, app: FastAPI, seeded: Callable[[], list[str]]) -> None:
        seeded()
        with session_scope(app.state.session_factory) as session:

            def key(stack: str, framework: str | None) -> str:
                return template_service.choose_template(session, stack=stack, framework=framework).key

            assert key("python", "FastAPI") == "python-fastapi"
            assert key("python", "django") == "python-django"
            assert key("java-gradle", "Spring Boot") == "java-spring-boot-gradle"
            assert key("java-maven", "spring-boot") == "java-spring-boot-maven"
            assert key("spa", "Vue") == "vue3"
            assert key("node", "NestJS") == "nestjs"
            assert key("static", None) == "static-site"
            assert key("python", "Streamlit") == "python-django"  # no exact match: the stack's first seed
            template_service.create(
                session,
                data=PipelineTemplateCreate(key="python-generic", name="Python", stack="python", stages=[]),
                ctx=AuditContext(actor_name="test"),
            )
            assert key("python", "Streamlit") == "python-generic"  # a stack's framework-less template wins
            with pytest.raises(NotFound):
                template_service.choose_template(session, stack="cobol", framework=None)


class TestSpecsForPlan:
    def test_each_service_gets_its_template_and_the_jenkinsfile_checks_clean(
        self, app: FastAPI, seeded: Callable[[], list[str]]
    ) -> None:
        seeded()
        plan = DeliveryPlan(
            domain="kb-bank",
            system="loan",
            services=[
                ServicePlan(name="web", path="web", stack="nextjs", framework="Next.js", port=3000),
                ServicePlan(name="api", path="api", stack="java-maven", framework="Spring Boot", port=8080),
            ],
        )
        with session_scope(app.state.session_factory) as session:
            specs = template_service.specs_for_plan(session, plan=plan)
        assert {name: spec.key for name, spec in specs.items()} == {
            "web": "nextjs",
            "api": "java-spring-boot-maven",
        }
        text = generate_jenkinsfile(plan, templates=specs).content
        assert "mvn -B -ntp -Dmaven.repo.local=.m2/repository verify" in text
        assert check_jenkinsfile(text) == []
