"""Deployments "what runs where": matrix, page, dashboard and timeline latency (a benchmark, not a test).

For each database (a fresh SQLite file in an embedded data directory; a throwaway PostgreSQL from
``tests/servers/postgres.py`` with the same data directory for the GitOps repository and the secret key):

- migrate it and bulk-insert (Core ``insert``, no session events) ``--domains`` domains and ``--systems``
  systems, every domain with the default environments (dev → stg → prod, GitOps only — created by
  ``service.environments_for`` as on first use), ``--releases`` releases per system (two or three
  services each) and about ``--deployments`` deployments per system spread over the environments
  (most succeeded, some failed or rolled back, the last one of a few prod cells waiting for approval and
  a few running);
- commit, in one commit of the embedded GitOps repository, the values file of every cell's current
  release as Timbel writes it (``values.apply_release``), with about 2 % edited to another tag (drift);
- create an administrator, run ``ANALYZE``, and serve Timbel with uvicorn on 127.0.0.1 (the same command
  line as ``bench/api_baseline.py``, ``bench/app_timbel.py``'s factory, access log on as shipped);
- sign in (``POST /api/v1/auth/login`` for the API, the ``/login`` form for the pages) and time every case
  ``--runs`` times, one request after another on a keep-alive connection, after ``--warmup`` requests.

Also counted, in the benchmark's own process: the SQL statements each read function issues for one call
(the matrix, the dashboard snapshot, a timeline). ``--profile`` prints a cProfile summary of one in-process
``read_service.matrix`` call per database. Our target (the architecture names none for this page): one
domain's matrix (150 cells) p95 ≤ 200 ms at 1,000 systems; the process exits non-zero when it is missed.
All domains at once (3,000 cells, megabytes of HTML) is measured and recorded, without a target.

Run from the repository root::

    .venv/bin/python bench/deployments_matrix.py                     # SQLite and PostgreSQL, ~10 minutes
    .venv/bin/python bench/deployments_matrix.py --databases sqlite --systems 200 --runs 20
    .venv/bin/python bench/deployments_matrix.py --profile --output /tmp/deployments-matrix
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import platform
import pstats
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from sqlalchemy import Engine, event, func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from timbel.app import create_app  # noqa: E402
from timbel.audit.service import AuditContext  # noqa: E402
from timbel.auth import service as user_service  # noqa: E402
from timbel.auth.permissions import Role, permissions_for  # noqa: E402
from timbel.auth.principal import Principal  # noqa: E402
from timbel.auth.schemas import UserCreate  # noqa: E402
from timbel.catalog.models import Domain, System  # noqa: E402
from timbel.core import migrate  # noqa: E402
from timbel.core.db import session_scope  # noqa: E402
from timbel.core.settings import Settings, prepare_settings  # noqa: E402
from timbel.deployments import dashboard, read_service, service  # noqa: E402
from timbel.deployments.models import (  # noqa: E402
    ApprovalRequest,
    Deployment,
    DeploymentKind,
    DeploymentState,
    Release,
)
from timbel.deployments.values import apply_release  # noqa: E402
from timbel.gitops import CommitMessage, commit_files, push  # noqa: E402
from timbel.gitops import service as gitops_service  # noqa: E402

HOST = "127.0.0.1"
ADMIN = "bench-admin"
PASSWORD = "bench-Password-0123456789"  # noqa: S105 - a throwaway benchmark account
MATRIX_TARGET_MS = 200.0  # one domain's matrix, API and page
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
ENVS = ("dev", "stg", "prod")
SERVICES = ("api", "web", "worker")
# Of the deployments of one system: a share per environment (the rest in dev) and per ending.
ENV_SHARE = {"stg": 0.33, "prod": 0.20}
ENDINGS = (
    (DeploymentState.succeeded, 0.86),
    (DeploymentState.failed, 0.09),
    (DeploymentState.rolled_back, 0.05),
)
DRIFT_SHARE = 0.02
PENDING_EVERY = 50  # one system in 50 has a prod deployment waiting for approval
RUNNING_EVERY = 200  # one system in 200 has a deployment running in stg
BATCH = 2_000


# --------------------------------------------------------------------------- data


def _stamp(base: datetime, minutes: float) -> datetime:
    return base + timedelta(minutes=minutes)


def _digest(rng: random.Random) -> str:
    return "sha256:" + "".join(rng.choice("0123456789abcdef") for _ in range(64))


def values_of(images: list[dict[str, Any]]) -> dict[str, Any]:
    """A release's ``values`` block from its images."""
    keys = ("repository", "tag", "digest")
    return {"services": {i["service"]: {"image": {k: i[k] for k in keys}} for i in images}}


def _deployment(
    *, system: dict[str, Any], env: dict[str, Any], release: dict[str, Any], state: DeploymentState,
    created: datetime, previous: str | None, actor: str, kind: DeploymentKind,
) -> dict[str, Any]:  # fmt: skip
    terminal = state in (DeploymentState.succeeded, DeploymentState.failed, DeploymentState.rolled_back)
    started = created + timedelta(seconds=20) if state is not DeploymentState.pending_approval else None
    return {
        "id": str(uuid.uuid4()),
        "system_id": system["id"],
        "domain_id": system["domain_id"],
        "environment_id": env["id"],
        "environment": env["name"],
        "release_id": release["id"],
        "previous_release_id": previous,
        "kind": kind.value,
        "state": state.value,
        "target_kind": "gitops",
        "reason": f"ship {release['version']}",
        "outcome": ""
        if state is DeploymentState.succeeded
        else ("" if not terminal else "verification failed"),
        "verified": state is DeploymentState.succeeded,
        "health": "Healthy" if state is DeploymentState.succeeded else "",
        "requested_by": actor,
        "gitops_repository": "default",
        "gitops_sha": None if state is DeploymentState.pending_approval else f"{uuid.uuid4().hex}{'0' * 8}",
        "created_at": created,
        "approved_at": None if state is DeploymentState.pending_approval else created,
        "started_at": started,
        "finished_at": created + timedelta(seconds=95) if terminal else None,
        "heartbeat_at": started,
        "attempts": 1 if started else 0,
    }


def generate(
    factory: Callable[[], Session], settings: Settings, *, domains: int, systems: int, releases: int,
    deployments: int, seed: int,
) -> dict[str, int]:  # fmt: skip
    """Insert the catalog, environments, releases and deployments; commit the values files; counts."""
    rng = random.Random(seed)
    base = datetime(2026, 5, 1, tzinfo=UTC)
    domain_rows = [
        {"id": str(uuid.uuid4()), "code": f"d{n:02d}", "name": f"Domain {n:02d}", "industry": "finance"}
        for n in range(1, domains + 1)
    ]
    system_rows = [
        {
            "id": str(uuid.uuid4()),
            "domain_id": domain_rows[n % domains]["id"],
            "name": f"System {n:05d}",
            "slug": f"sys-{n:05d}",
            "stage": rng.choice(("development", "staging", "production")),
            "repo_url": f"https://git.example.com/bench/sys-{n:05d}.git",
        }
        for n in range(systems)
    ]
    with session_scope(factory) as session:
        session.execute(insert(Domain), domain_rows)
        for batch in range(0, len(system_rows), BATCH):
            session.execute(insert(System), system_rows[batch : batch + BATCH])
    with session_scope(factory) as session:  # the defaults, as on a domain's first use
        envs = {
            d["id"]: [
                {"id": e.id, "name": e.name} for e in service.environments_for(session, domain_id=d["id"])
            ]
            for d in domain_rows
        }
    release_rows: list[dict[str, Any]] = []
    deployment_rows: list[dict[str, Any]] = []
    approvals: list[dict[str, Any]] = []
    current: dict[tuple[str, str], dict[str, Any]] = {}  # (system id, env) -> release row
    for n, system in enumerate(system_rows):
        services = SERVICES[: rng.choice((2, 2, 3))]
        mine = []
        for r in range(releases):
            version = f"1.{r}.{rng.randint(0, 9)}"
            images = [
                {"service": s, "repository": f"registry.example.com/{system['slug']}/{s}", "tag": version}
                | {"digest": _digest(rng)}
                for s in services
            ]
            release = {
                "id": str(uuid.uuid4()),
                "system_id": system["id"],
                "version": version,
                "source_commit": uuid.uuid4().hex + "0" * 8,
                "images": images,
                "values": values_of(images),
                "chart_version": "0.1.0",
                "created_by": "ci",
                "created_at": _stamp(base, r * 1440 + n),
            }  # fmt: skip
            mine.append(release)
        release_rows.extend(mine)
        # Deployments in time order: release r goes to dev (often retried), later some go on to stg, prod.
        by_env = {
            "prod": round(deployments * ENV_SHARE["prod"]),
            "stg": round(deployments * ENV_SHARE["stg"]),
        }
        by_env["dev"] = deployments - by_env["prod"] - by_env["stg"]
        env_of = {e["name"]: e for e in envs[system["domain_id"]]}
        last_good: dict[str, str] = {}
        for env_name in ENVS:
            count = by_env[env_name]
            for k in range(count):
                release = mine[min(releases - 1, k * releases // count)]
                state = rng.choices([s for s, _ in ENDINGS], weights=[w for _, w in ENDINGS])[0]
                kind = DeploymentKind.deploy if env_name == "dev" else DeploymentKind.promote
                created = _stamp(base, (k * releases // count) * 1440 + ENVS.index(env_name) * 180 + k + n)
                row = _deployment(
                    system=system, env=env_of[env_name], release=release, state=state, created=created,
                    previous=last_good.get(env_name), actor=f"ops{n % 17}", kind=kind,
                )  # fmt: skip
                deployment_rows.append(row)
                if state is DeploymentState.succeeded:
                    last_good[env_name] = release["id"]
                    current[(system["id"], env_name)] = release
        late = _stamp(base, releases * 1440 + n)
        if n % PENDING_EVERY == 0:
            row = _deployment(
                system=system, env=env_of["prod"], release=mine[-1], state=DeploymentState.pending_approval,
                created=late, previous=last_good.get("prod"), actor=f"ops{n % 17}",
                kind=DeploymentKind.request,
            )  # fmt: skip
            deployment_rows.append(row)
            approvals.append(
                {
                    "id": str(uuid.uuid4()),
                    "deployment_id": row["id"],
                    "approver_roles": ["executive", "admin"],
                }
                | {"expires_at": datetime.now(UTC) + timedelta(days=30), "created_at": late}
            )
        if n % RUNNING_EVERY == 1:
            deployment_rows.append(
                _deployment(
                    system=system,
                    env=env_of["stg"],
                    release=mine[-1],
                    state=DeploymentState.syncing,
                    created=late,
                    previous=last_good.get("stg"),
                    actor=f"ops{n % 17}",
                    kind=DeploymentKind.promote,
                )
            )
    with session_scope(factory) as session:
        for model, rows in (
            (Release, release_rows),
            (Deployment, deployment_rows),
            (ApprovalRequest, approvals),
        ):
            for batch in range(0, len(rows), BATCH):
                session.execute(insert(model), rows[batch : batch + BATCH])
    drifted = _commit_values(factory, settings, domain_rows, system_rows, current, rng)
    return {
        "domains": len(domain_rows),
        "systems": len(system_rows),
        "environments": sum(len(v) for v in envs.values()),
        "releases": len(release_rows),
        "deployments": len(deployment_rows),
        "pending_approvals": len(approvals),
        "values_files": len(current),
        "values_files_drifted": drifted,
    }


def _commit_values(
    factory: Callable[[], Session], settings: Settings, domain_rows: list[dict[str, Any]],
    system_rows: list[dict[str, Any]], current: dict[tuple[str, str], dict[str, Any]], rng: random.Random,
) -> int:  # fmt: skip
    """One commit with every cell's values file (as Timbel writes it), a few edited to another tag."""
    domains = {d["id"]: Domain(id=d["id"], code=d["code"], name=d["name"]) for d in domain_rows}
    files: dict[str, str] = {}
    drifted = 0
    for system in system_rows:
        row = System(id=system["id"], slug=system["slug"], domain_id=system["domain_id"])
        for env in ENVS:
            release = current.get((system["id"], env))
            if release is None:
                continue
            body = apply_release(None, release=Release(images=release["images"]), system=system["slug"])
            if rng.random() < DRIFT_SHARE:
                body = body.replace(f"tag: {release['version']}", f"tag: {release['version']}-hotfix", 1)
                drifted += 1
            files[
                f"{gitops_service.system_prefix(domains[system['domain_id']], row)}/envs/{env}/values.yaml"
            ] = body
    with session_scope(factory) as session:
        repo_row = gitops_service.default_repository(session, settings=settings)
        repo = gitops_service.open_row(repo_row, settings=settings)
    message = CommitMessage(
        what="bench: values files", who="bench", why="benchmark data", operation_id="bench"
    )
    commit_files(repo, files=files, message=message, allow_overwrite_hand_edits=True)
    push(repo, allow_overwrite_hand_edits=True)
    return drifted


# --------------------------------------------------------------------------- server


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    """Timbel (``bench/app_timbel.py``'s factory) in its own uvicorn process, output to a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        child = {k: v for k, v in os.environ.items() if not k.startswith("TIMBEL_")}
        child["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), child.get("PYTHONPATH", "")) if p)
        child.update(env)
        command = [
            sys.executable, "-m", "uvicorn", "--factory", "bench.app_timbel:create", "--host", HOST,
            "--port", str(self.port), "--workers", "1", "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            command, cwd=REPO, env=child, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if httpx.get(self.base + "/healthz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"Timbel not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


def api_client(base: str) -> httpx.Client:
    """A keep-alive client with the administrator's bearer token (``POST /api/v1/auth/login``)."""
    client = httpx.Client(base_url=base, timeout=120)
    answer = client.post("/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD})
    answer.raise_for_status()
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return client


def page_client(base: str) -> httpx.Client:
    """A keep-alive client signed in through the ``/login`` form (session cookie)."""
    client = httpx.Client(base_url=base, timeout=120)
    match = CSRF_INPUT.search(client.get("/login").text)
    assert match is not None, "no CSRF token on /login"
    form = {"username": ADMIN, "password": PASSWORD, "csrf_token": match.group(1), "next": "/"}
    answer = client.post("/login", data=form, follow_redirects=False)
    assert answer.status_code == 303, (answer.status_code, answer.text[:500])
    return client


# --------------------------------------------------------------------------- timing


@dataclass
class Result:
    """Latency of one case on one database."""

    database: str
    case: str
    path: str
    bytes: int
    p50_ms: float
    p95_ms: float
    statements: int | None
    target_ms: float | None

    @property
    def ok(self) -> bool:
        """Whether p95 meets the target (cases without one always do)."""
        return self.target_ms is None or self.p95_ms <= self.target_ms


def _percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def time_get(client: httpx.Client, path: str, *, runs: int, warmup: int) -> tuple[int, list[float]]:
    """Sequential GETs; every answer must be 200. Returns the body size and the timings in ms."""
    size = 0
    for _ in range(warmup):
        answer = client.get(path)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path} answered {answer.status_code}: {answer.text[:500]}")
        size = len(answer.content)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        answer = client.get(path)
        samples.append((time.perf_counter() - start) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path} answered {answer.status_code}: {answer.text[:500]}")
    return size, samples


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements executed on ``engine`` inside the block."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def admin_principal(user_id: str) -> Principal:
    """The administrator as the read functions see it."""
    return Principal(
        user_id=user_id, username=ADMIN, display_name="", email=None, locale="en", must_change_password=False,
        roles=frozenset({Role.admin}), permissions=permissions_for({Role.admin}), domains=(),
        credential="access_token",
    )  # fmt: skip


def statement_counts(app: Any, principal: Principal, *, domain: str, system_id: str) -> dict[str, int]:
    """SQL statements per read call, in this process (a warm call each, as a request would make it)."""
    calls: dict[str, Callable[[Session], Any]] = {
        "matrix": lambda s: read_service.matrix(s, principal=principal, settings=app.state.settings),
        "matrix_domain": lambda s: read_service.matrix(
            s, principal=principal, settings=app.state.settings, domain=domain
        ),
        "dashboard": lambda s: dashboard.snapshot(s, principal=principal),
        "timeline": lambda s: read_service.timeline(s, system=s.get(System, system_id)),  # type: ignore[arg-type]
    }
    counts = {}
    for name, call in calls.items():
        with app.state.session_factory() as session:
            call(session)
        with counting(app.state.engine) as seen, app.state.session_factory() as session:
            call(session)
        counts[name] = len(seen)
    return counts


def profile_matrix(app: Any, principal: Principal, *, top: int = 25) -> str:
    """cProfile of one in-process ``read_service.matrix`` call (all domains), by cumulative time."""
    with app.state.session_factory() as session:
        read_service.matrix(session, principal=principal, settings=app.state.settings)
    profiler = cProfile.Profile()
    with app.state.session_factory() as session:
        profiler.enable()
        read_service.matrix(session, principal=principal, settings=app.state.settings)
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# --------------------------------------------------------------------------- one database


@contextmanager
def _database(kind: str, work: Path) -> Iterator[str | None]:
    if kind == "sqlite":
        yield None  # the embedded default: timbel.db in the data directory
        return
    from tests.servers.postgres import start_postgres

    server = start_postgres(work)
    try:
        yield server.url
    finally:
        server.stop()


def _version(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with engine.connect() as conn:
        return f"PostgreSQL {conn.scalar(text('SHOW server_version'))}"


def run_database(kind: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Fill one fresh database, serve it, and time every case."""
    data_dir = work / f"data-{kind}"
    with _database(kind, work) as url:
        settings = prepare_settings(Settings(env="development", data_dir=data_dir, database_url=url))
        app = create_app(settings, run_jobs=False)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # create_app set up INFO logging
        engine: Engine = app.state.engine
        try:
            migrate.upgrade(engine)
            started = time.perf_counter()
            counts = generate(
                app.state.session_factory, settings, domains=args.domains, systems=args.systems,
                releases=args.releases, deployments=args.deployments, seed=args.seed,
            )  # fmt: skip
            loaded = time.perf_counter() - started
            with session_scope(app.state.session_factory) as session:
                admin = user_service.create(
                    session,
                    data=UserCreate(
                        username=ADMIN, password=PASSWORD, roles=["admin"], must_change_password=False
                    ),
                    min_password_length=settings.auth.password_min_length,
                    ctx=AuditContext(),
                )
                admin_id = admin.id
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
            with app.state.session_factory() as session:
                domain = session.scalar(select(Domain.code).order_by(Domain.code))
                busiest = session.execute(
                    select(Deployment.system_id, func.count())
                    .group_by(Deployment.system_id)
                    .order_by(func.count().desc(), Deployment.system_id)
                    .limit(1)
                ).one()
            assert domain is not None
            system_id = str(busiest[0])
            principal = admin_principal(admin_id)
            statements = statement_counts(app, principal, domain=domain, system_id=system_id)
            profile = profile_matrix(app, principal) if args.profile else ""
            env = {"TIMBEL_DATA_DIR": str(data_dir), **({"TIMBEL_DATABASE_URL": url} if url else {})}
            server = Server(env, work / f"server-{kind}.log")
            try:
                server.wait_ready()
                api, page = api_client(server.base), page_client(server.base)
                timeline = f"/api/v1/systems/{system_id}/deployments/timeline"
                cases = [
                    ("API matrix, all domains", api, "/api/v1/deployments/matrix", "matrix", None),
                    ("API matrix, one domain", api, f"/api/v1/deployments/matrix?domain={domain}",
                     "matrix_domain", MATRIX_TARGET_MS),
                    ("page /deployments, all domains", page, "/deployments", "matrix", None),
                    ("page /deployments, one domain", page, f"/deployments?domain={domain}", "matrix_domain",
                     MATRIX_TARGET_MS),
                    ("API dashboard", api, "/api/v1/dashboard", "dashboard", None),
                    (f"API timeline ({busiest[1]} deployments)", api, timeline, "timeline", None),
                    ("API timeline, env=prod", api, timeline + "?env=prod", None, None),
                ]  # fmt: skip
                results = []
                for name, client, path, counted, target in cases:
                    size, samples = time_get(client, path, runs=args.runs, warmup=args.warmup)
                    result = Result(
                        kind, name, path, size, round(_percentile(samples, 50), 1),
                        round(_percentile(samples, 95), 1), statements.get(counted or ""), target,
                    )  # fmt: skip
                    results.append(result)
                    print(
                        f"  {kind:10} {name:36} p50 {result.p50_ms:8.1f}  p95 {result.p95_ms:8.1f} ms  "
                        f"{size / 1024:8.0f} KiB  {result.statements or '-'} statements",
                        flush=True,
                    )
                api.close()
                page.close()
            finally:
                server.stop()
            return {
                "database": kind,
                "version": _version(engine),
                "counts": counts,
                "load_seconds": round(loaded, 1),
                "statements": statements,
                "results": [asdict(r) | {"ok": r.ok} for r in results],
                "profile": profile,
            }
        finally:
            engine.dispose()


# --------------------------------------------------------------------------- report


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
        "load_average": os.getloadavg(),
    }


def markdown(report: dict[str, Any]) -> str:
    """The results as the table recorded in bench/README.md (p95 with p50 in brackets)."""
    dbs = report["databases"]
    header = "| Case | " + " | ".join(f"{db['version']} p95 (p50) ms" for db in dbs) + " | SQL statements |"
    lines = [header, "|---|" + "---:|" * len(dbs) + "---:|"]
    for index, first in enumerate(dbs[0]["results"]):
        cells = []
        for db in dbs:
            r = db["results"][index]
            mark = "" if r["ok"] else " ❌"
            cells.append(f"{r['p95_ms']:,.1f} ({r['p50_ms']:,.1f}){mark}")
        count = first["statements"]
        lines.append(f"| {first['case']} | " + " | ".join(cells) + f" | {'' if count is None else count} |")
    return "\n".join(lines)


def main() -> int:
    """Run the benchmark and print (and optionally save) the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--systems", type=int, default=1_000)
    parser.add_argument("--domains", type=int, default=20)
    parser.add_argument("--releases", type=int, default=10, help="releases per system")
    parser.add_argument("--deployments", type=int, default=30, help="deployments per system (about)")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per case first")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of one matrix call per database"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (server logs)")
    parser.add_argument("--output", type=Path, help="write BASE.json and BASE.md")
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}}
    report["databases"] = []
    work = Path(tempfile.mkdtemp(prefix="timbel-deployments-bench-"))
    try:
        for kind in (k.strip() for k in args.databases.split(",")):
            print(f"{kind}: {args.systems:,} systems in {args.domains} domains, loading …", flush=True)
            db = run_database(kind, args, work)
            print(f"  loaded in {db['load_seconds']} s: {db['counts']}", flush=True)
            if db["profile"]:
                print(db["profile"], flush=True)
            report["databases"].append(db)
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    table = markdown(report)
    print(table)
    print(json.dumps(report["machine"]))
    if args.output:
        args.output.with_suffix(".json").write_text(
            json.dumps(report, ensure_ascii=False, indent=2, default=str)
        )
        args.output.with_suffix(".md").write_text(table + "\n")
    missed = [r for db in report["databases"] for r in db["results"] if not r["ok"]]
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
