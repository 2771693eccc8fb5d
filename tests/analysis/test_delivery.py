"""Delivery asset detection: Dockerfiles, compose, Helm, Kustomize, Kubernetes by content, CI, Argo CD."""

from __future__ import annotations

from pathlib import Path

from tests.analysis._git_fixture import write_tree
from tests.analysis.service_fixtures import make_repo
from timbel.analysis.delivery import detect_delivery

DEPLOYMENT = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n"
ARGO_APP = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: api\n"


def test_every_kind_of_asset_is_listed(tmp_path: Path) -> None:
    root = make_repo(
        tmp_path,
        {
            "Dockerfile": "FROM python:3.12\n",
            "services/web/Dockerfile.prod": "FROM node:20\n",
            ".devcontainer/Dockerfile": "FROM debian\n",
            "docker-compose.yml": "services: {}\n",
            "compose.override.yaml": "services: {}\n",
            "charts/api/Chart.yaml": "apiVersion: v2\nname: api\nversion: 0.1.0\n",
            "charts/api/templates/deployment.yaml": DEPLOYMENT + "spec: {{ .Values.spec }}\n",
            "k8s/base/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\n"
            "kind: Kustomization\n",
            "k8s/base/deployment.yaml": DEPLOYMENT + "---\napiVersion: v1\nkind: Service\n",
            "deploy/all-in-one.yml": "# generated\n---\napiVersion: v1\nkind: ConfigMap\n",
            "gitops/apps/api.yaml": ARGO_APP,
            "Jenkinsfile": "pipeline {}\n",
            "ci/release.jenkinsfile": "pipeline {}\n",
            ".github/workflows/ci.yml": "on: push\n",
            ".github/workflows/docs/readme.md": "not a workflow\n",
            ".gitlab-ci.yml": "stages: [test]\n",
            "config/settings.yaml": "kind: of a config\nname: not k8s\n",
            "openapi.json": '{"openapi": "3.1.0"}',
        },
    )
    d = detect_delivery(root)
    assert d.dockerfiles == ["Dockerfile", "services/web/Dockerfile.prod"]
    assert d.compose_files == ["compose.override.yaml", "docker-compose.yml"]
    assert d.helm_charts == ["charts/api"]
    assert d.kustomizations == ["k8s/base"]
    assert d.k8s_manifests == ["deploy/all-in-one.yml", "k8s/base/deployment.yaml"]
    assert d.argocd_applications == ["gitops/apps/api.yaml"]
    assert d.jenkinsfiles == ["Jenkinsfile", "ci/release.jenkinsfile"]
    assert d.ci_workflows == [".github/workflows/ci.yml", ".gitlab-ci.yml"]


def test_repository_without_assets_has_empty_lists(tmp_path: Path) -> None:
    d = detect_delivery(make_repo(tmp_path, {"README.md": "# hi\n", "main.py": "print(1)\n"}))
    assert d.model_dump() == {k: [] for k in d.model_dump()}


def test_symlinks_and_vendored_dirs_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "deployment.yaml").write_text(DEPLOYMENT)
    root = make_repo(
        tmp_path / "repo",
        {"node_modules/pkg/Dockerfile": "FROM x\n", "vendor/k8s.yaml": DEPLOYMENT, "README.md": "x\n"},
    )
    (root / "linked").symlink_to(outside, target_is_directory=True)
    (root / "deployment.yaml").symlink_to(outside / "deployment.yaml")
    d = detect_delivery(root)
    assert d.dockerfiles == [] and d.k8s_manifests == []


def test_this_project_reports_its_own_assets() -> None:
    root = Path(__file__).resolve().parents[2]
    d = detect_delivery(root)
    assert all(not p.startswith((".venv/", ".git/")) for p in d.dockerfiles + d.k8s_manifests)


def test_fixtures_in_test_folders_are_not_delivery_assets(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "Dockerfile": "FROM python:3.12-slim\n",
            "tests/golden/docker/app.Dockerfile": "FROM node:20\n",
            "tests/fixtures/chart/Chart.yaml": "apiVersion: v2\nname: x\nversion: 0.1.0\n",
            "testdata/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\n",
            "deploy/app.yaml": "apiVersion: apps/v1\nkind: Deployment\n",
        },
    )
    found = detect_delivery(tmp_path)
    assert found.dockerfiles == ["Dockerfile"]
    assert found.helm_charts == [] and found.k8s_manifests == ["deploy/app.yaml"]
