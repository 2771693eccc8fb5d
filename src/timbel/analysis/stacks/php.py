"""Detect PHP services (Laravel, Symfony) from composer.json; other Composer packages are libraries."""

from __future__ import annotations

import json
import re
from typing import Any

from timbel.analysis.report import Dependency, DependencyScope, Evidence
from timbel.analysis.stacks.base import (
    RANK_ENV,
    RANK_LISTEN,
    Detected,
    StackContext,
    default_hit,
    find_health,
    line_at,
    scan_ports,
)

_LARAVEL_HEALTH = re.compile(r"\bhealth\s*:\s*['\"](/[^'\"]*)['\"]")
_SERVE_PORT = re.compile(
    r"(?:artisan serve|php -S|symfony (?:server:start|serve))[^\n]*?(?:--port[= ]|:)(\d{2,5})"
)
# `php artisan serve` reads SERVER_PORT; Sail's APP_PORT is a host-side port, so it is not evidence.
_ENV_PORT = re.compile(r"^SERVER_PORT\s*=\s*[\"']?(\d{2,5})", re.MULTILINE)


def _deps(
    data: dict[str, Any], key: str, scope: DependencyScope, *, extensions: bool = False
) -> list[Dependency]:
    """Read Composer packages, or with ``extensions`` the PHP extensions (`ext-*`) a section requires."""
    raw = data.get(key)
    if not isinstance(raw, dict):
        return []
    return [
        Dependency(name=k, version=str(v), scope=scope)
        for k, v in raw.items()
        if k != "php" and k.lower().startswith("ext-") is extensions
    ]


def detect(ctx: StackContext) -> Detected | None:
    """Describe the composer.json in this directory as a Laravel/Symfony service or a library."""
    text = ctx.read("composer.json")
    if text is None:
        return None
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("top level is not an object")
    except ValueError as exc:
        ctx.problem("composer.json", f"invalid JSON: {exc}")
        return None
    dirname = ctx.root.name if ctx.path == "." else ctx.path.rsplit("/", 1)[-1]
    name = str(data.get("name") or dirname).rsplit("/", 1)[-1]
    det = Detected(name=name, language="PHP", build_tool="composer", manifest=ctx.rel("composer.json"))
    det.dependencies = _deps(data, "require", "runtime") + _deps(data, "require-dev", "dev")
    det.platform_requirements = _deps(data, "require", "runtime", extensions=True)
    require = data.get("require")
    if isinstance(require, dict) and isinstance(require.get("php"), str):
        det.runtime_version = require["php"]
    names = {d.name for d in det.dependencies if d.scope == "runtime"}
    dev = {d.name for d in det.dependencies if d.scope == "dev"}
    if "laravel/framework" in names and ctx.has("artisan"):
        det.framework, det.kind = "Laravel", "web"
        det.start_command = "php artisan serve --host=0.0.0.0 --port=8000"
        det.test_command = "php artisan test"
    elif "symfony/framework-bundle" in names and ctx.has("public/index.php"):
        det.framework, det.kind = "Symfony", "web"
        det.start_command = "php -S 0.0.0.0:8000 -t public"
        det.test_command = "vendor/bin/phpunit" if "phpunit/phpunit" in dev else None
    else:
        return det  # a Composer library or a framework's own package
    det.build_command = "composer install --no-dev --optimize-autoloader"
    sources = ctx.sources(".php")
    env_files = [ctx.rel(n) for n in (".env", ".env.example") if ctx.has(n) and det.framework == "Laravel"]
    det.hits = scan_ports(
        ctx, [ctx.rel("composer.json")], _SERVE_PORT, RANK_LISTEN, "composer script: {match}"
    )
    det.hits += scan_ports(ctx, env_files, _ENV_PORT, RANK_ENV, "artisan serve SERVER_PORT {port}: {match}")
    det.hits.append(default_hit(ctx, "composer.json", 8000, f"{det.framework} development server"))
    boot = ctx.read("bootstrap/app.php") if det.framework == "Laravel" else None
    m = _LARAVEL_HEALTH.search(boot or "")
    if m and boot:
        det.health_path = m.group(1)
        ev = Evidence(
            file=ctx.rel("bootstrap/app.php"), line=line_at(boot, m.start()), reason="Laravel health route"
        )
        det.health_evidence = [ev]
    else:
        routes = [f for f in sources if "/routes/" in f"/{f}" or "Controller" in f]
        det.health_path, det.health_evidence = find_health(ctx, routes)
    return det
