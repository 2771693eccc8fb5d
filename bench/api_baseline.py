"""API baseline: Timbel's ``GET /api/v1/users/me`` against FastAPI and bare ASGI hello-worlds.

Every app is served the same way — its own ``uvicorn`` process (same worker count, same
loop/http implementation, uvicorn's access log off, stderr to a file) on 127.0.0.1 — and loaded
from a separate ``wrk`` process after a short warm-up. Reported: requests/s and p50/p95/p99
latency, and Timbel's rate as a share of the FastAPI ``async def`` hello-world (target ≥ 50 %).

Run from the repository root::

    .venv/bin/python bench/api_baseline.py                      # about a minute
    .venv/bin/python bench/api_baseline.py --duration 5 --output bench/results/latest

Timbel is measured twice: as it ships (its structured access log on, written to a file) and with
``TIMBEL_LOG__ACCESS=false``, so the cost of the access log is visible. Needs Debian's ``wrk``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
TIMBEL_USER = "bench-operator"
REFERENCE = "fastapi"  # the row the target is measured against
TARGET_SHARE = 0.5

WRK_SCRIPT = r"""
-- Written by bench/api_baseline.py: print the run as one JSON line (latencies in microseconds).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%.1f,"p75":%.1f,"p90":%.1f,"p95":%.1f,"p99":%.1f,' ..
    '"mean":%.1f,"stdev":%.1f,"max":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(95), latency:percentile(99),
    latency.mean, latency.stdev, latency.max))
end
"""


@dataclass(frozen=True)
class AppSpec:
    """One app under test: a uvicorn factory, the path to load, and extra environment."""

    key: str
    label: str
    factory: str
    path: str
    timbel: bool = False
    env: dict[str, str] = field(default_factory=dict)


APPS: tuple[AppSpec, ...] = (
    AppSpec("asgi", "bare ASGI hello-world", "bench.hello_asgi:create", "/"),
    AppSpec("fastapi", "FastAPI hello-world (`async def`)", "bench.hello_fastapi:create", "/"),
    AppSpec("fastapi-def", "FastAPI hello-world (plain `def`)", "bench.hello_fastapi:create_sync", "/"),
    AppSpec(
        "timbel",
        "Timbel `GET /api/v1/users/me`, as shipped (access log on)",
        "bench.app_timbel:create",
        "/api/v1/users/me",
        timbel=True,
        env={"TIMBEL_LOG__ACCESS": "true"},
    ),
    AppSpec(
        "timbel-no-access-log",
        "Timbel `GET /api/v1/users/me`, `TIMBEL_LOG__ACCESS=false`",
        "bench.app_timbel:create",
        "/api/v1/users/me",
        timbel=True,
        env={"TIMBEL_LOG__ACCESS": "false"},
    ),
)


def _ablation() -> tuple[AppSpec, ...]:
    """Timbel with pieces switched off one after another (bench/app_timbel_variants.py), access log off.

    Not run by default (``--apps ablation`` selects them all); the drop in server CPU µs per request
    from one row to the next is what the switched-off piece costs in a served process.
    """
    me, hello = "/api/v1/users/me", "/bench/hello"
    steps = [
        ("x-no-metrics", "… and no Prometheus metrics", "no-metrics", me),
        ("x-auth-first", "… and the auth router matched first", "no-metrics,auth-first", me),
        (
            "x-no-middleware",
            "… and no PlatformMiddleware at all",
            "no-metrics,auth-first,no-middleware",
            me,
        ),
        (
            "x-hello-access-log",
            "Timbel app, unauthenticated `async def` hello route, access log on",
            "hello",
            hello,
        ),
        ("x-hello", "Timbel app, unauthenticated `async def` hello route, access log off", "hello", hello),
        (
            "x-hello-no-middleware",
            "Timbel app, hello route, access log off, no PlatformMiddleware",
            "hello,no-middleware",
            hello,
        ),
    ]
    return tuple(
        AppSpec(
            f"timbel-{key}",
            label,
            "bench.app_timbel_variants:create",
            path,
            timbel=True,
            env={
                "TIMBEL_LOG__ACCESS": "true" if key == "x-hello-access-log" else "false",
                "BENCH_VARIANT": variant,
            },
        )
        for key, label, variant, path in steps
    )


ABLATION = _ablation()


@dataclass
class Result:
    """One app's measurement."""

    key: str
    label: str
    path: str
    requests: int
    duration_s: float
    requests_per_s: float
    latency_ms: dict[str, float]
    errors: dict[str, int]
    server_cpu_percent: float
    wrk_cpu_percent: float
    other_cpu_percent: float
    background_cpu_percent: float
    stderr_bytes_per_request: float
    server_cpu_us_per_request: float = 0.0
    noisy: bool = False
    round: int = 1
    rounds_requests_per_s: list[float] = field(default_factory=list)
    share_of_reference: float | None = None


class BenchError(RuntimeError):
    """The benchmark could not run or an app answered wrongly."""


# --------------------------------------------------------------------------- machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def machine_info() -> dict[str, Any]:
    """Describe the machine and software the figures were taken on."""
    cpuinfo = _read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mhz = re.search(r"^cpu MHz\s*:\s*(.+)$", cpuinfo, re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.M)
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        nproc = str(len(os.sched_getaffinity(0)))
    wrk = shutil.which("wrk")
    wrk_version = None
    if wrk:
        out = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
        wrk_version = (
            (out.stdout or out.stderr).splitlines()[0].strip() if (out.stdout or out.stderr) else None
        )
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--", "src")
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": int(nproc),
        "cpu_count": os.cpu_count(),
        "cpu_model": model.group(1).strip() if model else platform.processor() or "unknown",
        "cpu_mhz": float(mhz.group(1)) if mhz else None,
        "memory_gib": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "kernel": platform.release(),
        "os": _os_name(),
        "python": platform.python_version(),
        "versions": {
            name: _version(name)
            for name in ("uvicorn", "fastapi", "starlette", "pydantic", "uvloop", "httptools", "structlog")
        },
        "wrk": wrk_version,
        "timbel_commit": commit + ("+dirty" if dirty else "") if commit else None,
    }


def _os_name() -> str:
    text = _read("/etc/os-release")
    found = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', text, re.M)
    return found.group(1) if found else platform.platform()


# --------------------------------------------------------------------------- serving


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment for app processes: ours without any TIMBEL_* override, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMBEL_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def loop_http() -> tuple[str, str]:
    """uvicorn[standard]'s choice (uvloop + httptools when installed), made explicit for every app."""
    loop = "uvloop" if _version("uvloop") else "asyncio"
    http = "httptools" if _version("httptools") else "h11"
    return loop, http


def uvicorn_command(factory: str, port: int, workers: int) -> list[str]:
    """The one uvicorn command line every app is served with."""
    loop, http = loop_http()
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        loop,
        "--http",
        http,
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def http_request(
    url: str, *, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """A single request (status, body); HTTP error statuses are returned, not raised."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 (always http://127.0.0.1)
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


class Server:
    """A uvicorn process serving one app, its stderr going to a file."""

    def __init__(
        self, spec: AppSpec, *, workers: int, workdir: Path, env: dict[str, str], tag: str = ""
    ) -> None:
        self.spec = spec
        self.port = free_port()
        self.log_path = workdir / f"{spec.key}{'-' + tag if tag else ''}.stderr.log"
        self.command = uvicorn_command(spec.factory, self.port, workers)
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.command,
            cwd=REPO,
            env=child_env(env),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the server answers HTTP at all (any status)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"{self.spec.key}: uvicorn exited ({self.proc.returncode}):\n{self.log_tail()}"
                )
            try:
                http_request(self.base + self.spec.path)
                return
            except OSError:
                time.sleep(0.1)
        raise BenchError(f"{self.spec.key}: not answering after {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def cpu_seconds(self) -> float:
        """User+system CPU time of the server process and its children (workers) so far."""
        pids = [self.proc.pid, *_children(self.proc.pid)]
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in pids:
            stat = _read(f"/proc/{pid}/stat")
            if stat:
                fields = stat.rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _read(f"/proc/{entry.name}/stat")
            if stat and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


# --------------------------------------------------------------------------- checks


def timbel_setup(data_dir: Path, password: str) -> None:
    """Migrate a fresh data directory and create the benchmark user, in a separate process."""
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "app_timbel.py"),
            "setup",
            "--data-dir",
            str(data_dir),
            "--username",
            TIMBEL_USER,
            "--password",
            password,
        ],
        cwd=REPO,
        env=child_env({}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise BenchError(f"Timbel setup failed:\n{out.stdout}\n{out.stderr}")


def timbel_login(server: Server, password: str) -> str:
    """Sign in through the API; return the access token."""
    status, body = http_request(
        server.base + "/api/v1/auth/login",
        method="POST",
        body=json.dumps({"username": TIMBEL_USER, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    if status != 200:
        raise BenchError(f"login answered {status}: {body[:500]!r}")
    token = json.loads(body).get("access_token")
    if not token:
        raise BenchError(f"login returned no access_token: {body[:500]!r}")
    return str(token)


def verify(server: Server, headers: dict[str, str]) -> None:
    """The app must answer the benchmarked request with 200 and the expected body."""
    status, body = http_request(server.base + server.spec.path, headers=headers)
    if status != 200:
        raise BenchError(f"{server.spec.key}: GET {server.spec.path} answered {status}: {body[:500]!r}")
    data = json.loads(body)
    if server.spec.path == "/api/v1/users/me":
        if data.get("username") != TIMBEL_USER:
            raise BenchError(f"{server.spec.key}: /users/me did not return the user: {body[:500]!r}")
    elif data != {"message": "hello"}:
        raise BenchError(f"{server.spec.key}: unexpected body {body[:200]!r}")


# --------------------------------------------------------------------------- load


def run_wrk(
    url: str, *, script: Path, threads: int, connections: int, seconds: float, headers: dict[str, str]
) -> dict[str, Any]:
    """Run wrk against a URL and return the summary printed by the Lua ``done`` hook."""
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
    ]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if out.returncode != 0:
        raise BenchError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            data["raw"] = out.stdout
            return data
    raise BenchError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")


def busy_jiffies() -> int:
    """Busy CPU time of the whole machine so far, in clock ticks (all CPUs)."""
    fields = [int(x) for x in _read("/proc/stat").split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]) - idle


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def background_cpu_percent(seconds: float = 1.0) -> float:
    """Machine-wide busy CPU over a short sample, in % of one core (nothing of ours is running)."""
    before = busy_jiffies()
    time.sleep(seconds)
    return 100 * (busy_jiffies() - before) / os.sysconf("SC_CLK_TCK") / seconds


def settle(max_wait: float, threshold: float) -> float:
    """Wait (up to max_wait seconds) until the machine is idle enough; return the last background sample."""
    deadline = time.monotonic() + max_wait
    sample = background_cpu_percent()
    while sample > threshold and time.monotonic() < deadline:
        print(
            f"  machine busy ({sample:.0f} % of a core used by other processes); waiting …", file=sys.stderr
        )
        time.sleep(2)
        sample = background_cpu_percent()
    return sample


@dataclass
class Prepared:
    """An app ready to be served: extra environment and, for Timbel, the user's password."""

    spec: AppSpec
    env: dict[str, str]
    password: str = ""


def prepare(spec: AppSpec, workdir: Path) -> Prepared:
    """One-time preparation of an app (Timbel: a migrated data directory with the benchmark user)."""
    if not spec.timbel:
        return Prepared(spec, dict(spec.env))
    data_dir = workdir / f"{spec.key}-data"
    password = secrets.token_urlsafe(18)
    timbel_setup(data_dir, password)
    return Prepared(
        spec, {**spec.env, "TIMBEL_ENV": "development", "TIMBEL_DATA_DIR": str(data_dir)}, password
    )


def measure(app: Prepared, args: argparse.Namespace, workdir: Path, script: Path, round_no: int) -> Result:
    """Serve one app, check it, warm it up, load it, and stop it."""
    spec = app.spec
    background = settle(args.settle, args.idle_threshold)
    server = Server(spec, workers=args.workers, workdir=workdir, env=app.env, tag=f"r{round_no}")
    try:
        server.wait_ready()
        headers = {"Authorization": f"Bearer {timbel_login(server, app.password)}"} if spec.timbel else {}
        verify(server, headers)
        url = server.base + spec.path
        if args.warmup > 0:
            run_wrk(
                url,
                script=script,
                threads=args.threads,
                connections=args.connections,
                seconds=args.warmup,
                headers=headers,
            )
        log_before, cpu_before = server.log_size(), server.cpu_seconds()
        busy_before, wrk_before = busy_jiffies(), children_cpu_seconds()
        run = run_wrk(
            url,
            script=script,
            threads=args.threads,
            connections=args.connections,
            seconds=args.duration,
            headers=headers,
        )
        busy_after, wrk_after = busy_jiffies(), children_cpu_seconds()
        log_after, cpu_after = server.log_size(), server.cpu_seconds()
        verify(server, headers)
    finally:
        server.stop()
    seconds = run["duration_us"] / 1e6
    errors = {k: int(v) for k, v in run["errors"].items()}
    if errors["status"]:
        raise BenchError(
            f"{spec.key}: {errors['status']} non-2xx/3xx answers under load\n{server.log_tail()}"
        )
    server_cpu = cpu_after - cpu_before
    wrk_cpu = wrk_after - wrk_before
    machine_busy = (busy_after - busy_before) / os.sysconf("SC_CLK_TCK")
    return Result(
        key=spec.key,
        label=spec.label,
        path=spec.path,
        requests=int(run["requests"]),
        duration_s=round(seconds, 3),
        requests_per_s=round(run["requests"] / seconds, 1),
        latency_ms={k: round(v / 1000, 3) for k, v in run["latency_us"].items()},
        errors=errors,
        server_cpu_percent=round(100 * server_cpu / seconds, 1),
        wrk_cpu_percent=round(100 * wrk_cpu / seconds, 1),
        other_cpu_percent=round(max(0.0, 100 * (machine_busy - server_cpu - wrk_cpu) / seconds), 1),
        background_cpu_percent=round(background, 1),
        stderr_bytes_per_request=round((log_after - log_before) / max(1, run["requests"]), 1),
        server_cpu_us_per_request=round(server_cpu / max(1, run["requests"]) * 1e6, 1),
        round=round_no,
    )


def median_result(runs: list[Result], noisy_threshold: float) -> Result:
    """The median-rate run among the quiet ones (all runs if none was quiet); lower middle if even."""
    for r in runs:
        r.noisy = r.other_cpu_percent > noisy_threshold
    quiet = [r for r in runs if not r.noisy] or runs
    ordered = sorted(quiet, key=lambda r: r.requests_per_s)
    chosen = ordered[(len(ordered) - 1) // 2]
    chosen.rounds_requests_per_s = [r.requests_per_s for r in runs]
    return chosen


# --------------------------------------------------------------------------- report


def markdown(
    results: list[Result], machine: dict[str, Any], settings: dict[str, Any], runs: dict[str, list[Result]]
) -> str:
    """The results as a markdown table followed by the machine description."""
    rounds = settings.get("repeat", 1)
    lines = [
        "| App | Requests/s | p50 ms | p95 ms | p99 ms | vs FastAPI hello | server CPU µs/req "
        "| CPU % server / wrk / other | log bytes/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        share = f"{100 * r.share_of_reference:.0f} %" if r.share_of_reference is not None else "–"
        noisy = " ⚠ noisy" if r.noisy else ""
        lines.append(
            f"| {r.label}{noisy} | {r.requests_per_s:,.0f} | {r.latency_ms['p50']:.2f} "
            f"| {r.latency_ms['p95']:.2f} | {r.latency_ms['p99']:.2f} | {share} "
            f"| {r.server_cpu_us_per_request:.0f} "
            f"| {r.server_cpu_percent:.0f} / {r.wrk_cpu_percent:.0f} / {r.other_cpu_percent:.0f} "
            f"| {r.stderr_bytes_per_request:.0f} |"
        )
    if rounds > 1:
        lines += [
            "",
            f"{rounds} interleaved rounds; each row is the median-rate quiet run. Requests/s of every round "
            f"(* = noisy: other work used more than {settings['noisy_threshold']:.0f} % of a core):",
        ]
        for r in results:
            every = ", ".join(f"{x.requests_per_s:,.0f}{'*' if x.noisy else ''}" for x in runs[r.key])
            lines.append(f"- {r.key}: {every}")
    v = machine["versions"]
    lines += [
        "",
        f"Load: `wrk -t{settings['threads']} -c{settings['connections']} -d{settings['duration']}s "
        "--latency` "
        f"after a {settings['warmup']}s warm-up; server: `{settings['server_command']}`. "
        "Server CPU µs/req: CPU time of the uvicorn process per answered request (robust against other "
        "load on the machine). CPU %: share of one core used during the measured run by the server, by "
        "wrk, and by everything else (kernel loopback networking and any other work on the machine; "
        "a high figure marks a noisy run).",
        "",
        f"Machine: {machine['nproc']} CPUs (`nproc`), {machine['cpu_model']}, "
        f"{machine['memory_gib']} GiB RAM, "
        f"{machine['os']}, Linux {machine['kernel']}; Python {machine['python']}, uvicorn {v['uvicorn']}, "
        f"fastapi {v['fastapi']}, starlette {v['starlette']}, pydantic {v['pydantic']}, "
        f"uvloop {v['uvloop']}, "
        f"httptools {v['httptools']}, structlog {v['structlog']}; {machine['wrk']}; "
        f"Timbel {machine['timbel_commit']}; {machine['date_utc']}.",
    ]
    return "\n".join(lines) + "\n"


def verdict(results: list[Result]) -> list[str]:
    """One line per shipped-Timbel row (not ablation rows): its share of the reference rate vs the target."""
    out = []
    shipped = {a.key for a in APPS if a.timbel}
    for r in results:
        if r.key in shipped and r.share_of_reference is not None:
            ok = "meets" if r.share_of_reference >= TARGET_SHARE else "MISSES"
            out.append(
                f"{r.key}: {100 * r.share_of_reference:.1f} % of the FastAPI hello-world rate "
                f"— {ok} the ≥ {100 * TARGET_SHARE:.0f} % target"
            )
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of measured load per app (10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up load per app (2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers for every app (1)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="interleaved rounds; each app's median-rate run is reported (1)"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=60,
        help="before each run, wait up to this many seconds for other processes to go quiet (60)",
    )
    parser.add_argument(
        "--noisy-threshold",
        type=float,
        default=30,
        help="a run is noisy when everything but server and wrk used more than this %% of a core; "
        "the reported run is the median of the quiet ones (30)",
    )
    parser.add_argument(
        "--idle-threshold",
        type=float,
        default=20,
        help="'quiet' = other processes use less than this %% of one core (20)",
    )
    parser.add_argument(
        "--apps",
        default=",".join(a.key for a in APPS),
        help="comma-separated subset of: "
        + ", ".join(a.key for a in APPS)
        + "; 'ablation' adds Timbel with pieces switched off (see bench/app_timbel_variants.py)",
    )
    parser.add_argument("--output", type=Path, help="write OUTPUT.md (table) and OUTPUT.json (all figures)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (server logs, data)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install -y --no-install-recommends wrk", file=sys.stderr)
        return 2
    wanted = [k.strip() for k in args.apps.split(",") if k.strip()]
    if "ablation" in wanted:
        wanted = [k for k in wanted if k != "ablation"] + [a.key for a in ABLATION]
    unknown = set(wanted) - {a.key for a in (*APPS, *ABLATION)}
    if unknown:
        print(f"unknown apps: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    specs = [a for a in (*APPS, *ABLATION) if a.key in wanted]
    machine = machine_info()
    settings = {
        "duration": args.duration,
        "warmup": args.warmup,
        "connections": args.connections,
        "threads": args.threads,
        "workers": args.workers,
        "repeat": args.repeat,
        "noisy_threshold": args.noisy_threshold,
        "server_command": " ".join(["uvicorn", *uvicorn_command("<factory>", 0, args.workers)[3:]]).replace(
            "--port 0", "--port <free port>"
        ),
    }
    workdir = Path(tempfile.mkdtemp(prefix="timbel-bench-"))
    script = workdir / "report.lua"
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    results: list[Result] = []
    runs: dict[str, list[Result]] = {spec.key: [] for spec in specs}
    keep = args.keep
    try:
        prepared = [prepare(spec, workdir) for spec in specs]
        for round_no in range(1, args.repeat + 1):
            for app in prepared:
                spec = app.spec
                note = f" (round {round_no}/{args.repeat})" if args.repeat > 1 else ""
                print(f"· {spec.key}{note}: GET {spec.path} …", file=sys.stderr, flush=True)
                result = measure(app, args, workdir, script, round_no)
                print(
                    f"  {result.requests_per_s:,.0f} req/s, p50 {result.latency_ms['p50']:.2f} ms, "
                    f"p95 {result.latency_ms['p95']:.2f} ms; CPU server {result.server_cpu_percent:.0f} %, "
                    f"wrk {result.wrk_cpu_percent:.0f} %, other {result.other_cpu_percent:.0f} %",
                    file=sys.stderr,
                    flush=True,
                )
                runs[spec.key].append(result)
        results = [median_result(runs[spec.key], args.noisy_threshold) for spec in specs]
    except BenchError as exc:
        keep = True
        print(f"benchmark failed: {exc}", file=sys.stderr)
        print(f"(work directory kept: {workdir})", file=sys.stderr)
        return 1
    finally:
        if not keep:
            with contextlib.suppress(OSError):
                shutil.rmtree(workdir)
    reference = next((r for r in results if r.key == REFERENCE), None)
    if reference is not None:
        for r in results:
            r.share_of_reference = round(r.requests_per_s / reference.requests_per_s, 4)
    table = markdown(results, machine, settings, runs)
    lines = verdict(results)
    print()
    print(table)
    for line in lines:
        print(line)
    if args.keep:
        print(f"(work directory kept: {workdir})", file=sys.stderr)
    if args.output is not None:
        base = args.output.with_suffix("") if args.output.suffix in {".md", ".json"} else args.output
        base.parent.mkdir(parents=True, exist_ok=True)
        base.with_name(base.name + ".md").write_text(table + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
        payload = {
            "machine": machine,
            "settings": settings,
            "reference": REFERENCE,
            "target_share": TARGET_SHARE,
            "results": [asdict(r) for r in results],
            "runs": {key: [asdict(r) for r in value] for key, value in runs.items()},
        }
        base.with_name(base.name + ".json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
