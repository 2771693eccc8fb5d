"""Webhook receiver throughput: signed GitHub push deliveries into a served Timbel (a benchmark, not a test).

Starts ``timbel serve`` as its own process on 127.0.0.1 with a fresh embedded data directory (SQLite,
in-process job consumer), creates a GitHub instance with a webhook secret through the integrations
service, then sends ``--deliveries`` signed ``push`` deliveries — about ``--duplicates`` of them copies of
earlier delivery ids, like GitHub's redeliveries — over ``--connections`` keep-alive connections at once
(a small asyncio HTTP/1.1 client, so the load generator costs little of the 2 cores it shares with the
server). Reported: deliveries/s while sending, p50/p95/p99 latency, then the time until the worker has
processed everything. Checked afterwards, in the database:

- zero lost: every unique delivery id is stored exactly once and ``processed``;
- zero processed twice: every delivery has ``attempts == 1`` and exactly two state changes
  (received → processing → processed), every unique id got one ``202``, every copy ``200 duplicate``.

Run from the repository root::

    .venv/bin/python bench/webhooks.py                        # 5,000 deliveries, 10 % copies
    .venv/bin/python bench/webhooks.py --deliveries 20000 --connections 64 --output /tmp/webhooks

Until ``app.py`` includes the webhook router, the server is started through ``bench/webhooks.py serve``,
which does what ``timbel serve`` does and adds the router and jobs (the report says which was used).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import platform
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
SECRET = "bench-webhook-secret-0123456789"  # noqa: S105 - a throwaway benchmark secret
SECRET_KEY = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105
TARGET_PER_SECOND = 500.0


class BenchError(RuntimeError):
    """The benchmark could not run or a check failed."""


# --------------------------------------------------------------------------- server


def wired() -> bool:
    """True when ``timbel serve`` already serves the webhook receivers."""
    return "webhooks_router" in (REPO / "src" / "timbel" / "app.py").read_text(encoding="utf-8")


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def child_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Our environment without TIMBEL_* overrides, plus the benchmark's data directory and secret."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMBEL_")}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), str(REPO / "src"), env.get("PYTHONPATH", "")) if p
    )
    env.update({"TIMBEL_DATA_DIR": str(data_dir), "TIMBEL_SECRET_KEY": SECRET_KEY, **(extra or {})})
    return env


def serve_here(port: int) -> None:
    """``timbel serve`` plus the webhook router and jobs (used while app.py does not include them)."""
    import timbel.app as app_module
    import timbel.webhooks.jobs  # noqa: F401  (declares the jobs before the runtime is built)
    from timbel import cli
    from timbel.webhooks.routes import router

    create = app_module.create_app

    def create_with_webhooks(*args: Any, **kwargs: Any) -> Any:
        app = create(*args, **kwargs)
        app.include_router(router)
        return app

    app_module.create_app = create_with_webhooks  # `timbel serve` imports create_app when it runs
    cli.serve(host=HOST, port=port)


@dataclass
class Server:
    """``timbel serve`` in its own process, output to a file."""

    data_dir: Path
    port: int
    wired: bool
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self, extra_env: dict[str, str]) -> None:
        if self.wired:
            cmd = [
                str(Path(sys.executable).parent / "timbel"),
                "serve",
                "--host",
                HOST,
                "--port",
                str(self.port),
            ]
        else:
            cmd = [sys.executable, str(Path(__file__).resolve()), "serve", "--port", str(self.port)]
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=child_env(self.data_dir, extra_env), stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise BenchError(f"timbel serve exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=5) as resp:  # noqa: S310
                    if resp.status == 200:
                        return
            except (OSError, urllib.error.HTTPError):
                time.sleep(0.2)
        raise BenchError(f"timbel serve not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        """User+system CPU of the server process so far."""
        assert self.proc is not None
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


def create_github_instance(data_dir: Path) -> str:
    """Add a GitHub instance with the webhook secret, through the integrations service (own process)."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from timbel.app import create_app\n"
        "from timbel.audit.service import AuditContext\n"
        "from timbel.core.db import session_scope\n"
        "from timbel.core.settings import load_settings\n"
        "from timbel.integrations import service\n"
        "from timbel.integrations.schemas import IntegrationCreate\n"
        "app = create_app(load_settings(), run_jobs=False)\n"
        "with session_scope(app.state.session_factory) as s:\n"
        "    row = service.create(s, settings=app.state.settings, ctx=AuditContext(actor_name='bench'),\n"
        "        data=IntegrationCreate(kind='github', name='bench-github', base_url='https://api.github.com',\n"
        f"            secrets={{'token': 'ghp_bench', 'webhook_secret': {SECRET!r}}}))\n"
        "    print(row.id)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=child_env(data_dir), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise BenchError(f"creating the GitHub instance failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout.strip().splitlines()[-1]


# --------------------------------------------------------------------------- load


def push_body(n: int) -> bytes:
    """A realistic ~2 KB push payload."""
    sha = hashlib.sha1(str(n).encode()).hexdigest()  # noqa: S324 - a fake commit id
    payload = {
        "ref": "refs/heads/main",
        "before": "0" * 39 + "1",
        "after": sha,
        "created": False,
        "deleted": False,
        "forced": False,
        "commits": [
            {
                "id": sha,
                "message": f"change number {n}\n\nWith a body line that makes the payload realistic.",
                "timestamp": "2026-11-26T10:00:00+09:00",
                "author": {"name": "Kim Minji", "email": "minji@example.com", "username": "minji"},
                "added": [f"src/module_{n % 50}.py"],
                "removed": [],
                "modified": ["README.md", "src/app.py"],
            }
        ],
        "repository": {
            "id": 1000 + n % 20,
            "full_name": f"acme/service-{n % 20}",
            "clone_url": f"https://github.com/acme/service-{n % 20}.git",
            "ssh_url": f"git@github.com:acme/service-{n % 20}.git",
            "html_url": f"https://github.com/acme/service-{n % 20}",
            "default_branch": "main",
        },
        "pusher": {"name": "minji", "email": "minji@example.com"},
        "sender": {"login": "minji", "id": 42, "type": "User"},
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def build_requests(count: int, duplicate_share: float, seed: int) -> tuple[list[bytes], list[str]]:
    """Raw HTTP requests, and the delivery id of each; copies reuse an earlier id and body."""
    rng = random.Random(seed)
    requests: list[bytes] = []
    ids: list[str] = []
    bodies: list[tuple[str, bytes]] = []
    for n in range(count):
        if bodies and rng.random() < duplicate_share:
            delivery, body = rng.choice(bodies)
        else:
            delivery, body = str(uuid.uuid4()), push_body(n)
            bodies.append((delivery, body))
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        head = (
            f"POST /hooks/github HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: GitHub-Hookshot/bench\r\n"
            f"Content-Type: application/json\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: {delivery}\r\n"
            f"X-GitHub-Hook-ID: 1\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
        ids.append(delivery)
    return requests, ids


@dataclass
class Answer:
    """One response: status, duplicate flag, latency."""

    status: int
    duplicate: bool
    seconds: float


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    return status, await reader.readexactly(length)


async def send_all(port: int, requests: list[bytes], connections: int) -> tuple[list[Answer | None], float]:
    """Send every request over ``connections`` keep-alive connections; return answers and elapsed time."""
    answers: list[Answer | None] = [None] * len(requests)
    cursor = iter(range(len(requests)))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            for index in cursor:
                start = time.perf_counter()
                writer.write(requests[index])
                status, body = await _read_response(reader)
                duplicate = status == 200 and b'"duplicate":true' in body
                answers[index] = Answer(status, duplicate, time.perf_counter() - start)
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return answers, time.perf_counter() - start


# --------------------------------------------------------------------------- checks


def db_state(data_dir: Path) -> dict[str, Any]:
    """Counts read straight from the SQLite file."""
    db = sqlite3.connect(data_dir / "timbel.db", timeout=30)
    try:
        states = dict(db.execute("SELECT state, count(*) FROM webhook_deliveries GROUP BY state").fetchall())
        ids = [r[0] for r in db.execute("SELECT delivery_id FROM webhook_deliveries WHERE source='github'")]
        attempts = dict(db.execute("SELECT attempts, count(*) FROM webhook_deliveries GROUP BY attempts"))
        changes = dict(
            db.execute(
                "SELECT n, count(*) FROM (SELECT d.id, count(c.id) AS n FROM webhook_deliveries d "
                "LEFT JOIN webhook_state_changes c ON c.delivery_id = d.id GROUP BY d.id) GROUP BY n"
            ).fetchall()
        )
    finally:
        db.close()
    return {"states": states, "ids": ids, "attempts": attempts, "changes": changes}


def wait_processed(data_dir: Path, unique: int, timeout: float) -> tuple[float, dict[str, Any]]:
    """Poll until every unique delivery is processed or failed; return the wait and the final state."""
    start = time.perf_counter()
    while True:
        state = db_state(data_dir)
        done = state["states"].get("processed", 0) + state["states"].get("failed", 0)
        if done >= unique or time.perf_counter() - start > timeout:
            return time.perf_counter() - start, state
        time.sleep(0.25)


@dataclass
class Result:
    """Everything one run measured and checked."""

    deliveries: int
    unique: int
    copies: int
    connections: int
    seconds: float
    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[str, int]
    processing_wait_seconds: float
    end_to_end_per_second: float
    server_cpu_seconds_sending: float
    lost: int
    processed_twice: int
    failures: list[str] = field(default_factory=list)
    server: str = ""
    machine: dict[str, Any] = field(default_factory=dict)


def machine() -> dict[str, Any]:
    """The machine the figures come from."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def check(ids: list[str], answers: list[Answer | None], state: dict[str, Any]) -> tuple[int, int, list[str]]:
    """Lost and processed-twice counts, and a readable list of every failed check."""
    failures: list[str] = []
    unique = set(ids)
    stored = state["ids"]
    lost = len(unique - set(stored))
    if lost:
        failures.append(f"{lost} unique deliveries were not stored")
    if len(stored) != len(set(stored)):
        failures.append(f"{len(stored) - len(set(stored))} delivery ids are stored twice")
    not_processed = len(stored) + state.get("warm", 0) - state["states"].get("processed", 0)
    if not_processed:
        failures.append(f"{not_processed} stored deliveries are not processed: {state['states']}")
    twice = sum(n for a, n in state["attempts"].items() if a != 1)
    if twice:
        failures.append(f"attempt counts other than 1: {state['attempts']}")
    extra_changes = sum(n for c, n in state["changes"].items() if c != 2)
    if extra_changes:
        failures.append(f"deliveries without exactly 2 state changes: {state['changes']}")
    accepted = sum(1 for a in answers if a is not None and a.status == 202)
    copies = sum(1 for a in answers if a is not None and a.duplicate)
    if accepted != len(unique) or copies != len(ids) - len(unique):
        failures.append(f"answers: {accepted} × 202 for {len(unique)} ids, {copies} duplicates")
    if any(a is None or a.status not in (200, 202) for a in answers):
        failures.append("some requests got no answer or another status")
    return lost, twice + extra_changes, failures


def run(args: argparse.Namespace) -> Result:
    """One benchmark run in a fresh data directory."""
    with tempfile.TemporaryDirectory(prefix="timbel-bench-webhooks-") as tmp:
        data_dir = Path(tmp) / "var"
        server = Server(data_dir, free_port(), wired(), Path(tmp) / "serve.log")
        extra = {"TIMBEL_LOG__ACCESS": "false"} if args.no_access_log else {}
        extra.update(item.split("=", 1) for item in args.env)
        server.start(extra)
        try:
            server.wait_ready()
            create_github_instance(data_dir)
            requests, ids = build_requests(args.deliveries, args.duplicates, args.seed)
            warm, _ = build_requests(50, 0.0, args.seed + 1)
            asyncio.run(send_all(server.port, warm, 4))  # warm-up: imports, caches, connections
            wait_processed(data_dir, 50, 60)
            cpu_before = server.cpu_seconds()
            answers, seconds = asyncio.run(send_all(server.port, requests, args.connections))
            cpu_sending = server.cpu_seconds() - cpu_before
            wait, state = wait_processed(data_dir, len(set(ids)) + 50, args.timeout)
        except BaseException:
            sys.stderr.write(server.log_tail() + "\n")
            raise
        finally:
            server.stop()
        warm_ids = set(state["ids"]) - set(ids)
        state["ids"] = [i for i in state["ids"] if i not in warm_ids]
        state["warm"] = len(warm_ids)
        lost, twice, failures = check(ids, answers, state)
        latencies = sorted(a.seconds * 1000 for a in answers if a is not None)
        quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
        statuses: dict[str, int] = {}
        for answer in answers:
            key = "none" if answer is None else ("200 duplicate" if answer.duplicate else str(answer.status))
            statuses[key] = statuses.get(key, 0) + 1
        unique = len(set(ids))
        return Result(
            deliveries=len(ids), unique=unique, copies=len(ids) - unique, connections=args.connections,
            seconds=round(seconds, 3), per_second=round(len(ids) / seconds, 1),
            p50_ms=round(quantiles[49], 2), p95_ms=round(quantiles[94], 2), p99_ms=round(quantiles[98], 2),
            statuses=statuses, processing_wait_seconds=round(wait, 2),
            end_to_end_per_second=round(unique / (seconds + wait), 1),
            server_cpu_seconds_sending=round(cpu_sending, 2), lost=lost, processed_twice=twice,
            failures=failures, server="timbel serve" if server.wired else "bench/webhooks.py serve",
            machine=machine(),
        )  # fmt: skip


def report(result: Result) -> str:
    """The run as a short Markdown table."""
    verdict = "meets" if result.per_second >= TARGET_PER_SECOND else "misses"
    lines = [
        f"Server: `{result.server}` (embedded SQLite, in-process job consumer); "
        f"{result.machine.get('cpus')} CPUs {result.machine.get('cpu')}, "
        f"Python {result.machine.get('python')}, "
        f"SQLite {result.machine.get('sqlite')}",
        "",
        "| deliveries (unique + copies) | connections | deliveries/s | p50 / p95 / p99 ms | "
        "processed all after | end-to-end/s | lost | processed twice |",
        "|---|---|---|---|---|---|---|---|",
        f"| {result.deliveries} ({result.unique} + {result.copies}) | {result.connections} | "
        f"**{result.per_second}** | {result.p50_ms} / {result.p95_ms} / {result.p99_ms} | "
        f"{result.processing_wait_seconds} s | {result.end_to_end_per_second} | {result.lost} | "
        f"{result.processed_twice} |",
        "",
        f"Answers: {result.statuses}. Server CPU while sending: {result.server_cpu_seconds_sending} s "
        f"for {result.seconds} s wall. Target ≥ {TARGET_PER_SECOND:.0f}/s: {verdict}.",
    ]
    if result.failures:
        lines += ["", "FAILED CHECKS:", *(f"- {f}" for f in result.failures)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    serve_cmd = sub.add_parser("serve", help="internal: timbel serve with the webhook router")
    serve_cmd.add_argument("--port", type=int, required=True)
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--duplicates", type=float, default=0.10, help="share of copies of earlier ids")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=300.0, help="longest wait for processing")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--no-access-log", action="store_true", help="TIMBEL_LOG__ACCESS=false (default: as shipped)"
    )
    parser.add_argument("--env", action="append", default=[], help="extra TIMBEL_X=value for the server")
    parser.add_argument("--output", type=Path, help="write BASE.md and BASE.json")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve_here(args.port)
        return 0
    result = run(args)
    text = report(result)
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
        args.output.with_suffix(".json").write_text(
            json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8"
        )
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
