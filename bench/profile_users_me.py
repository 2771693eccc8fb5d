"""Where the time of one ``GET /api/v1/users/me`` goes, measured in-process (no HTTP server).

Drives the ASGI apps directly on a uvloop event loop, so uvicorn's own share (HTTP parsing,
transport writes; the same for every app) is left out. Three views:

1. µs per request of the bare ASGI and FastAPI hello-worlds and of Timbel, sequentially and
   with 32 requests in flight (the shape of ``wrk -c32``);
2. ablation: Timbel with one piece after another switched off or short-circuited by
   monkeypatching (access log, metrics, JWT verification, audit-context binding, the whole
   platform middleware) — the drop in µs per request is what that piece costs;
3. a cProfile of the shipped configuration, summarised by package and by notable function.

Run: ``.venv/bin/python bench/profile_users_me.py [--requests 20000]``. Nothing in ``src/`` is
changed; the patches live only in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import uvloop
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import hello_asgi, hello_fastapi

USERNAME = "bench-operator"
PASSWORD = "bench-password-long-enough"  # noqa: S105 - throwaway user in a temp directory

Headers = list[tuple[bytes, bytes]]
TERMINAL = sys.stderr  # progress goes here; sys.stderr itself is pointed at a file while apps run


def scope_for(method: str, path: str, headers: Headers) -> dict[str, Any]:
    """An HTTP scope like the one uvicorn builds."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "root_path": "",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), *headers],
    }


async def call(app: Any, method: str, path: str, headers: Headers, body: bytes = b"") -> tuple[int, bytes]:
    """One request through an ASGI app; returns (status, body)."""
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope_for(method, path, headers), receive, send)
    return status, b"".join(chunks)


async def per_request_us(
    app: Any, path: str, headers: Headers, n: int, concurrency: int = 1, repeats: int = 3
) -> float:
    """Best-of-`repeats` mean wall-clock µs per request, `concurrency` requests in flight.

    Each worker yields to the event loop after every request, as a served request does (its
    socket I/O goes through the loop); otherwise one worker could monopolise the loop.
    """
    for _ in range(min(n // 10, 500)):  # warm-up
        await call(app, "GET", path, headers)
        await asyncio.sleep(0)
    best = float("inf")
    for _ in range(repeats):
        remaining = n

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                status, _ = await call(app, "GET", path, headers)
                if status != 200:
                    raise RuntimeError(f"{path} answered {status}")
                await asyncio.sleep(0)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        best = min(best, (time.perf_counter() - start) / n * 1e6)
    return best


_SHAPE_ME = {
    "id": "d49745e1-daa3-4eab-acd0-5f23a5debd52",
    "username": USERNAME,
    "email": None,
    "display_name": USERNAME,
    "is_active": True,
    "preferred_locale": "ko",
    "must_change_password": False,
    "roles": ["operations"],
    "permissions": [f"area{i}:read" for i in range(13)],
    "domains": [],
    "created_at": "2026-01-01T00:00:00+00:00",
    "last_login_at": None,
    "credential": "access_token",
}


_SHAPE_ME_JSON = json.dumps(_SHAPE_ME, separators=(",", ":")).encode()


async def _shape_check(request: Request) -> dict[str, Any]:
    return _SHAPE_ME


def same_shape_fastapi(routes_before: int = 0) -> FastAPI:
    """FastAPI app with a route shaped like Timbel's /users/me but doing no work.

    Same prefix router and ``response_model``-free shape as Timbel's: one async dependency taking
    ``Request``, a ``Response`` of pre-serialised JSON; ``routes_before`` non-matching routes first.
    (Module-level imports: FastAPI resolves these string annotations in this module's globals.)
    """
    app = FastAPI()
    router = APIRouter(prefix="/api/v1")
    for i in range(routes_before):
        router.add_api_route(f"/other{i}/items", lambda: None, methods=["POST"])

    @router.get("/users/me")
    async def read_me(p: Annotated[dict[str, Any], Depends(_shape_check)]) -> Response:
        return Response(_SHAPE_ME_JSON, media_type="application/json")

    app.include_router(router)
    return app


# --------------------------------------------------------------------------- Timbel


def timbel_app(data_dir: Path, *, access_log: bool, json_log: bool | None = None) -> Any:
    """A Timbel app on a prepared data directory."""
    from timbel.app import create_app
    from timbel.core.settings import LogSettings, Settings, prepare_settings

    settings = prepare_settings(
        Settings(env="development", data_dir=data_dir, log=LogSettings(access=access_log, json=json_log))
    )
    return create_app(settings, run_jobs=False)


def timbel_setup(data_dir: Path) -> None:
    """Migrate and create the user (as bench/app_timbel.py does)."""
    from bench.app_timbel import setup

    setup(data_dir, username=USERNAME, password=PASSWORD)


async def timbel_token(app: Any) -> Headers:
    """Sign in through the app; return the Authorization header."""
    body = json.dumps({"username": USERNAME, "password": PASSWORD}).encode()
    status, answer = await call(
        app, "POST", "/api/v1/auth/login", [(b"content-type", b"application/json")], body
    )
    if status != 200:
        raise RuntimeError(f"login answered {status}: {answer[:300]!r}")
    token = json.loads(answer)["access_token"]
    return [(b"authorization", f"Bearer {token}".encode())]


@contextlib.contextmanager
def patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def without_platform_middleware(app: Any) -> Any:
    from timbel.core.middleware import PlatformMiddleware

    app.user_middleware = [m for m in app.user_middleware if m.cls is not PlatformMiddleware]
    app.middleware_stack = None
    return app


# --------------------------------------------------------------------------- cProfile summary

BUCKETS = (
    ("timbel/core/middleware", "timbel PlatformMiddleware"),
    ("timbel/auth", "timbel auth (deps, principal cache)"),
    ("timbel/core", "timbel core (deps, db, security)"),
    ("timbel/", "timbel other"),
    ("/jwt/", "PyJWT"),
    ("/structlog/", "structlog"),
    ("/logging/", "stdlib logging"),
    ("/prometheus_client/", "prometheus_client"),
    ("/fastapi/dependencies", "FastAPI dependency solving"),
    ("/fastapi/", "FastAPI other (routing, middleware)"),
    ("/starlette/", "Starlette"),
    ("/pydantic", "pydantic"),
    ("/sqlalchemy/", "SQLAlchemy"),
    ("/anyio/", "anyio (thread pool)"),
    ("/json/", "json"),
    ("uuid.py", "uuid"),
    ("/asyncio/", "asyncio"),
    ("bench/", "benchmark driver"),
)


def bucket(filename: str) -> str:
    for needle, name in BUCKETS:
        if needle in filename:
            return name
    if filename == "~":
        return "builtins (C calls: write, hmac, b64, …)"
    return "other stdlib"


NOTABLE = (
    ("middleware.py", "__call__", "PlatformMiddleware.__call__ (all inside)"),
    ("middleware.py", "_observe", "PlatformMiddleware._observe (metrics + access log)"),
    ("_log_levels.py", "meth", "structlog log.info (access log line)"),
    ("metrics.py", "inc", "prometheus Counter.inc"),
    ("metrics.py", "observe", "prometheus Histogram.observe"),
    ("metrics.py", "labels", "prometheus labels()"),
    ("utils.py", "solve_dependencies", "FastAPI solve_dependencies"),
    ("deps.py", "api_principal", "timbel api_principal"),
    ("deps.py", "bearer_principal", "timbel bearer_principal"),
    ("security.py", "verify", "timbel AccessTokenVerifier.verify"),
    ("security.py", "decode_access_token", "timbel decode_access_token (PyJWT)"),
    ("deps.py", "_load", "timbel principal cache lookup"),
    ("deps.py", "_bind", "timbel _bind (audit context)"),
    ("deps.py", "get_audit_context", "timbel get_audit_context"),
    ("db.py", "new_id", "timbel new_id (uuid4 request id)"),
    ("routes.py", "read_me", "read_me endpoint"),
    ("responses.py", "__init__", "Starlette Response.__init__ (JSON render)"),
    ("responses.py", "__call__", "Starlette Response.__call__ (send)"),
    ("routing.py", "matches", "route matching (all matches())"),
)


def profile_summary(profile: cProfile.Profile, n: int) -> str:
    stats = pstats.Stats(profile)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())  # sum of tottime = profiled wall time
    by_bucket: dict[str, float] = defaultdict(float)
    for (filename, _line, _func), (_cc, _nc, tt, _ct, _callers) in raw.items():
        by_bucket[bucket(filename)] += tt
    out = [f"cProfile, {n} sequential requests, {total / n * 1e6:.1f} µs/request under the profiler", ""]
    out.append("self time by package            µs/req   share")
    for name, tt in sorted(by_bucket.items(), key=lambda kv: -kv[1]):
        out.append(f"  {name:<40} {tt / n * 1e6:7.1f}  {100 * tt / total:5.1f} %")
    out += ["", "inclusive time of notable functions   µs/req   calls/req"]
    for file_end, func, label in NOTABLE:
        ct = sum(v[3] for k, v in raw.items() if k[0].endswith(file_end) and k[2] == func)
        nc = sum(v[1] for k, v in raw.items() if k[0].endswith(file_end) and k[2] == func)
        if nc:
            out.append(f"  {label:<50} {ct / n * 1e6:7.1f}   {nc / n:5.2f}")
    buf = io.StringIO()
    pstats.Stats(profile, stream=buf).sort_stats("tottime").print_stats(25)
    out += ["", "top functions by self time:", buf.getvalue().split("\n", 6)[-1]]
    return "\n".join(out)


# --------------------------------------------------------------------------- main


async def run(args: argparse.Namespace, workdir: Path) -> None:
    n = args.requests
    rows: list[tuple[str, float]] = []

    async def row(label: str, app: Any, path: str, headers: Headers) -> float:
        us = await per_request_us(app, path, headers, n)
        rows.append((label, us))
        print(f"  {label:<72} {us:7.1f} µs", file=TERMINAL, flush=True)
        return us

    print(f"µs per request, in-process (no uvicorn), best of 3 × {n} sequential requests", file=TERMINAL)
    await row("bare ASGI hello-world", hello_asgi.create(), "/", [])
    await row("FastAPI hello-world (async def)", hello_fastapi.create(), "/", [])
    await row(
        "FastAPI, /api/v1/users/me-shaped no-op route (1 async dep, bytes Response)",
        same_shape_fastapi(),
        "/api/v1/users/me",
        [],
    )
    await row(
        "  same with 20 non-matching routes ahead of it", same_shape_fastapi(20), "/api/v1/users/me", []
    )

    data_dir = workdir / "data"
    timbel_setup(data_dir)
    me = "/api/v1/users/me"
    shipped = timbel_app(data_dir, access_log=True)
    auth = await timbel_token(shipped)
    await row("Timbel as shipped (access log on; JSON lines, stderr is not a terminal)", shipped, me, auth)
    await row(
        "Timbel, access log with the console renderer (TIMBEL_LOG__JSON=false)",
        timbel_app(data_dir, access_log=True, json_log=False),
        me,
        auth,
    )

    from timbel.core.middleware import PlatformMiddleware

    quiet = timbel_app(data_dir, access_log=False)
    await row("Timbel, access log off", quiet, me, auth)
    with contextlib.ExitStack() as stack:
        stack.enter_context(patched(PlatformMiddleware, "_observe", lambda *a, **k: None))
        await row("  … and no metrics", quiet, me, auth)
        routes = quiet.router.routes
        auth_branch = next(r for r in routes if _holds_path(r, me))
        routes.insert(0, routes.pop(routes.index(auth_branch)))
        await row("  … and the auth router matched first", quiet, me, auth)
        without_platform_middleware(quiet)
        await row("  … and no PlatformMiddleware at all", quiet, me, auth)

    await herd(workdir, data_dir, auth, seconds=args.herd_seconds)

    if args.profile:
        profiler = cProfile.Profile()
        pn = max(2000, n // 2)
        for _ in range(200):
            await call(shipped, "GET", me, auth)
        profiler.enable()
        for _ in range(pn):
            await call(shipped, "GET", me, auth)
        profiler.disable()
        print(file=TERMINAL)
        print(profile_summary(profiler, pn))

    print("\n| In-process, sequential | µs/request |\n|---|---:|")
    for label, us in rows:
        print(f"| {label} | {us:.1f} |")


def _holds_path(route: Any, path: str) -> bool:
    """Whether a top-level route (or included router) serves a path."""
    scope = scope_for("GET", path, [])
    try:
        from starlette.routing import Match

        return bool(route.matches(scope)[0] == Match.FULL)
    except Exception:
        return False


async def herd(workdir: Path, data_dir: Path, auth: Headers, *, seconds: float) -> None:
    """32 requests in flight across principal-cache expiries: count DB loads and new connections."""
    if seconds <= 0:
        return
    from sqlalchemy import event

    import timbel.auth.tokens as tokens

    app = timbel_app(data_dir, access_log=False)
    loads: list[float] = []
    connects: list[int] = []
    event.listen(app.state.engine, "connect", lambda *_a: connects.append(1))
    original = tokens.principal_for_access_token

    def counting(*a: Any, **k: Any) -> Any:
        loads.append(time.monotonic())
        return original(*a, **k)

    stop = time.monotonic() + seconds
    served = 0

    async def worker() -> None:
        nonlocal served
        while time.monotonic() < stop:
            await call(app, "GET", "/api/v1/users/me", auth)
            served += 1
            await asyncio.sleep(0)

    with patched(tokens, "principal_for_access_token", counting):
        await asyncio.gather(*(worker() for _ in range(32)))
    ttl = app.state.principal_cache.ttl
    print(
        f"\nprincipal cache under 32 requests in flight for {seconds:.0f} s (TTL {ttl:.0f} s): "
        f"{served} requests, "
        f"{len(loads)} principal loads from the database, {len(connects)} new database connections",
        file=TERMINAL,
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=10000, help="requests per measurement (10000)")
    parser.add_argument("--herd-seconds", type=float, default=11, help="length of the cache-expiry run (11)")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="skip the cProfile run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="timbel-profile-") as tmp:
        workdir = Path(tmp)
        log_file = (workdir / "stderr.log").open("w", encoding="utf-8")
        real_stderr = sys.stderr
        # Timbel's structlog writes to sys.stderr as it is when the app is created: send that to a file.
        sys.stderr = log_file
        try:
            uvloop.run(run(args, workdir))
        finally:
            sys.stderr = real_stderr
            log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
