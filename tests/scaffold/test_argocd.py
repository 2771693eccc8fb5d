"""Argo CD objects: golden files, sync policy per environment, project boundaries.

Goldens live under tests/scaffold/golden/argocd/; ``TIMBEL_UPDATE_GOLDEN=1`` rewrites them (review the diff).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.scaffold.golden_support import assert_golden
from tests.scaffold.test_helm import two_service_plan
from timbel.scaffold.argocd import generate_applicationset, generate_argocd, namespace_glob
from timbel.scaffold.plan import header


def _objects() -> dict[str, Any]:
    return {f.path: yaml.safe_load(f.content) for f in generate_argocd(two_service_plan())}


class TestGolden:
    def test_project_and_applications_match_the_reviewed_goldens(self) -> None:
        files = generate_argocd(two_service_plan())
        assert [(f.path, f.kind) for f in files] == [
            ("argocd/projects/acme.yaml", "argocd-project"),
            ("acme/shop/argocd/dev.yaml", "argocd-application"),
            ("acme/shop/argocd/stg.yaml", "argocd-application"),
            ("acme/shop/argocd/prod.yaml", "argocd-application"),
        ]
        for file in files:
            assert_golden(f"argocd/{file.path}", file.content)

    def test_applicationset_matches_the_reviewed_golden(self) -> None:
        file = generate_applicationset(two_service_plan())
        assert file.path == "acme/shop/argocd/applicationset.yaml"
        assert_golden(f"argocd/{file.path}", file.content)


class TestApplications:
    def test_every_file_starts_with_the_header_and_is_deterministic(self) -> None:
        plan = two_service_plan()
        first = generate_argocd(plan)
        assert all(f.content.startswith(header(plan)) and f.target == "gitops" for f in first)
        assert [f.content for f in first] == [f.content for f in generate_argocd(two_service_plan())]

    @pytest.mark.parametrize(
        ("env", "automated"),
        [
            ("dev", {"prune": True, "selfHeal": True}),
            ("stg", {"prune": False, "selfHeal": True}),
            ("prod", None),
        ],
    )
    def test_sync_policy_per_environment(self, env: str, automated: dict[str, bool] | None) -> None:
        sync = _objects()[f"acme/shop/argocd/{env}.yaml"]["spec"]["syncPolicy"]
        assert sync.get("automated") == automated
        assert sync["syncOptions"] == ["CreateNamespace=true"]
        assert sync["retry"]["limit"] == 5 and sync["retry"]["backoff"]["factor"] == 2

    def test_application_points_at_the_chart_and_its_env_values(self) -> None:
        app = _objects()["acme/shop/argocd/stg.yaml"]
        assert app["metadata"]["name"] == "acme-shop-stg"
        assert app["spec"]["project"] == "acme"
        assert app["spec"]["source"] == {
            "repoURL": "https://git.example.com/acme/gitops.git",
            "targetRevision": "main",
            "path": "acme/shop/chart",
            "helm": {"releaseName": "shop", "valueFiles": ["../envs/stg/values.yaml"]},
        }
        assert app["spec"]["destination"] == {
            "server": "https://kubernetes.default.svc",
            "namespace": "acme-shop-stg",
        }

    def test_project_limits_sources_destinations_and_cluster_resources(self) -> None:
        project = _objects()["argocd/projects/acme.yaml"]["spec"]
        assert project["sourceRepos"] == ["https://git.example.com/acme/gitops.git"]
        assert project["destinations"] == [
            {"namespace": "acme-*", "server": "https://kubernetes.default.svc"}
        ]
        assert project["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]

    def test_namespace_pattern_follows_the_plan(self) -> None:
        plan = two_service_plan(namespace_pattern="{system}-{env}", environments=["dev", "prod"])
        files = {f.path: yaml.safe_load(f.content) for f in generate_argocd(plan)}
        assert sorted(files) == [
            "acme/shop/argocd/dev.yaml",
            "acme/shop/argocd/prod.yaml",
            "argocd/projects/acme.yaml",
        ]
        assert files["acme/shop/argocd/prod.yaml"]["spec"]["destination"]["namespace"] == "shop-prod"
        assert namespace_glob(plan) == "*"
        assert (
            namespace_glob(two_service_plan(namespace_pattern="team-{domain}-{system}-{env}"))
            == "team-acme-*"
        )

    def test_applicationset_elements_carry_the_sync_choice(self) -> None:
        appset = yaml.safe_load(generate_applicationset(two_service_plan()).content)
        elements = appset["spec"]["generators"][0]["list"]["elements"]
        assert [(e["env"], e["namespace"], e["automated"], e["prune"]) for e in elements] == [
            ("dev", "acme-shop-dev", True, True),
            ("stg", "acme-shop-stg", True, False),
            ("prod", "acme-shop-prod", False, False),
        ]
        assert appset["spec"]["goTemplate"] is True
