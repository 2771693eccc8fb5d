"""A small FastAPI repository with everything the readiness checks look for."""

from __future__ import annotations

from pathlib import Path

from tests.analysis._git_fixture import commit_all, write_tree

APP = """from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
"""

FILES: dict[str, str] = {
    "pyproject.toml": '[project]\nname = "shop-api"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
    'dependencies = ["fastapi>=0.110", "uvicorn>=0.29", "psycopg[binary]>=3.1"]\n',
    "uv.lock": "version = 1\n",
    "app/__init__.py": "",
    "app/main.py": APP,
    "app/models.py": "".join(
        f'class Model{i}:\n    """Model {i}."""\n\n    name: str = \'m{i}\'\n\n\n' for i in range(20)
    ),
    "tests/test_health.py": "def test_health() -> None:\n    assert True\n",
    "README.md": "# Shop API\n\nSells things.\n",
    "Dockerfile": "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN pip install .\n"
    "RUN useradd -m app\nUSER app\nEXPOSE 8000\n"
    'CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]\n',
    ".github/workflows/ci.yml": "name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
    "    steps:\n      - run: pytest\n",
    "deploy/k8s/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop-api\n",
}


def build_fastapi_repo(root: Path, *, extra: dict[str, str] | None = None, git: bool = True) -> Path:
    """Write the fixture repository under root (committed when git is true) and return root."""
    write_tree(root, {**FILES, **(extra or {})})
    if git:
        commit_all(root)
    return root
