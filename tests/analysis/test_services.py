"""Service detection across a monorepo, broken manifests, symlinks and this very project."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from tests.analysis.service_fixtures import evidence_lines, make_repo, one_service
from tests.analysis.service_fixtures import package_json as pkg
from timbel.analysis.services import detect_services, scan_services


class TestMonorepo:
    def test_three_services_a_library_and_a_devcontainer(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "package.json": pkg(name="monorepo", private=True, workspaces=["services/*", "packages/*"]),
                "pnpm-lock.yaml": "",
                ".devcontainer/Dockerfile": "FROM mcr.microsoft.com/devcontainers/base\nEXPOSE 9999\n",
                ".devcontainer/devcontainer.json": "{}",
                "docker-compose.yml": dedent("""\
                services:
                  api:
                    build: ./services/api
                    ports:
                      - "8080:3000"
                  web:
                    build:
                      context: services/web
                      dockerfile: docker/web.Dockerfile
                  db:
                    image: postgres:16
            """),
                "services/api/package.json": pkg(
                    name="api", scripts={"start": "node index.js"}, dependencies={"koa": "^2"}
                ),
                "services/api/index.js": "const Koa = require('koa');\nnew Koa().listen(3000);\n",
                "services/api/Dockerfile": "FROM node:20\nEXPOSE 3000\n",
                "services/web/package.json": pkg(
                    name="web", scripts={"start": "nuxt start"}, dependencies={"nuxt": "^3"}
                ),
                "services/web/docker/web.Dockerfile": "FROM node:20\n",
                "services/worker/requirements.txt": "celery[redis]==5.4\n",
                "services/worker/worker.py": "from celery import Celery\n",
                "packages/ui/package.json": pkg(
                    name="@acme/ui", main="index.js", dependencies={"react": "^18"}
                ),
            },
        )
        scan = scan_services(root)
        by_path = {s.path: s for s in scan.services}
        assert sorted(by_path) == ["services/api", "services/web", "services/worker"]
        assert [(lib.name, lib.path) for lib in scan.libraries] == [("ui", "packages/ui")]
        api, web, worker = by_path["services/api"], by_path["services/web"], by_path["services/worker"]
        assert (api.framework, api.build_tool, api.dockerfile, api.port) == (
            "Koa",
            "pnpm",
            "services/api/Dockerfile",
            3000,
        )
        assert evidence_lines(api) == [
            ("services/api/Dockerfile", 2),
            ("services/api/index.js", 2),
            ("docker-compose.yml", 5),
        ]
        assert (web.framework, web.dockerfile) == ("Nuxt", "services/web/docker/web.Dockerfile")
        assert (worker.kind, worker.start_command, worker.port) == ("worker", "python worker.py", None)
        assert all(".devcontainer" not in (s.dockerfile or "") for s in scan.services)
        assert all(e.file != ".devcontainer/Dockerfile" for s in scan.services for e in s.port_evidence)

    def test_kubernetes_container_port_in_service_directory(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "svc/go.mod": "module example.com/svc\n\ngo 1.22\n",
                "svc/main.go": "package main\n\nfunc main() {}\n",
                "svc/deploy/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n"
                "    spec:\n      containers:\n        - name: svc\n          ports:\n"
                "            - containerPort: 7070\n",
            },
        )
        svc = one_service(root)
        assert (svc.kind, svc.port) == ("worker", 7070)
        assert evidence_lines(svc) == [("svc/deploy/deployment.yaml", 9)]


class TestRobustness:
    def test_malformed_manifests_are_reported_and_analysis_continues(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "broken-node/package.json": '{"name": "x", "scripts": {',
                "broken-py/pyproject.toml": "[project\nname = 'x'\n",
                "broken-java/pom.xml": "<project><artifactId>x</artifactId>",
                "broken-compose/docker-compose.yml": "services: [\n",
                "ok/go.mod": "module example.com/ok\n\ngo 1.22\n",
                "ok/main.go": 'package main\n\nfunc main() { http.ListenAndServe(":8088", nil) }\n',
            },
        )
        scan = scan_services(root)
        assert [s.name for s in scan.services] == ["ok"] and scan.services[0].port == 8088
        assert sorted(p.file for p in scan.problems) == [
            "broken-compose/docker-compose.yml",
            "broken-java/pom.xml",
            "broken-node/package.json",
            "broken-py/pyproject.toml",
        ]
        assert all(p.message for p in scan.problems)

    def test_symlinked_manifest_outside_the_repository_is_not_followed(self, tmp_path: Path) -> None:
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "package.json").write_text(pkg(scripts={"start": "x"}, dependencies={"express": "4"}))
        root = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
        (root / "linked").symlink_to(outside, target_is_directory=True)
        (root / "package.json").symlink_to(outside / "package.json")
        assert detect_services(root) == ([], [])


def test_this_project_is_a_fastapi_service_on_port_8000() -> None:
    services, _ = detect_services(Path(__file__).resolve().parents[2])
    timbel = next(s for s in services if s.name == "timbel")
    assert (timbel.path, timbel.language, timbel.framework, timbel.kind) == (".", "Python", "FastAPI", "api")
    assert timbel.start_command == "timbel serve"
    assert timbel.port == 8000
    assert timbel.port_evidence[0].file == "src/timbel/core/settings.py" and timbel.port_evidence[0].line
    assert timbel.health_path == "/healthz"
    assert {"postgresql", "redis"} <= {d.name for d in timbel.datastores}
