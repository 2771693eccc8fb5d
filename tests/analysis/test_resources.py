"""Suggested Kubernetes resources: the documented table, size bands, replicas, and the monorepo wiring."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.analysis.service_fixtures import make_repo, package_json
from timbel.analysis import resources
from timbel.analysis.report import Service, ServiceKind
from timbel.analysis.resources import SourceSize, estimate, measure, size_band
from timbel.analysis.services import detect_services

QUANTITY_CPU = re.compile(r"^\d+m$")
QUANTITY_MEM = re.compile(r"^\d+(Mi|Gi)$")


def _svc(language: str, framework: str | None = None, kind: ServiceKind = "api") -> Service:
    return Service(name="x", path=".", kind=kind, language=language, framework=framework)


@pytest.mark.parametrize(
    ("language", "framework", "expected"),
    [
        ("Java", "Spring Boot", ("500m", "2000m", "768Mi", "1Gi")),
        ("Kotlin", "Quarkus", ("500m", "2000m", "768Mi", "1Gi")),
        ("Go", "gin", ("100m", "500m", "64Mi", "256Mi")),
        ("Rust", "axum", ("100m", "500m", "64Mi", "256Mi")),
        ("TypeScript", "Express", ("250m", "1000m", "256Mi", "512Mi")),
        ("Python", "FastAPI", ("250m", "1000m", "256Mi", "512Mi")),
        ("C#", "ASP.NET Core", ("250m", "1000m", "256Mi", "512Mi")),
        ("HTML", "Hugo", ("10m", "100m", "32Mi", "64Mi")),
        ("Elixir", None, ("250m", "1000m", "256Mi", "512Mi")),
    ],
)
def test_table_lookup_by_runtime_for_a_medium_service(
    language: str, framework: str | None, expected: tuple[str, str, str, str]
) -> None:
    res = estimate(_svc(language, framework), "medium")
    assert (res.cpu_request, res.cpu_limit, res.memory_request, res.memory_limit) == expected


def test_jvm_is_heavier_than_node_which_is_heavier_than_go_and_static() -> None:
    def mib(q: str | None) -> int:
        assert q is not None
        return int(q[:-2]) * (1024 if q.endswith("Gi") else 1)

    for band in ("small", "medium", "large"):
        mem = [mib(estimate(_svc(lang, fw), band).memory_request) for lang, fw in (
            ("Java", None), ("JavaScript", None), ("Go", None), ("HTML", "static"))]  # fmt: skip
        assert mem == sorted(mem, reverse=True) and len(set(mem)) == 4


def test_every_table_entry_is_a_kubernetes_quantity_and_request_fits_the_limit() -> None:
    for bands in resources.TABLE.values():
        for cpu_req, cpu_lim, mem_req, mem_lim in bands.values():
            assert QUANTITY_CPU.match(cpu_req) and QUANTITY_CPU.match(cpu_lim)
            assert QUANTITY_MEM.match(mem_req) and QUANTITY_MEM.match(mem_lim)
            assert int(cpu_req[:-1]) <= int(cpu_lim[:-1])


def test_size_bands_take_the_larger_of_files_and_bytes() -> None:
    assert size_band(10, 50_000) == "small"
    assert size_band(150, 50_000) == "medium"
    assert size_band(10, 2 << 20) == "medium"
    assert size_band(5000, 1000) == "large"
    assert size_band(10, 50 << 20) == "large"
    big = estimate(_svc("Go"), SourceSize(files=3000, bytes=1))
    assert (big.cpu_request, big.memory_limit) == ("250m", "512Mi")
    assert estimate(_svc("Go")).memory_request == "64Mi"  # unknown size counts as medium


def test_heavy_frameworks_move_one_band_up_and_large_stays_large() -> None:
    assert estimate(_svc("Ruby", "Rails", "web"), "small") == estimate(_svc("Ruby", "Sinatra"), "medium")
    assert estimate(_svc("Python", "Django", "web"), "large").memory_limit == "1Gi"


def test_replicas_two_for_serving_kinds_one_for_workers_and_jobs() -> None:
    kinds: list[ServiceKind] = ["web", "api", "grpc", "frontend", "worker", "job"]
    assert [estimate(_svc("Go", kind=k)).replicas for k in kinds] == [2, 2, 2, 2, 1, 1]


def test_measure_counts_source_files_only_and_not_symlink_targets(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x" * 100)
    (tmp_path / "logo.png").write_bytes(b"\x89PNG" * 1000)
    (tmp_path / "big.txt").write_text("y" * 5000)
    (tmp_path / "link.py").symlink_to(tmp_path / "big.txt")
    size = measure(tmp_path, ["a.py", "logo.png", "big.txt", "link.py", "missing.py"])
    assert size == SourceSize(files=2, bytes=100)


def test_every_service_of_a_mixed_monorepo_gets_resources(tmp_path: Path) -> None:
    root = make_repo(
        tmp_path,
        {
            "web/package.json": package_json(dependencies={"express": "4"}, scripts={"start": "node i.js"}),
            "web/i.js": "app.listen(3000)\n",
            "api/requirements.txt": "fastapi\nuvicorn\n",
            "api/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
            "gw/go.mod": "module acme/gw\n\ngo 1.22\n",
            "gw/main.go": 'package main\nimport "net/http"\n'
            'func main() { http.ListenAndServe(":8081", nil) }\n',
            "shop/composer.json": '{"require": {"laravel/framework": "^11.0"}}\n',
            "shop/artisan": "#!/usr/bin/env php\n",
            "edge/Cargo.toml": '[package]\nname = "edge"\nversion = "0.1.0"\n[dependencies]\naxum = "0.7"\n',
            "edge/src/main.rs": "fn main() {}\n",
            "orders/Orders.csproj": '<Project Sdk="Microsoft.NET.Sdk.Web"><PropertyGroup>'
            "<TargetFramework>net8.0</TargetFramework></PropertyGroup></Project>\n",
            "worker/Gemfile": 'gem "rack"\n',
            "worker/config.ru": "run ->(env) { [200, {}, ['ok']] }\n",
            "site/index.html": "<p>hi</p>\n",
        },
    )
    services, _ = detect_services(root)
    by_path = {s.path: s for s in services}
    assert set(by_path) == {"web", "api", "gw", "shop", "edge", "orders", "worker", "site"}
    for svc in services:
        assert svc.resources is not None and svc.resources == estimate(svc, "small"), svc.path
    assert by_path["gw"].resources and by_path["gw"].resources.memory_request == "32Mi"
    assert by_path["site"].resources and by_path["site"].resources.memory_limit == "32Mi"
    assert by_path["web"].resources and by_path["web"].resources.replicas == 2
