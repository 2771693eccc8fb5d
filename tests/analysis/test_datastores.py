"""Datastores from .NET, PHP, Ruby and Rust dependencies, each with the manifest line that reveals it."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from tests.analysis.service_fixtures import make_repo, one_service
from timbel.analysis.report import Service

PROGRAM = "var app = WebApplication.CreateBuilder(args).Build();\napp.Run();\n"


def stores(svc: Service) -> list[tuple[str, str, int | None, str]]:
    """Return (datastore, file, line, reason) for every piece of datastore evidence."""
    return [(d.name, e.file, e.line, e.reason) for d in svc.datastores for e in d.evidence]


class TestDotnet:
    def test_nuget_packages_case_insensitive_with_their_lines(self, tmp_path: Path) -> None:
        csproj = dedent("""\
            <Project Sdk="Microsoft.NET.Sdk.Web">
              <PropertyGroup><TargetFramework>net8.0</TargetFramework></PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Npgsql.EntityFrameworkCore.PostgreSQL" Version="8.0.4" />
                <PackageReference Include="npgsql" Version="8.0.3" />
                <PackageReference Include="StackExchange.Redis" Version="2.7.33" />
                <PackageReference Include="MongoDB.Driver" Version="2.25.0" />
                <PackageReference Include="Confluent.Kafka" Version="2.4.0" />
                <PackageReference Include="Elastic.Clients.Elasticsearch" Version="8.13.0" />
                <PackageReference Include="RabbitMQ.Client" Version="6.8.1" />
                <PackageReference Include="Microsoft.EntityFrameworkCore.SqlServer" Version="8.0.4" />
                <PackageReference Include="Pomelo.EntityFrameworkCore.MySql" Version="8.0.2" />
                <PackageReference Include="Serilog" Version="3.1.1" />
              </ItemGroup>
            </Project>
        """)
        root = make_repo(tmp_path, {"Shop.csproj": csproj, "Program.cs": PROGRAM})
        assert stores(one_service(root)) == [
            ("elasticsearch", "Shop.csproj", 9, "dependency Elastic.Clients.Elasticsearch"),
            ("kafka", "Shop.csproj", 8, "dependency Confluent.Kafka"),
            ("mongodb", "Shop.csproj", 7, "dependency MongoDB.Driver"),
            ("mysql", "Shop.csproj", 12, "dependency Pomelo.EntityFrameworkCore.MySql"),
            ("postgresql", "Shop.csproj", 4, "dependency Npgsql.EntityFrameworkCore.PostgreSQL"),
            ("postgresql", "Shop.csproj", 5, "dependency npgsql"),
            ("rabbitmq", "Shop.csproj", 10, "dependency RabbitMQ.Client"),
            ("redis", "Shop.csproj", 6, "dependency StackExchange.Redis"),
            ("sqlserver", "Shop.csproj", 11, "dependency Microsoft.EntityFrameworkCore.SqlServer"),
        ]

    def test_names_from_other_registries_do_not_count(self, tmp_path: Path) -> None:
        csproj = (
            '<Project Sdk="Microsoft.NET.Sdk.Web"><ItemGroup>\n'
            '<PackageReference Include="pg" Version="1.0.0" />\n'
            '<PackageReference Include="NEST" Version="7.17.5" />\n'
            "</ItemGroup></Project>\n"
        )
        root = make_repo(tmp_path, {"Api.csproj": csproj, "Program.cs": PROGRAM})
        assert stores(one_service(root)) == [("elasticsearch", "Api.csproj", 3, "dependency NEST")]


class TestPhp:
    def test_composer_packages_and_php_extensions(self, tmp_path: Path) -> None:
        composer = dedent("""\
            {
                "name": "acme/shop",
                "require": {
                    "php": "^8.2",
                    "ext-pdo_pgsql": "*",
                    "ext-redis": "*",
                    "laravel/framework": "^11.0",
                    "predis/predis": "^2.2",
                    "mongodb/mongodb": "^1.19",
                    "php-amqplib/php-amqplib": "^3.6",
                    "elasticsearch/elasticsearch": "^8.13"
                },
                "require-dev": {"phpunit/phpunit": "^11.0"}
            }
        """)
        root = make_repo(tmp_path, {"composer.json": composer, "artisan": "#!/usr/bin/env php\n"})
        svc = one_service(root)
        assert stores(svc) == [
            ("elasticsearch", "composer.json", 11, "dependency elasticsearch/elasticsearch"),
            ("mongodb", "composer.json", 9, "dependency mongodb/mongodb"),
            ("postgresql", "composer.json", 5, "dependency ext-pdo_pgsql"),
            ("rabbitmq", "composer.json", 10, "dependency php-amqplib/php-amqplib"),
            ("redis", "composer.json", 8, "dependency predis/predis"),
            ("redis", "composer.json", 6, "dependency ext-redis"),
        ]
        assert "ext-redis" not in {d.name for d in svc.dependencies}  # extensions are not packages


class TestRuby:
    def test_gems_including_sidekiq_for_redis(self, tmp_path: Path) -> None:
        gemfile = dedent("""\
            source "https://rubygems.org"
            gem "sinatra", "~> 4.0"
            gem "pg", "~> 1.5"
            gem "mysql2"
            gem "sidekiq", "~> 7.2"
            gem "mongoid"
            gem "rdkafka"
            gem "elasticsearch"
            gem "bunny"
        """)
        root = make_repo(tmp_path, {"Gemfile": gemfile, "app.rb": "require 'sinatra'\n"})
        assert stores(one_service(root)) == [
            ("elasticsearch", "Gemfile", 8, "dependency elasticsearch"),
            ("kafka", "Gemfile", 7, "dependency rdkafka"),
            ("mongodb", "Gemfile", 6, "dependency mongoid"),
            ("mysql", "Gemfile", 4, "dependency mysql2"),
            ("postgresql", "Gemfile", 3, "dependency pg"),
            ("rabbitmq", "Gemfile", 9, "dependency bunny"),
            ("redis", "Gemfile", 5, "dependency sidekiq"),
        ]


class TestRust:
    MAIN = "fn main() { axum::serve(listener, app); }\n"

    def test_crates_renames_and_sqlx_features(self, tmp_path: Path) -> None:
        cargo = dedent("""\
            [package]
            name = "api"
            version = "0.1.0"
            description = "talks to postgres and redis"

            [dependencies]
            axum = "0.7"
            sqlx = { version = "0.7", features = [
                "runtime-tokio",
                "postgres",
            ] }
            pg = { package = "tokio-postgres", version = "0.7" }
            redis = "0.25"
            mongodb = "2.8"
            rdkafka = "0.36"
            mysql_async = "0.34"
            lapin = "2.3"
            elasticsearch = "8.5.0-alpha.1"
        """)
        root = make_repo(tmp_path, {"Cargo.toml": cargo, "src/main.rs": self.MAIN})
        assert stores(one_service(root)) == [
            ("elasticsearch", "Cargo.toml", 18, "dependency elasticsearch"),
            ("kafka", "Cargo.toml", 15, "dependency rdkafka"),
            ("mongodb", "Cargo.toml", 14, "dependency mongodb"),
            ("mysql", "Cargo.toml", 16, "dependency mysql_async"),
            ("postgresql", "Cargo.toml", 12, "dependency tokio-postgres"),
            ("postgresql", "Cargo.toml", 10, "dependency sqlx with feature postgres"),
            ("rabbitmq", "Cargo.toml", 17, "dependency lapin"),
            ("redis", "Cargo.toml", 13, "dependency redis"),
        ]

    def test_workspace_inherited_features_and_a_diesel_table(self, tmp_path: Path) -> None:
        root = make_repo(
            tmp_path,
            {
                "Cargo.toml": '[workspace]\nmembers = ["api"]\n\n[workspace.dependencies]\n'
                'sqlx = { version = "0.7", features = ["mysql"] }\n',
                "api/Cargo.toml": '[package]\nname = "api"\nversion = "0.1.0"\n\n[dependencies]\n'
                'axum = "0.7"\nsqlx = { workspace = true }\n\n[dependencies.diesel]\n'
                'version = "2.1"\nfeatures = ["postgres"]\n',
                "api/src/main.rs": self.MAIN,
            },
        )
        assert stores(one_service(root)) == [
            ("mysql", "api/Cargo.toml", 7, "dependency sqlx with feature mysql"),
            ("postgresql", "api/Cargo.toml", 11, "dependency diesel with feature postgres"),
        ]
