""".NET, PHP, Ruby, Rust and static-site service detection with port evidence, runtimes and health paths."""

from __future__ import annotations

from pathlib import Path

from tests.analysis.more_stacks_fixtures import (
    LARAVEL_BOOT,
    LARAVEL_COMPOSER,
    LAUNCH,
    PROGRAM,
    RAILS_GEMFILE,
    RUST_WORKSPACE,
    WEB_CSPROJ,
    facts,
)
from tests.analysis.service_fixtures import evidence_lines, make_repo, one_service
from timbel.analysis.services import detect_services, scan_services


class TestDotnet:
    def test_web_sdk_project_with_launch_settings_port_and_health_checks(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "src/Orders.Api/Orders.Api.csproj": WEB_CSPROJ,
                "src/Orders.Api/Properties/launchSettings.json": LAUNCH,
                "src/Orders.Api/Program.cs": PROGRAM,
                "src/Orders.Core/Orders.Core.csproj": '<Project Sdk="Microsoft.NET.Sdk">\n'
                "  <PropertyGroup><TargetFramework>net8.0</TargetFramework></PropertyGroup>\n</Project>\n",
                "tests/Orders.Tests/Orders.Tests.csproj": '<Project Sdk="Microsoft.NET.Sdk"><ItemGroup>'
                '<PackageReference Include="Microsoft.NET.Test.Sdk" Version="17.10.0" />'
                "</ItemGroup></Project>\n",
            },
        )
        services, libraries = detect_services(root)
        assert [(lib.name, lib.path, lib.language) for lib in libraries] == [
            ("Orders.Core", "src/Orders.Core", "C#")
        ]
        (svc,) = services
        got = facts(svc, "name", "kind", "framework", "language", "build_tool", "runtime_version")
        assert got == ("Orders.Api", "api", "ASP.NET Core", "C#", "dotnet", "8.0")
        assert svc.port == 5180
        assert evidence_lines(svc) == [("src/Orders.Api/Properties/launchSettings.json", 5)]
        assert svc.health_path == "/healthz" and svc.health_evidence[0].line == 4
        assert svc.start_command == "dotnet out/Orders.Api.dll"
        assert svc.build_command == "dotnet publish Orders.Api.csproj -c Release -o out"
        assert [(d.name, d.version) for d in svc.dependencies] == [
            ("Npgsql.EntityFrameworkCore.PostgreSQL", "8.0.4")
        ]

    def test_dockerfile_aspnetcore_urls_beats_launch_settings_and_net8_default(self, tmp_path: Path) -> None:
        csproj = WEB_CSPROJ.replace("net8.0", "net6.0")
        root = make_repo(
            tmp_path / "a",
            {
                "Api.csproj": csproj,
                "Properties/launchSettings.json": LAUNCH,
                "global.json": '{"sdk": {"version": "6.0.400"}}\n',
                "Dockerfile": "FROM mcr.microsoft.com/dotnet/aspnet:6.0\nENV ASPNETCORE_URLS=http://+:7000\n",
                "Program.cs": "var app = WebApplication.Create(args);\napp.Run();\n",
            },
        )
        svc = one_service(root)
        assert (svc.runtime_version, svc.port, svc.dockerfile) == ("6.0", 7000, "Dockerfile")
        assert evidence_lines(svc) == [("Dockerfile", 2), ("Properties/launchSettings.json", 5)]
        assert "dotnet run only" in svc.port_evidence[1].reason
        bare = one_service(
            make_repo(tmp_path / "b", {"Web.csproj": WEB_CSPROJ, "Program.cs": "app.Run();\n"})
        )
        assert bare.port == 8080 and "default" in bare.port_evidence[0].reason
        assert bare.port_evidence[0].line is None

    def test_broken_csproj_is_a_problem_not_a_crash(self, tmp_path: Path) -> None:
        root = make_repo(tmp_path, {"Bad.csproj": "<Project Sdk=", "svc/go.mod": "module x/svc\n"})
        scan = scan_services(root)
        assert [p.file for p in scan.problems] == ["Bad.csproj"]


class TestPhp:
    def test_laravel_with_health_route_and_php_requirement(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "composer.json": LARAVEL_COMPOSER,
                "artisan": "#!/usr/bin/env php\n",
                "bootstrap/app.php": LARAVEL_BOOT,
            },
        )
        svc = one_service(root)
        got = facts(svc, "name", "framework", "kind", "language", "runtime_version")
        assert got == ("shop", "Laravel", "web", "PHP", "^8.2")
        assert svc.port == 8000 and "default" in svc.port_evidence[0].reason
        assert svc.health_path == "/up"
        assert (svc.health_evidence[0].file, svc.health_evidence[0].line) == ("bootstrap/app.php", 5)
        assert svc.start_command == "php artisan serve --host=0.0.0.0 --port=8000"
        assert svc.test_command == "php artisan test"
        assert {d.name: d.version for d in svc.dependencies}["laravel/framework"] == "^11.0"

    def test_laravel_server_port_in_env_but_not_sails_host_app_port(self, tmp_path: Path) -> None:
        composer = '{"require": {"laravel/framework": "^10.0"}}\n'
        env = "APP_NAME=shop\nAPP_PORT=80\nSERVER_PORT=8010\n"
        svc = one_service(make_repo(tmp_path, {"composer.json": composer, "artisan": "", ".env": env}))
        assert svc.port == 8010 and evidence_lines(svc) == [(".env", 3)]

    def test_symfony_with_a_composer_script_port_and_a_plain_library(self, tmp_path: Path) -> None:
        composer = (
            '{"require": {"php": ">=8.1", "symfony/framework-bundle": "7.1.*"},\n'
            ' "scripts": {"serve": "php -S 0.0.0.0:8090 -t public"}}\n'
        )
        root = make_repo(
            tmp_path,
            {
                "app/composer.json": composer,
                "app/public/index.php": "<?php\n",
                "lib/composer.json": '{"name": "acme/money", "type": "library", '
                '"require": {"php": ">=8.1"}}\n',
            },
        )
        services, libraries = detect_services(root)
        (svc,) = services
        assert (svc.path, svc.framework, svc.port, svc.runtime_version) == ("app", "Symfony", 8090, ">=8.1")
        assert evidence_lines(svc) == [("app/composer.json", 2)]
        assert svc.start_command == "php -S 0.0.0.0:8000 -t public"
        assert [(lib.name, lib.path, lib.language) for lib in libraries] == [("money", "lib", "PHP")]


class TestRuby:
    def test_rails_puma_port_up_route_and_ruby_version(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "Gemfile": RAILS_GEMFILE,
                ".ruby-version": "ruby-3.3.0\n",
                "config/application.rb": "require_relative 'boot'\nmodule Blog\n"
                "  class Application\n  end\nend\n",
                "config/puma.rb": 'threads 5, 5\nport ENV.fetch("PORT") { 3100 }\n',
                "config/routes.rb": 'Rails.application.routes.draw do\n  get "up" => "rails/health#show", '
                "as: :rails_health_check\nend\n",
            },
        )
        svc = one_service(root)
        got = facts(svc, "name", "framework", "kind", "language", "build_tool", "runtime_version")
        assert got == ("blog", "Rails", "web", "Ruby", "bundler", "3.3.0")
        assert svc.port == 3100 and evidence_lines(svc) == [("config/puma.rb", 2)]
        assert svc.health_path == "/up" and svc.health_evidence[0].line == 2
        assert (svc.start_command, svc.test_command) == ("bin/rails server -b 0.0.0.0", "bundle exec rspec")
        scopes = {d.name: d.scope for d in svc.dependencies}
        assert scopes["rails"] == "runtime" and scopes["rspec-rails"] == "dev"
        assert [d.name for d in svc.datastores] == ["postgresql"]

    def test_sinatra_set_port_gemfile_ruby_and_a_gem_library(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "api/Gemfile": 'source "https://rubygems.org"\nruby "3.1.4"\ngem "sinatra", "~> 4.0"\n',
                "api/app.rb": "require 'sinatra'\nset :bind, '0.0.0.0'\nset :port, 4600\n"
                "get '/health' do\n  'ok'\nend\n",
                "gem/Gemfile": 'source "https://rubygems.org"\ngemspec\n',
                "gem/money.gemspec": "Gem::Specification.new do |s|\nend\n",
                "docs/Gemfile": 'gem "jekyll-feed"\n',
            },
        )
        services, libraries = detect_services(root)
        (svc,) = services
        assert facts(svc, "path", "framework", "kind", "runtime_version", "port") == (
            "api",
            "Sinatra",
            "api",
            "3.1.4",
            4600,
        )
        assert evidence_lines(svc) == [("api/app.rb", 3)]
        assert svc.start_command == "bundle exec ruby app.rb -o 0.0.0.0"
        assert svc.health_path == "/health" and svc.health_evidence[0].line == 4
        assert [(lib.path, lib.language) for lib in libraries] == [("gem", "Ruby")]

    def test_rails_71_puma_fetch_with_a_default_argument(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "Gemfile": 'gem "rails"\n',
                "config/application.rb": "module Shop\nend\n",
                "config/puma.rb": 'port ENV.fetch("PORT", 3200)\n',
            },
        )
        svc = one_service(root)
        assert (svc.name, svc.port, svc.health_path) == ("shop", 3200, None)
        assert evidence_lines(svc) == [("config/puma.rb", 1)]

    def test_sinatra_without_a_port_says_the_default(self, tmp_path: Path) -> None:
        root = make_repo(tmp_path, {"Gemfile": 'gem "sinatra"\n', "app.rb": "require 'sinatra'\n"})
        svc = one_service(root)
        assert svc.port == 4567 and svc.port_evidence[0].reason.startswith("Sinatra default port 4567")


class TestRust:
    def test_workspace_members_axum_service_actix_service_and_library(self, tmp_path: Path) -> None:
        services, libraries = detect_services(make_repo(tmp_path, RUST_WORKSPACE))
        assert [(lib.name, lib.path, lib.language, lib.build_tool) for lib in libraries] == [
            ("core", "core", "Rust", "cargo")
        ]
        admin, api = services
        assert facts(api, "name", "framework", "kind", "runtime_version", "port") == (
            "api",
            "axum",
            "api",
            "1.79.0",
            8080,
        )
        assert evidence_lines(api) == [("api/src/main.rs", 5)]
        assert api.health_path == "/healthz" and api.health_evidence[0].line == 4
        assert (api.build_command, api.start_command) == (
            "cargo build --release -p api",
            "../target/release/api",
        )
        assert (admin.framework, admin.port, admin.start_command) == (
            "actix-web",
            9000,
            "../target/release/admin-server",
        )
        assert evidence_lines(admin) == [("admin/src/server.rs", 2), ("admin/src/server.rs", 3)]

    def test_rocket_toml_port_rust_version_and_a_cli_binary_is_a_library(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "web/Cargo.toml": '[package]\nname = "web"\nversion = "0.1.0"\nrust-version = "1.70"\n\n'
                '[dependencies]\nrocket = "0.5"\n',
                "web/src/main.rs": "#[launch]\nfn rocket() -> _ { rocket::build() }\n",
                "web/Rocket.toml": '[default]\naddress = "0.0.0.0"\nport = 8123\n',
                "cli/Cargo.toml": '[package]\nname = "tool"\nversion = "0.1.0"\n\n'
                '[dependencies]\nclap = "4"\n',
                "cli/src/main.rs": "fn main() {}\n",
            },
        )
        services, libraries = detect_services(root)
        (svc,) = services
        assert (svc.framework, svc.runtime_version, svc.port) == ("Rocket", "1.70", 8123)
        assert evidence_lines(svc) == [("web/Rocket.toml", 3)]
        assert [lib.name for lib in libraries] == ["tool"]

    def test_member_inherits_the_workspace_rust_version(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "Cargo.toml": '[workspace]\nmembers = ["svc"]\n[workspace.package]\nrust-version = "1.75"\n',
                "svc/Cargo.toml": '[package]\nname = "svc"\nrust-version.workspace = true\n'
                '[dependencies]\nwarp = "0.3"\n',
                "svc/src/main.rs": "fn main() {}\n",
            },
        )
        svc = one_service(root)
        assert (svc.framework, svc.runtime_version, svc.port) == ("warp", "1.75", None)

    def test_broken_cargo_toml_is_reported(self, tmp_path: Path) -> None:
        scan = scan_services(make_repo(tmp_path, {"Cargo.toml": "[package\nname="}))
        assert [p.file for p in scan.problems] == ["Cargo.toml"] and scan.services == []


class TestStatic:
    def test_plain_html_site_served_by_nginx_on_default_port_80_stray_config_toml_ignored(
        self, tmp_path: Path
    ) -> None:
        root = make_repo(
            tmp_path,
            {
                "config.toml": "[tool]\nname = 'not hugo'\n",
                "site/index.html": "<!doctype html><title>hi</title>\n",
                "site/about/index.html": "<p>about</p>\n",
                "site/style.css": "body{}\n",
            },
        )
        svc = one_service(root)
        assert (svc.name, svc.path, svc.kind, svc.language, svc.framework, svc.port) == (
            "site",
            "site",
            "frontend",
            "HTML",
            "static",
            80,
        )
        assert "nginx" in svc.port_evidence[0].reason and "default" in svc.port_evidence[0].reason
        assert (svc.build_command, svc.start_command) == (None, 'nginx -g "daemon off;"')

    def test_generators_hugo_jekyll_mkdocs_get_build_commands(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "blog/config.toml": 'baseURL = "https://example.org/"\ntheme = "ananke"\n',
                "blog/content/post.md": "# Post\n",
                "blog/public/index.html": "<p>built output</p>\n",
                "handbook/_config.yml": "title: Handbook\n",
                "handbook/index.md": "# Handbook\n",
                "manual/mkdocs.yml": "site_name: Manual\n",
                "manual/docs/index.md": "# Manual\n",
            },
        )
        services, _ = detect_services(root)
        got = {(s.path, s.framework, s.build_command, s.kind, s.port) for s in services}
        assert got == {
            ("blog", "Hugo", "hugo --minify", "frontend", 80),
            ("handbook", "Jekyll", "bundle exec jekyll build", "frontend", 80),
            ("manual", "MkDocs", "mkdocs build", "frontend", 80),
        }

    def test_index_html_owned_by_another_manifest_or_a_template_is_not_a_site(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "web/package.json": '{"name": "web", "dependencies": {"react": "18"}, '
                '"devDependencies": {"vite": "5"}, "scripts": {"dev": "vite", "build": "vite build"}}\n',
                "web/index.html": "<div id=root></div>\n",
                "web/public/index.html": "<p>x</p>\n",
                "templates/index.html": "{{ body }}\n",
                "htmlcov/index.html": "<p>coverage</p>\n",
            },
        )
        services, _ = detect_services(root)
        assert [(s.path, s.framework) for s in services] == [("web", "React")]
