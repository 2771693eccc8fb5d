"""The Helm chart and per-environment values: golden files, rendering with the real Helm engine, quoting.

Goldens live under tests/scaffold/golden/helm/; ``TIMBEL_UPDATE_GOLDEN=1`` rewrites them (review the diff).
"""

from __future__ import annotations

from pathlib import Path

import helm_python as helm
import pytest
import yaml

from tests.scaffold.golden_support import assert_golden
from timbel.scaffold.helm import generate_chart, generate_env_values, yaml_block, yaml_scalar
from timbel.scaffold.plan import (
    Autoscaling,
    DeliveryPlan,
    EnvironmentPlan,
    EnvVar,
    GeneratedFile,
    Resources,
    ServicePlan,
    header,
)

COMMIT = "3f2a9c1d4b5e6f708192a3b4c5d6e7f809112233"
SECRET_VALUE = "postgres://shop:hunter2@db/shop"


def two_service_plan(**changes: object) -> DeliveryPlan:
    """A system with a full service (ingress, autoscaling in prod, secret env) and a minimal one."""
    api = ServicePlan(
        name="api",
        stack="python",
        framework="fastapi",
        port=8000,
        health_path="/health",
        env=[
            EnvVar(name="LOG_LEVEL", value="info"),
            EnvVar(name="GREETING", value='안녕하세요: "hi" # not a comment'),
            EnvVar(name="ON", value="yes"),
            EnvVar(name="DATABASE_URL", value=SECRET_VALUE, secret=True),
            EnvVar(name="NO", value="s3cr3t-token", secret=True),
        ],
        environments=[
            EnvironmentPlan(name="dev", ingress_host="api.dev.example.com"),
            EnvironmentPlan(name="stg", replicas=2, ingress_host="api.stg.example.com"),
            EnvironmentPlan(
                name="prod",
                replicas=3,
                ingress_host="api.example.com",
                resources=Resources(
                    cpu_request="250m", cpu_limit="1", memory_request="256Mi", memory_limit="1Gi"
                ),
                autoscaling=Autoscaling(enabled=True, min_replicas=3, max_replicas=10, target_cpu_percent=70),
            ),
        ],
    )
    data: dict[str, object] = {
        "domain": "acme",
        "system": "shop",
        "commit": COMMIT,
        "registry": "registry.example.com/acme",
        "gitops_repo_url": "https://git.example.com/acme/gitops.git",
        "services": [ServicePlan(name="web", stack="spa", port=8080), api],
    }
    return DeliveryPlan.model_validate(data | changes)


def gitops_files(plan: DeliveryPlan) -> list[GeneratedFile]:
    """The chart and the environment values of a plan."""
    return generate_chart(plan) + generate_env_values(plan)


def write_chart(files: list[GeneratedFile], root: Path, *, plan: DeliveryPlan) -> Path:
    """Write the chart files under ``root/<system>`` and return that directory."""
    prefix = f"{plan.domain}/{plan.system}/chart/"
    for file in files:
        if file.path.startswith(prefix):
            target = root / plan.system / file.path[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(file.content, encoding="utf-8")
    return root / plan.system


class TestGolden:
    def test_chart_and_values_match_the_reviewed_goldens(self) -> None:
        files = gitops_files(two_service_plan())
        assert [f.path for f in files] == [
            "acme/shop/chart/.helmignore",
            "acme/shop/chart/Chart.yaml",
            "acme/shop/chart/templates/_helpers.tpl",
            "acme/shop/chart/templates/configmap.yaml",
            "acme/shop/chart/templates/deployment.yaml",
            "acme/shop/chart/templates/hpa.yaml",
            "acme/shop/chart/templates/ingress.yaml",
            "acme/shop/chart/templates/pdb.yaml",
            "acme/shop/chart/templates/service.yaml",
            "acme/shop/chart/templates/serviceaccount.yaml",
            "acme/shop/chart/values.yaml",
            "acme/shop/envs/dev/values.yaml",
            "acme/shop/envs/stg/values.yaml",
            "acme/shop/envs/prod/values.yaml",
        ]
        for file in files:
            assert_golden(f"helm/{file.path}", file.content)

    @pytest.mark.parametrize("env", ["dev", "stg", "prod"])
    def test_rendered_manifests_match_the_reviewed_goldens(self, env: str, tmp_path: Path) -> None:
        plan = two_service_plan()
        files = gitops_files(plan)
        values_text = next(f.content for f in files if f.path == f"acme/shop/envs/{env}/values.yaml")
        with helm.Chart.load(write_chart(files, tmp_path, plan=plan)) as chart:
            rendered = chart.render(
                helm.values_from_yaml(values_text), name="shop", namespace=f"acme-shop-{env}"
            )
        text = "".join(f"# Source: {name}\n{rendered[name]}\n" for name in sorted(rendered))
        assert_golden(f"helm/rendered/{env}.yaml", text)

    def test_env_names_that_look_like_booleans_stay_strings(self, tmp_path: Path) -> None:
        plan = two_service_plan()
        with helm.Chart.load(write_chart(gitops_files(plan), tmp_path, plan=plan)) as chart:
            rendered = chart.render({}, name="shop", namespace="acme-shop-dev")
        config = yaml.safe_load(rendered["shop/templates/configmap.yaml"])
        assert sorted(config["data"]) == ["GREETING", "LOG_LEVEL", "ON"]
        api = next(
            d
            for d in yaml.safe_load_all(rendered["shop/templates/deployment.yaml"])
            if d and "api" in d["metadata"]["name"]
        )
        env = api["spec"]["template"]["spec"]["containers"][0]["env"]
        assert [(e["name"], e["valueFrom"]["secretKeyRef"]["key"]) for e in env] == [
            ("DATABASE_URL", "DATABASE_URL"),
            ("NO", "NO"),
        ]


class TestChart:
    def test_every_file_starts_with_the_header_and_is_gitops(self) -> None:
        plan = two_service_plan()
        for file in gitops_files(plan):
            assert file.content.startswith(header(plan)), file.path
            assert file.target == "gitops"
            assert file.content.endswith("\n") and not file.content.endswith("\n\n"), file.path

    def test_same_plan_gives_byte_identical_files(self) -> None:
        first = [(f.path, f.content) for f in gitops_files(two_service_plan())]
        again = [(f.path, f.content) for f in gitops_files(two_service_plan())]
        assert first == again
        shuffled = two_service_plan()
        shuffled.services.reverse()
        assert [(f.path, f.content) for f in gitops_files(shuffled)] == first

    def test_chart_metadata_and_defaults(self) -> None:
        chart = {f.path.rsplit("/", 1)[-1]: f.content for f in generate_chart(two_service_plan())}
        meta = yaml.safe_load(chart["Chart.yaml"])
        assert (meta["apiVersion"], meta["name"], meta["version"]) == ("v2", "shop", "0.1.0")
        assert meta["appVersion"] == COMMIT[:12]
        api = yaml.safe_load(chart["values.yaml"])["services"]["api"]
        assert api["image"] == {
            "repository": "registry.example.com/acme/shop-api",
            "tag": COMMIT,
            "pullPolicy": "IfNotPresent",
        }
        assert api["secretEnv"] == ["DATABASE_URL", "NO"] and api["secretName"] == "shop-api-secrets"
        assert api["env"] == {
            "GREETING": '안녕하세요: "hi" # not a comment',
            "LOG_LEVEL": "info",
            "ON": "yes",
        }

    def test_without_a_commit_the_version_is_0_1_0_never_latest(self) -> None:
        plan = two_service_plan(commit=None)
        files = {f.path: f.content for f in gitops_files(plan)}
        assert yaml.safe_load(files["acme/shop/chart/Chart.yaml"])["appVersion"] == "0.1.0"
        dev = yaml.safe_load(files["acme/shop/envs/dev/values.yaml"])
        assert {s["image"]["tag"] for s in dev["services"].values()} == {"0.1.0"}
        assert not any("latest" in text for text in files.values())

    def test_secret_values_never_reach_git(self) -> None:
        for file in gitops_files(two_service_plan()):
            assert SECRET_VALUE not in file.content and "s3cr3t-token" not in file.content, file.path

    def test_env_values_carry_the_environment_and_no_namespace(self) -> None:
        files = {f.path: yaml.safe_load(f.content) for f in generate_env_values(two_service_plan())}
        prod = files["acme/shop/envs/prod/values.yaml"]
        assert "namespace" not in prod
        api = prod["services"]["api"]
        assert api["replicas"] == 3 and api["autoscaling"]["enabled"] is True
        assert api["ingress"] == {"enabled": True, "host": "api.example.com"}
        assert api["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}
        assert prod["services"]["web"]["ingress"] == {"enabled": False, "host": ""}

    def test_only_the_planned_environments_get_values(self) -> None:
        files = generate_env_values(two_service_plan(environments=["dev"]))
        assert [f.path for f in files] == ["acme/shop/envs/dev/values.yaml"]


class TestYamlWriter:
    @pytest.mark.parametrize(
        "value",
        [
            "1234e56",
            "0.1.0",
            "on",
            "No",
            "null",
            "~",
            "",
            "a: b",
            "# x",
            "- x",
            "안녕",
            "tab\there",
            "x\u2028y",
        ],
    )
    def test_strings_read_back_as_the_same_string(self, value: str) -> None:
        text = yaml_scalar(value)
        assert yaml.safe_load(f"k: {text}") == {"k": value}
        assert helm.values_from_yaml(f"k: {text}") == {"k": value}

    def test_plain_strings_stay_plain(self) -> None:
        assert yaml_scalar("registry.example.com/acme/shop-api") == "registry.example.com/acme/shop-api"
        assert (yaml_scalar(True), yaml_scalar(3), yaml_scalar(None)) == ("true", "3", "null")

    def test_blocks_nest_lists_of_mappings(self) -> None:
        data = {"a": [{"b": 1, "c": ["x"]}, "y"], "d": {}, "e": []}
        assert yaml.safe_load(yaml_block(data)) == data
