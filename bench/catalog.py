"""Catalog list and search latency at 100,000 entities, on SQLite and PostgreSQL (a benchmark, not a test).

For each database: migrate a fresh one (an SQLite file; a throwaway PostgreSQL from
``tests/servers/postgres.py``), bulk-insert generated entities of every kind with Korean and English
text (Core ``insert`` in batches, so the session events do not fire), build the search index with
``search_index.reindex`` (what ``timbel search reindex`` runs), then time each case ``--runs`` times
after a warm-up, each run in its own session like a request. Reported: p50/p95 in milliseconds and
the targets (p95 ≤ 20 ms for lists, ≤ 50 ms for search).

Run from the repository root::

    .venv/bin/python bench/catalog.py                          # both databases, ~10 minutes
    .venv/bin/python bench/catalog.py --databases sqlite --entities 20000 --runs 50
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from catalog_data import SHARES, generate  # noqa: E402
from sqlalchemy import Engine, func, select, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from timbel.auth.permissions import Role, permissions_for  # noqa: E402
from timbel.auth.principal import DomainRef, Principal  # noqa: E402
from timbel.catalog import component_service, search_index, search_service, system_service  # noqa: E402
from timbel.catalog.models import Domain  # noqa: E402
from timbel.catalog.search_models import SearchEntry  # noqa: E402
from timbel.core import migrate  # noqa: E402
from timbel.core.db import create_db_engine, create_session_factory, session_scope  # noqa: E402
from timbel.core.pagination import PageParams  # noqa: E402

LIST_TARGET_MS = 20.0
SEARCH_TARGET_MS = 50.0
Case = Callable[[Session, Principal], int]


def _principal(role: Role, domains: tuple[DomainRef, ...] = ()) -> Principal:
    return Principal(
        user_id=f"bench-{role.value}",
        username=f"bench-{role.value}",
        display_name="",
        email=None,
        locale="ko",
        must_change_password=False,
        roles=frozenset({role}),
        permissions=permissions_for({role}),
        domains=domains,
        credential="access_token",
    )


def _search(q: str, **filters: str) -> Case:
    def run(session: Session, principal: Principal) -> int:
        paging = PageParams(page=1, per_page=20)
        found = search_service.search(
            session, principal=principal, q=q, paging=paging, filters=search_service.SearchFilters(**filters)
        )
        return found.total

    return run


def _systems(page: int = 1, **filters: str) -> Case:
    """A page of ``system_service.list_systems`` (50 per page, sorted by name)."""
    return lambda s, p: system_service.list_systems(s, principal=p, paging=PageParams(page, 50), **filters)[1]


def _components(page: int = 1, **filters: str) -> Case:
    """A page of ``component_service.list_components`` (50 per page, sorted by name)."""
    paging = PageParams(page, 50)
    return lambda s, p: component_service.list_components(s, principal=p, paging=paging, **filters)[1]


# Each case is one call of a service function; swapping in another implementation is one line.
LIST_CASES: dict[str, Case] = {
    "systems, page 1": _systems(),
    "systems, page 100": _systems(100),
    "systems, stage=production": _systems(stage="production"),
    "components, page 1": _components(),
    "components, page 500": _components(500),
    "components, language=java": _components(language="java"),
}
SEARCH_CASES: dict[str, Case] = {
    "Korean 1 char (뱅)": _search("뱅"),
    "Korean 2 chars (장애)": _search("장애"),
    "Korean 2 chars, very common (뱅킹)": _search("뱅킹"),
    "Korean 3+ chars (게이트웨이)": _search("게이트웨이"),
    "Korean 2 words (이체 한도)": _search("이체 한도"),
    "English word (payment)": _search("payment"),
    "English 2 chars (db)": _search("db"),
    "Korean 2 chars + kind=component": _search("장애", kind="component"),
}


@dataclass
class Result:
    """Timings of one case for one caller on one database."""

    database: str
    group: str
    case: str
    caller: str
    total: int
    p50_ms: float
    p95_ms: float
    target_ms: float

    @property
    def ok(self) -> bool:
        """Whether p95 meets the target."""
        return self.p95_ms <= self.target_ms


def _time(
    factory: sessionmaker[Session], case: Case, principal: Principal, runs: int
) -> tuple[int, list[float]]:
    total = 0
    for _ in range(max(5, runs // 10)):  # warm-up: caches, prepared plans
        with factory() as session:
            total = case(session, principal)
    samples: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        with factory() as session:
            case(session, principal)
        samples.append((time.perf_counter() - start) * 1000)
    return total, samples


def _percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


@contextmanager
def _database(kind: str, work: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{work / 'catalog-bench.db'}"
        return
    from tests.servers.postgres import start_postgres

    server = start_postgres(work)
    try:
        yield server.url
    finally:
        server.stop()


def _sizes(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            query = (
                "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class "
                "WHERE relname IN ('search_entries', 'ix_search_entries_text_trgm', "
                "'ix_search_entries_grams', 'components', 'documents')"
            )
            sizes = {str(r[0]): str(r[1]) for r in conn.execute(text(query))}
            sizes["database"] = str(
                conn.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))
            )
            return sizes
        path = engine.url.database or ""
        sizes = {"database": f"{os.path.getsize(path) / 2**20:.0f} MB"}
        try:
            rows = conn.execute(text("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")).all()
        except Exception:
            return sizes
        groups: dict[str, int] = {}
        for name, size in rows:
            key = re.sub(r"_(config|content|data|docsize|idx)$", "", str(name))
            if key.startswith(("search_", "components", "documents")):
                groups[key] = groups.get(key, 0) + int(size)
        sizes.update({k: f"{v / 2**20:.0f} MB" for k, v in sorted(groups.items())})
        return sizes


def run_database(kind: str, *, entities: int, runs: int, seed: int, work: Path) -> dict[str, Any]:
    """Fill one fresh database, index it, and time every case."""
    with _database(kind, work) as url:
        engine = create_db_engine(url)
        try:
            migrate.upgrade(engine)
            factory = create_session_factory(engine)
            started = time.perf_counter()
            counts = generate(engine, entities=entities, seed=seed)
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            with session_scope(factory) as session:
                stats = search_index.reindex(session)
            indexed = time.perf_counter() - started
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
            with factory() as session:
                rows = session.scalar(select(func.count()).select_from(SearchEntry)) or 0
                kb = session.execute(
                    select(Domain.id, Domain.code, Domain.name).order_by(Domain.code)
                ).first()
            assert kb is not None and rows == sum(counts.values()), (rows, counts)
            admin = _principal(Role.admin)
            viewer = _principal(Role.viewer, (DomainRef(id=kb.id, code=kb.code, name=kb.name),))
            results: list[Result] = []
            for group, cases, target in (
                ("list", LIST_CASES, LIST_TARGET_MS),
                ("search", SEARCH_CASES, SEARCH_TARGET_MS),
            ):
                for name, case in cases.items():
                    for caller, principal in (("admin", admin), ("viewer (1 of 20 domains)", viewer)):
                        total, samples = _time(factory, case, principal, runs)
                        results.append(
                            Result(
                                kind,
                                group,
                                name,
                                caller,
                                total,
                                round(_percentile(samples, 50), 2),
                                round(_percentile(samples, 95), 2),
                                target,
                            )
                        )
                        print(
                            f"  {kind:10} {group:6} {name:34} {caller:24} {results[-1].p50_ms:7.2f} "
                            f"{results[-1].p95_ms:7.2f} ms  ({total} matches)",
                            flush=True,
                        )
            return {
                "database": kind,
                "version": _version(engine),
                "counts": counts,
                "search_rows": rows,
                "written": stats.written,
                "load_seconds": round(loaded, 1),
                "index_seconds": round(indexed, 1),
                "sizes": _sizes(engine),
                "results": [r.__dict__ | {"ok": r.ok} for r in results],
            }
        finally:
            engine.dispose()


def _version(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with engine.connect() as conn:
        return str(conn.scalar(text("SHOW server_version")))


def machine() -> dict[str, Any]:
    """The CPU model, core count, memory, OS and Python of this run."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    model = re.search(r"^Model name:\s*(.+)$", lscpu, re.M)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.M)
    return {
        "cpu": model.group(1).strip() if model else platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem.group(1)) / 2**20, 1) if mem else None,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def markdown(report: dict[str, Any]) -> str:
    """Render the results as the table recorded in bench/README.md."""
    lines = [
        "| Database | Case | Caller | Matches | p50 ms | p95 ms | Target p95 |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for db in report["databases"]:
        for r in db["results"]:
            verdict = "✅" if r["ok"] else "❌"
            lines.append(
                f"| {db['version']} | {r['group']}: {r['case']} | {r['caller']} | {r['total']:,} | "
                f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | ≤ {r['target_ms']:.0f} {verdict} |"
            )
    return "\n".join(lines)


def main() -> int:
    """Run the benchmark and print (and optionally save) the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entities", type=int, default=100_000, help="catalog entities to generate")
    parser.add_argument("--runs", type=int, default=200, help="timed runs per case and caller")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--output", type=Path, help="write BASE.json and BASE.md")
    args = parser.parse_args()
    report: dict[str, Any] = {
        "machine": machine(),
        "entities": args.entities,
        "runs": args.runs,
        "shares": SHARES,
    }
    report["databases"] = []
    with tempfile.TemporaryDirectory(prefix="timbel-catalog-bench-") as tmp:
        for kind in args.databases.split(","):
            print(f"{kind}: generating {args.entities:,} entities, indexing, timing …", flush=True)
            db = run_database(
                kind.strip(), entities=args.entities, runs=args.runs, seed=args.seed, work=Path(tmp)
            )
            took = f"loaded in {db['load_seconds']} s, indexed in {db['index_seconds']} s"
            print(f"  {took}; sizes {db['sizes']}", flush=True)
            report["databases"].append(db)
    table = markdown(report)
    print(table)
    print(json.dumps(report["machine"]))
    if args.output:
        args.output.with_suffix(".json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
        args.output.with_suffix(".md").write_text(table + "\n")
    missed = [r for db in report["databases"] for r in db["results"] if not r["ok"]]
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
