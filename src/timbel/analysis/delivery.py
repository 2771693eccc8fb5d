"""List a repository's existing delivery assets: Docker, compose, Helm, Kustomize, Kubernetes, CI, Argo CD.

Why: the deploy wizard should reuse what a team already wrote instead of generating a second set, and
readiness checks need to know what exists. Kubernetes manifests are recognised by their `apiVersion`
and `kind` content, not by folder names, because teams put them anywhere.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from timbel.analysis._fs import read_text, walk
from timbel.analysis.report import Delivery
from timbel.analysis.services import is_compose, is_dockerfile

_API_VERSION = re.compile(r"^apiVersion:\s*[\"']?([\w./-]+)", re.MULTILINE)
_KIND = re.compile(r"^kind:\s*[\"']?(\w+)", re.MULTILINE)
_CI_FILES = frozenset(
    {".gitlab-ci.yml", ".circleci/config.yml", "azure-pipelines.yml", "bitbucket-pipelines.yml", ".drone.yml"}
)
_KUSTOMIZATION = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})
# Folders of test data: a Dockerfile or chart in there is a fixture, not the repository's own delivery.
_TEST_DATA = frozenset(
    {"tests", "test", "__tests__", "testdata", "test-data", "fixtures", "__fixtures__", "golden"}
    | {"__snapshots__"}
)


def _test_data(rel: str) -> bool:
    return not _TEST_DATA.isdisjoint(rel.split("/")[:-1])


def _is_jenkinsfile(name: str) -> bool:
    return name == "Jenkinsfile" or name.startswith("Jenkinsfile.") or name.endswith(".jenkinsfile")


def _is_ci(rel: str) -> bool:
    if rel in _CI_FILES:
        return True
    return rel.startswith(".github/workflows/") and rel.endswith((".yml", ".yaml")) and rel.count("/") == 2


def detect_delivery(root: Path, files: list[str] | None = None) -> Delivery:
    """Return the repository's existing delivery assets as sorted repository-relative paths."""
    files = [f for f in (walk(root) if files is None else files) if not _test_data(f)]
    out = Delivery()
    charts = sorted({posixpath.dirname(f) or "." for f in files if f.rsplit("/", 1)[-1] == "Chart.yaml"})
    out.helm_charts = charts
    out.kustomizations = sorted(
        {posixpath.dirname(f) or "." for f in files if f.rsplit("/", 1)[-1] in _KUSTOMIZATION}
    )
    for rel in files:
        name = rel.rsplit("/", 1)[-1]
        if ".devcontainer" in rel.split("/"):
            continue
        if is_dockerfile(rel):
            out.dockerfiles.append(rel)
        elif _is_jenkinsfile(name):
            out.jenkinsfiles.append(rel)
        elif _is_ci(rel):
            out.ci_workflows.append(rel)
        elif is_compose(rel):
            out.compose_files.append(rel)
        elif (
            rel.endswith((".yaml", ".yml", ".json"))
            and name not in _KUSTOMIZATION
            and name != "Chart.yaml"
            and not any(rel.startswith(c + "/") or c == "." for c in charts)
        ):
            _classify_manifest(root, rel, out)
    return out


def _classify_manifest(root: Path, rel: str, out: Delivery) -> None:
    """Add a YAML/JSON file to k8s_manifests or argocd_applications when its content says so."""
    text = read_text(root, rel)
    if not text or "apiVersion" not in text or "kind" not in text:
        return
    if rel.endswith(".json"):
        api = re.search(r"\"apiVersion\"\s*:\s*\"([\w./-]+)\"", text)
        kind = re.search(r"\"kind\"\s*:\s*\"(\w+)\"", text)
        pairs = [(api.group(1), kind.group(1))] if api and kind else []
    else:
        docs = re.split(r"^---\s*$", text, flags=re.MULTILINE)
        pairs = []
        for doc in docs:
            api_m, kind_m = _API_VERSION.search(doc), _KIND.search(doc)
            if api_m and kind_m:
                pairs.append((api_m.group(1), kind_m.group(1)))
    if not pairs:
        return
    if any(
        api.startswith("argoproj.io/") and kind in ("Application", "ApplicationSet") for api, kind in pairs
    ):
        out.argocd_applications.append(rel)
    else:
        out.k8s_manifests.append(rel)
