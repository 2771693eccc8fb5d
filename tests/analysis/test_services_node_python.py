"""Node and Python service detection: frameworks, build tools, ports with evidence, libraries."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from tests.analysis.service_fixtures import evidence_lines, make_repo, one_service
from tests.analysis.service_fixtures import package_json as pkg
from timbel.analysis.services import detect_services


class TestNode:
    def test_express_port_from_env_default_and_health_route(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "package.json": pkg(
                    scripts={"start": "node server.js", "test": "jest", "upgrade": "ncu"},
                    dependencies={"express": "^4.19.2", "pg": "^8.11.0"},
                ),
                "package-lock.json": "{}",
                "server.js": dedent("""\
                const express = require('express');
                const PORT = process.env.PORT || 4000;
                const app = express();
                app.get('/healthz', (req, res) => res.send('ok'));
                app.listen(PORT);
            """),
            },
        )
        svc = one_service(root)
        assert (svc.framework, svc.kind, svc.language, svc.build_tool) == (
            "Express",
            "api",
            "JavaScript",
            "npm",
        )
        assert svc.port == 4000
        assert evidence_lines(svc) == [("server.js", 2)]
        assert svc.start_command == "npm start" and svc.test_command == "npm test"
        assert svc.health_path == "/healthz" and svc.health_evidence[0].line == 4
        assert {d.name: d.version for d in svc.dependencies}["express"] == "^4.19.2"
        assert [(d.name, d.evidence[0].file, d.evidence[0].line) for d in svc.datastores] == [
            ("postgresql", "package.json", 11)
        ]

    def test_next_port_from_start_script_yarn_and_nvmrc(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "package.json": pkg(
                    scripts={"build": "next build", "start": "next start -p 4100"},
                    dependencies={"next": "14.2.0", "react": "18"},
                ),
                "yarn.lock": "",
                ".nvmrc": "v20.11.1\n",
            },
        )
        svc = one_service(root)
        assert (svc.framework, svc.kind, svc.build_tool, svc.runtime_version) == (
            "Next.js",
            "web",
            "yarn",
            "20.11.1",
        )
        assert svc.port == 4100 and evidence_lines(svc) == [("package.json", 6)]
        assert svc.build_command == "yarn build"

    def test_nest_dockerfile_expose_outranks_listen_call(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "package.json": pkg(
                    scripts={"start": "node dist/main.js"},
                    dependencies={"@nestjs/core": "^10.0.0"},
                    engines={"node": ">=18"},
                ),
                "pnpm-lock.yaml": "",
                "src/main.ts": "import { NestFactory } from '@nestjs/core';\n\nasync function boot() {\n"
                "  await app.listen(3000);\n}\n",
                "Dockerfile": "FROM node:20-alpine\nWORKDIR /app\nEXPOSE 8080\nCMD node dist/main.js\n",
            },
        )
        svc = one_service(root)
        assert (svc.framework, svc.language, svc.build_tool, svc.runtime_version) == (
            "NestJS",
            "TypeScript",
            "pnpm",
            ">=18",
        )
        assert svc.port == 8080
        assert evidence_lines(svc) == [("Dockerfile", 3), ("src/main.ts", 4)]
        assert svc.port_evidence[0].reason == "Dockerfile EXPOSE 8080"
        assert svc.dockerfile == "Dockerfile"

    def test_vite_react_spa_is_a_frontend_with_a_stated_default(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "package.json": pkg(
                    scripts={"dev": "vite", "build": "vite build", "start": "vite preview"},
                    dependencies={"react": "^18"},
                    devDependencies={"vite": "^5"},
                ),
                "index.html": "<div id=root></div>",
            },
        )
        svc = one_service(root)
        assert (svc.kind, svc.framework, svc.port) == ("frontend", "React", 4173)
        assert "default" in svc.port_evidence[0].reason and svc.port_evidence[0].line is None

    def test_package_without_start_or_server_is_a_library(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {"package.json": pkg(name="@acme/utils", main="index.js", dependencies={"lodash": "4"})},
        )
        services, libraries = detect_services(root)
        assert services == []
        assert [(lib.name, lib.path, lib.build_tool) for lib in libraries] == [("utils", ".", "npm")]


class TestPython:
    def test_fastapi_pyproject_uv(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "pyproject.toml": dedent("""\
                [project]
                name = "orders"
                requires-python = ">=3.11"
                dependencies = ["fastapi>=0.110", "uvicorn[standard]", "asyncpg==0.29.0"]
                [project.optional-dependencies]
                dev = ["pytest>=8"]
            """),
                "uv.lock": "",
                ".python-version": "3.12\n",
                "app/__init__.py": "",
                "app/main.py": 'from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get("/health")\n'
                "def health() -> dict[str, str]:\n    return {}\n",
            },
        )
        svc = one_service(root)
        assert (svc.name, svc.framework, svc.kind, svc.build_tool, svc.runtime_version) == (
            "orders",
            "FastAPI",
            "api",
            "uv",
            "3.12",
        )
        assert svc.start_command == "uvicorn app.main:app --host 0.0.0.0 --port 8000"
        assert svc.test_command == "uv run pytest"
        assert svc.port == 8000 and "default" in svc.port_evidence[0].reason
        assert svc.health_path == "/health" and (
            svc.health_evidence[0].file,
            svc.health_evidence[0].line,
        ) == ("app/main.py", 6)
        assert svc.datastores[0].name == "postgresql" and svc.datastores[0].evidence[0].line == 4
        assert {d.name: d.version for d in svc.dependencies}["asyncpg"] == "==0.29.0"

    def test_flask_env_default_beats_procfile_and_procfile_sets_start(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "requirements.txt": "flask==3.0.0\ngunicorn\nredis>=5  # cache\n",
                "app.py": dedent("""\
                import os
                from flask import Flask
                app = Flask(__name__)

                if __name__ == "__main__":
                    app.run(host="0.0.0.0", port=int(os.getenv("PORT", "5050")))
            """),
                "Procfile": "release: flask db upgrade\nweb: gunicorn app:app --bind 0.0.0.0:5051\n",
            },
        )
        svc = one_service(root)
        assert (svc.framework, svc.build_tool) == ("Flask", "pip")
        assert svc.port == 5050
        assert evidence_lines(svc) == [("app.py", 6), ("Procfile", 2)]
        assert svc.start_command == "gunicorn app:app --bind 0.0.0.0:5051"
        assert [d.name for d in svc.datastores] == ["redis"]

    def test_django_pipfile(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "Pipfile": '[packages]\ndjango = "==5.0"\ngunicorn = "*"\n"psycopg2-binary" = "*"\n'
                '[requires]\npython_version = "3.11"\n',
                "manage.py": "import django\n",
                "mysite/__init__.py": "",
                "mysite/wsgi.py": "application = None\n",
            },
        )
        svc = one_service(root)
        assert (svc.framework, svc.kind, svc.build_tool, svc.runtime_version) == (
            "Django",
            "web",
            "pipenv",
            "3.11",
        )
        assert svc.start_command == "gunicorn mysite.wsgi:application --bind 0.0.0.0:8000"
        assert svc.port == 8000 and svc.port_evidence[0].reason.startswith("Django default port 8000")
        assert [d.name for d in svc.datastores] == ["postgresql"]

    def test_streamlit_port_from_its_config(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "requirements.txt": "streamlit\n",
                "dashboard.py": "import streamlit as st\nst.title('hi')\n",
                ".streamlit/config.toml": "[server]\nport = 8600\n",
            },
        )
        svc = one_service(root)
        assert (svc.framework, svc.start_command, svc.port) == (
            "Streamlit",
            "streamlit run dashboard.py",
            8600,
        )
        assert evidence_lines(svc) == [(".streamlit/config.toml", 2)]

    def test_package_without_entry_point_is_a_library(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "pyproject.toml": '[project]\nname = "acme-utils"\ndependencies = ["httpx"]\n',
                "src/acme_utils/__init__.py": "",
            },
        )
        services, libraries = detect_services(root)
        assert services == [] and [lib.name for lib in libraries] == ["acme-utils"]


class TestMoreStacks:
    def test_fastify_listen_options_object(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "package.json": pkg(scripts={"start": "node app.mjs"}, dependencies={"fastify": "^4"}),
                "app.mjs": "import Fastify from 'fastify'\nconst app = Fastify()\n"
                "await app.listen({ port: 3100, host: '0.0.0.0' })\n",
            },
        )
        svc = one_service(root)
        assert (svc.framework, svc.port) == ("Fastify", 3100) and evidence_lines(svc) == [("app.mjs", 3)]

    def test_config_behind_a_symlinked_directory_is_not_read(self, tmp_path: Path) -> None:
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "config.toml").write_text("[server]\nport = 9999\n")
        root = make_repo(
            tmp_path / "repo", {"requirements.txt": "streamlit\n", "app.py": "import streamlit as st\n"}
        )
        (root / ".streamlit").symlink_to(outside, target_is_directory=True)
        svc = one_service(root)
        assert svc.port == 8501 and "default" in svc.port_evidence[0].reason
