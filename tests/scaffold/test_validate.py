"""Checks with the real tools: Helm render + lint, Kubernetes schemas per environment, Argo CD structure."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.scaffold.test_helm import two_service_plan
from timbel.scaffold.argocd import generate_applicationset, generate_argocd
from timbel.scaffold.helm import generate_chart, generate_env_values
from timbel.scaffold.plan import DeliveryPlan, GeneratedFile, ServicePlan
from timbel.scaffold.validate import Problem, validate_gitops_files


def all_files(plan: DeliveryPlan) -> list[GeneratedFile]:
    return generate_chart(plan) + generate_env_values(plan) + generate_argocd(plan)


def edit(files: list[GeneratedFile], suffix: str, change: Callable[[str], str]) -> list[GeneratedFile]:
    """Return the files with one file's content changed (the test fails if nothing changed)."""
    out = []
    for file in files:
        if file.path.endswith(suffix):
            content = change(file.content)
            assert content != file.content, f"the edit did not change {file.path}"
            file = file.model_copy(update={"content": content})
        out.append(file)
    return out


class TestValidFiles:
    def test_two_service_plan_renders_lints_and_validates_for_dev_stg_prod(self) -> None:
        plan = two_service_plan()
        assert plan.environments == ["dev", "stg", "prod"]
        assert validate_gitops_files(all_files(plan), plan=plan) == []

    def test_minimal_plan_without_commit_validates(self) -> None:
        plan = DeliveryPlan(
            domain="bank",
            system="ledger",
            gitops_repo_url="ssh://git@git.example.com/bank/gitops.git",
            services=[ServicePlan(name="worker", stack="go", port=9000)],
        )
        assert validate_gitops_files(all_files(plan), plan=plan) == []

    def test_applicationset_is_accepted_next_to_the_applications(self) -> None:
        plan = two_service_plan()
        files = [*all_files(plan), generate_applicationset(plan)]
        assert validate_gitops_files(files, plan=plan) == []

    def test_result_is_deterministic(self) -> None:
        plan = two_service_plan()
        files = edit(all_files(plan), "stg/values.yaml", lambda t: t.replace("replicas: 2", "replicas: 2.5"))
        first = validate_gitops_files(files, plan=plan)
        assert first and first == validate_gitops_files(files, plan=plan)


class TestBrokenChart:
    def test_a_wrong_type_in_env_values_is_blamed_on_that_values_file(self) -> None:
        plan = two_service_plan()
        files = edit(
            all_files(plan), "envs/stg/values.yaml", lambda t: t.replace("replicas: 2", 'replicas: "two"')
        )
        problems = validate_gitops_files(files, plan=plan)
        assert [p.path for p in problems] == ["acme/shop/envs/stg/values.yaml"]
        assert "stg" in problems[0].message and "spec.replicas" in problems[0].message
        assert "'two'" in problems[0].message

    def test_invalid_yaml_in_env_values_is_reported(self) -> None:
        plan = two_service_plan()
        files = edit(all_files(plan), "envs/prod/values.yaml", lambda t: t + "  broken: [\n")
        problems = validate_gitops_files(files, plan=plan)
        assert [p.path for p in problems] == ["acme/shop/envs/prod/values.yaml"]
        assert "YAML" in problems[0].message

    def test_a_missing_env_values_file_is_reported(self) -> None:
        plan = two_service_plan()
        files = [f for f in all_files(plan) if f.path != "acme/shop/envs/dev/values.yaml"]
        problems = validate_gitops_files(files, plan=plan)
        assert Problem("acme/shop/envs/dev/values.yaml", "the dev values file is missing") in problems
        assert any(p.path == "acme/shop/argocd/dev.yaml" and "missing" in p.message for p in problems)

    @pytest.mark.parametrize(
        ("bad", "expected"),
        [("{{ .Values.nope.deeper }}", "nil pointer"), ("{{ if }}", "missing value for if")],
    )
    def test_a_template_error_is_blamed_on_the_template(self, bad: str, expected: str) -> None:
        plan = two_service_plan()
        files = edit(
            all_files(plan), "templates/service.yaml", lambda t: t.replace("type: ClusterIP", f"type: {bad}")
        )
        problems = validate_gitops_files(files, plan=plan)
        assert [p.path for p in problems] == ["acme/shop/chart/templates/service.yaml"]
        assert expected in problems[0].message

    def test_a_schema_error_in_a_template_is_blamed_on_the_template_once(self) -> None:
        plan = two_service_plan()
        files = edit(
            all_files(plan), "templates/service.yaml", lambda t: t.replace("protocol: TCP", "protocl: TCP")
        )
        problems = validate_gitops_files(files, plan=plan)
        assert {p.path for p in problems} == {"acme/shop/chart/templates/service.yaml"}
        assert len(problems) == 2  # one per service, not repeated per environment
        assert all("'protocl' was unexpected" in p.message for p in problems)

    def test_an_unknown_kind_is_reported(self) -> None:
        plan = two_service_plan()
        files = edit(all_files(plan), "templates/pdb.yaml", lambda t: t.replace("policy/v1", "policy/v9"))
        problems = validate_gitops_files(files, plan=plan)
        assert problems and all(p.path == "acme/shop/chart/templates/pdb.yaml" for p in problems)

    def test_a_missing_chart_yaml_is_reported(self) -> None:
        plan = two_service_plan()
        files = [f for f in all_files(plan) if not f.path.endswith("chart/Chart.yaml")]
        problems = validate_gitops_files(files, plan=plan)
        assert Problem("acme/shop/chart/Chart.yaml", "the chart has no Chart.yaml") in problems


class TestBrokenArgoCD:
    def test_wrong_types_and_missing_fields_are_reported(self) -> None:
        plan = two_service_plan()
        files = edit(all_files(plan), "argocd/prod.yaml", lambda t: t.replace("project: acme", "project: 7"))
        files = edit(files, "argocd/dev.yaml", lambda t: t.replace("    path: acme/shop/chart\n", ""))
        problems = validate_gitops_files(files, plan=plan)
        assert Problem("acme/shop/argocd/prod.yaml", "spec.project: 7 is not of type 'string'") in problems
        assert Problem("acme/shop/argocd/dev.yaml", "spec.source: 'path' is a required property") in problems

    def test_a_destination_outside_the_project_is_reported(self) -> None:
        plan = two_service_plan()
        files = edit(
            all_files(plan),
            "argocd/stg.yaml",
            lambda t: t.replace("namespace: acme-shop-stg", "namespace: other"),
        )
        problems = validate_gitops_files(files, plan=plan)
        assert problems == [
            Problem(
                "acme/shop/argocd/stg.yaml", "spec.destination is not allowed by the project's destinations"
            )
        ]

    def test_a_wrong_api_version_is_reported(self) -> None:
        plan = two_service_plan()
        files = edit(
            all_files(plan),
            "projects/acme.yaml",
            lambda t: t.replace("argoproj.io/v1alpha1", "argoproj.io/v1"),
        )
        problems = validate_gitops_files(files, plan=plan)
        assert [p.path for p in problems] == ["argocd/projects/acme.yaml"]
        assert "apiVersion" in problems[0].message

    def test_without_a_gitops_repository_the_source_is_reported(self) -> None:
        plan = two_service_plan(gitops_repo_url="")
        problems = validate_gitops_files(all_files(plan), plan=plan)
        assert {p.path for p in problems} == {
            "argocd/projects/acme.yaml",
            "acme/shop/argocd/dev.yaml",
            "acme/shop/argocd/stg.yaml",
            "acme/shop/argocd/prod.yaml",
        }
