"""Fixture texts for the .NET, PHP, Ruby and Rust detection tests (kept apart to keep the tests short)."""

from __future__ import annotations

from textwrap import dedent

from timbel.analysis.report import Service


def facts(svc: Service, *fields: str) -> tuple[object, ...]:
    """Return the named fields of a service, for one-line comparisons."""
    return tuple(getattr(svc, f) for f in fields)


WEB_CSPROJ = """\
<Project Sdk="Microsoft.NET.Sdk.Web">
  <PropertyGroup>
    <TargetFramework>net8.0</TargetFramework>
    <Nullable>enable</Nullable>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Npgsql.EntityFrameworkCore.PostgreSQL" Version="8.0.4" />
  </ItemGroup>
</Project>
"""
LAUNCH = """\
{
  "profiles": {
    "http": {
      "commandName": "Project",
      "applicationUrl": "http://localhost:5180"
    }
  }
}
"""
PROGRAM = """\
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddHealthChecks();
var app = builder.Build();
app.MapHealthChecks("/healthz");
app.MapGet("/", () => "hi");
app.Run();
"""
LARAVEL_COMPOSER = dedent("""\
{
    "name": "acme/shop",
    "type": "project",
    "require": {
        "php": "^8.2",
        "laravel/framework": "^11.0"
    },
    "require-dev": {"phpunit/phpunit": "^11.0"}
}
""")
LARAVEL_BOOT = dedent("""\
<?php
return Application::configure(basePath: dirname(__DIR__))
    ->withRouting(
        web: __DIR__.'/../routes/web.php',
        health: '/up',
    )
    ->create();
""")

RAILS_GEMFILE = """\
source "https://rubygems.org"
ruby "3.2.2"
gem "rails", "~> 7.1.3"
gem "pg", "~> 1.1"
gem "puma", ">= 5.0"
group :development, :test do
  gem "rspec-rails"
end
"""

RUST_WORKSPACE = {
    "Cargo.toml": '[workspace]\nmembers = ["api", "admin", "core"]\n\n'
    '[workspace.package]\nrust-version = "1.75"\n',
    "rust-toolchain.toml": '[toolchain]\nchannel = "1.79.0"\n',
    "api/Cargo.toml": '[package]\nname = "api"\nversion = "0.1.0"\n\n[dependencies]\n'
    'axum = "0.7"\ntokio = { version = "1", features = ["full"] }\nsqlx = "0.7"\n',
    "api/src/main.rs": dedent("""\
    use axum::{routing::get, Router};
    #[tokio::main]
    async fn main() {
        let app = Router::new().route("/healthz", get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await.unwrap();
        axum::serve(listener, app).await.unwrap();
    }
    """),
    "admin/Cargo.toml": '[package]\nname = "admin"\nversion = "0.1.0"\n\n'
    '[[bin]]\nname = "admin-server"'
    '\npath = "src/server.rs"\n\n[dependencies]\nactix-web = "4"\n',
    "admin/src/server.rs": 'HttpServer::new(|| App::new())\n    .bind(("0.0.0.0", 9000))?\n'
    '    .bind("0.0.0.0:9001")?\n',
    "core/Cargo.toml": '[package]\nname = "core"\nversion = "0.1.0"\n',
    "core/src/lib.rs": "pub fn f() {}\n",
}
