"""Detect Ruby services (Rails, Sinatra, plain Rack) from a Gemfile; gems are libraries."""

from __future__ import annotations

import re

from timbel.analysis.report import Dependency, Evidence
from timbel.analysis.stacks.base import (
    RANK_CONFIG,
    RANK_ENV,
    Detected,
    StackContext,
    default_hit,
    find_health,
    line_at,
    scan_ports,
)

_GEM = re.compile(r"""^\s*gem\s+["']([\w.-]+)["'](?:\s*,\s*["']([^"']+)["'])?""", re.MULTILINE)
_GROUP = re.compile(r"^\s*group\s+(.+?)\s+do\s*$", re.MULTILINE)
_RUBY = re.compile(r"""^\s*ruby\s+["']([\d.]+[\w.-]*)["']""", re.MULTILINE)
_PUMA_PORT = re.compile(
    r"^\s*port\s+ENV\.fetch\(\s*[\"']PORT[\"']\s*(?:\)\s*\{\s*|,\s*)[\"']?(\d{2,5})", re.MULTILINE
)
_PUMA_FIXED = re.compile(r"^\s*(?:port|bind\s+[\"']tcp://[^:]+:)\s*(\d{2,5})\b", re.MULTILINE)
_SINATRA_PORT = re.compile(r"\bset\s+:port\s*,\s*(?:ENV\.fetch\([^)]*\)\s*\{\s*)?(\d{2,5})")
_SINATRA_ENV = re.compile(r"ENV\.fetch\(\s*[\"']PORT[\"']\s*,\s*[\"']?(\d{2,5})")
_RAILS_UP = re.compile(r"""^\s*get\s+["']/?(up)["']\s*=>\s*["']rails/health#show["']""", re.MULTILINE)


def _gems(text: str) -> list[Dependency]:
    """Read `gem` lines; gems inside a development/test group are dev dependencies."""
    deps: list[Dependency] = []
    depth_dev: list[bool] = []
    for line in text.splitlines():
        stripped = line.strip()
        g = _GROUP.match(line)
        if g:
            depth_dev.append(":production" not in g.group(1))
            continue
        if stripped == "end" and depth_dev:
            depth_dev.pop()
            continue
        m = _GEM.match(line)
        if m:
            scope = "dev" if any(depth_dev) else "runtime"
            deps.append(Dependency(name=m.group(1), version=m.group(2), scope=scope))
    return deps


def _runtime(ctx: StackContext, gemfile: str) -> str | None:
    rv = ctx.read(".ruby-version") or ctx.read_repo(".ruby-version")
    if rv and rv.strip():
        return rv.strip().splitlines()[0].removeprefix("ruby-")
    m = _RUBY.search(gemfile)
    return m.group(1) if m else None


def detect(ctx: StackContext) -> Detected | None:
    """Describe the Gemfile in this directory as a Rails/Sinatra/Rack service, a gem, or nothing."""
    text = ctx.read("Gemfile")
    if text is None:
        return None
    dirname = ctx.root.name if ctx.path == "." else ctx.path.rsplit("/", 1)[-1]
    det = Detected(name=dirname, language="Ruby", build_tool="bundler", manifest=ctx.rel("Gemfile"))
    det.dependencies = _gems(text)
    det.runtime_version = _runtime(ctx, text)
    names = {d.name for d in det.dependencies if d.scope == "runtime"}
    all_names = {d.name for d in det.dependencies}
    sources = ctx.sources(".rb")
    if ("rails" in names or "railties" in names) and ctx.has("config/application.rb"):
        app = ctx.read("config/application.rb") or ""
        mod = re.search(r"^module\s+(\w+)", app, re.MULTILINE)
        det.name = mod.group(1).lower() if mod else dirname
        det.framework, det.kind = "Rails", "web"
        det.start_command = "bin/rails server -b 0.0.0.0"
        det.test_command = "bundle exec rspec" if "rspec-rails" in all_names else "bin/rails test"
        puma = [ctx.rel("config/puma.rb")]
        det.hits = scan_ports(ctx, puma, _PUMA_PORT, RANK_ENV, "Puma port, PORT default {port}: {match}")
        if not det.hits:
            det.hits = scan_ports(ctx, puma, _PUMA_FIXED, RANK_CONFIG, "Puma port {port}: {match}")
        det.hits.append(default_hit(ctx, "Gemfile", 3000, "Rails (Puma)"))
        routes_rel = ctx.rel("config/routes.rb")
        routes = ctx.read_repo(routes_rel) or ""
        m = _RAILS_UP.search(routes)
        if m:
            det.health_path = "/up"
            reason = "Rails 7.1+ health check rails/health#show"
            det.health_evidence = [Evidence(file=routes_rel, line=line_at(routes, m.start()), reason=reason)]
        else:
            det.health_path, det.health_evidence = find_health(ctx, [routes_rel])
    elif "sinatra" in names:
        det.framework, det.kind = "Sinatra", "api"
        requires = re.compile(r"""^\s*require\s+["']sinatra""", re.MULTILINE)
        entry = next((f for f in sources if requires.search(ctx.read_repo(f) or "")), None)
        det.hits = scan_ports(ctx, sources, _SINATRA_PORT, RANK_CONFIG, "Sinatra set :port {port}: {match}")
        det.hits += scan_ports(
            ctx, sources, _SINATRA_ENV, RANK_ENV, "PORT environment default {port}: {match}"
        )
        if ctx.has("config.ru"):
            det.start_command = "bundle exec rackup --host 0.0.0.0"
            det.hits.append(default_hit(ctx, "config.ru", 9292, "rackup"))
        else:
            inner = entry[len(ctx.path) + 1 :] if entry and ctx.path != "." else (entry or "app.rb")
            det.start_command = f"bundle exec ruby {inner} -o 0.0.0.0"
            det.hits.append(default_hit(ctx, "Gemfile", 4567, "Sinatra"))
        det.test_command = "bundle exec rspec" if "rspec" in all_names else None
        det.health_path, det.health_evidence = find_health(ctx, sources)
    elif ctx.has("config.ru") and ("rack" in names or "puma" in names):
        det.framework, det.kind = "Rack", "api"
        det.start_command = "bundle exec rackup --host 0.0.0.0"
        det.hits = [default_hit(ctx, "config.ru", 9292, "rackup")]
        det.health_path, det.health_evidence = find_health(ctx, sources)
    elif any(f.endswith(".gemspec") for f in ctx.files):
        return det  # a gem
    else:
        return None  # a Gemfile for tooling (docs, scripts) is not a package of its own
    det.build_command = "bundle install"
    return det
