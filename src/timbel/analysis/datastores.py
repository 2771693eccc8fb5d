"""Infer the datastores a service needs from its direct dependencies (drivers and client libraries).

Why per ecosystem: the same short name means different things in different registries (npm's
`nest` is not .NET's Elasticsearch client `NEST`), so a dependency is only looked up in the table
of the registry its manifest belongs to. Names compare case-insensitively (NuGet and Composer
names are case-insensitive; Cargo treats `-` and `_` alike). Go module paths also match their
sub-paths (`github.com/jackc/pgx/v5`). PHP extensions (`ext-redis`) and Cargo features (`sqlx`
with `postgres`) reveal datastores too.
"""

from __future__ import annotations

import re
from pathlib import Path

from timbel.analysis._fs import read_text
from timbel.analysis.report import Datastore, Evidence
from timbel.analysis.stacks.base import Detected, line_at

Table = dict[str, tuple[str, ...]]

_NPM: Table = {
    "postgresql": ("pg", "postgres"),
    "mysql": ("mysql", "mysql2"),
    "sqlserver": ("mssql", "tedious"),
    "redis": ("redis", "ioredis"),
    "mongodb": ("mongodb", "mongoose"),
    "kafka": ("kafkajs",),
    "elasticsearch": ("@elastic/elasticsearch",),
    "rabbitmq": ("amqplib",),
}
_PYPI: Table = {
    "postgresql": ("psycopg", "psycopg2", "psycopg2-binary", "asyncpg"),
    "mysql": ("mysqlclient", "pymysql", "aiomysql"),
    "sqlserver": ("pymssql",),
    "redis": ("redis", "aioredis"),
    "mongodb": ("pymongo", "motor"),
    "kafka": ("kafka-python", "confluent-kafka", "aiokafka"),
    "elasticsearch": ("elasticsearch", "elasticsearch-dsl"),
    "rabbitmq": ("pika", "aio-pika"),
}
_MAVEN: Table = {
    "postgresql": ("org.postgresql:postgresql",),
    "mysql": ("mysql:mysql-connector-java", "com.mysql:mysql-connector-j"),
    "sqlserver": ("com.microsoft.sqlserver:mssql-jdbc",),
    "redis": ("org.springframework.boot:spring-boot-starter-data-redis", "redis.clients:jedis"),
    "mongodb": ("org.springframework.boot:spring-boot-starter-data-mongodb",),
    "kafka": ("org.springframework.kafka:spring-kafka", "org.apache.kafka:kafka-clients"),
    "elasticsearch": ("org.springframework.boot:spring-boot-starter-data-elasticsearch",),
    "rabbitmq": ("org.springframework.boot:spring-boot-starter-amqp",),
}
_GO: Table = {
    "postgresql": ("github.com/lib/pq", "github.com/jackc/pgx"),
    "mysql": ("github.com/go-sql-driver/mysql",),
    "sqlserver": ("github.com/microsoft/go-mssqldb", "github.com/denisenkom/go-mssqldb"),
    "redis": ("github.com/redis/go-redis", "github.com/go-redis/redis"),
    "mongodb": ("go.mongodb.org/mongo-driver",),
    "kafka": ("github.com/segmentio/kafka-go", "github.com/ibm/sarama"),
    "elasticsearch": ("github.com/elastic/go-elasticsearch",),
    "rabbitmq": ("github.com/rabbitmq/amqp091-go", "github.com/streadway/amqp"),
}
_NUGET: Table = {
    "postgresql": ("Npgsql", "Npgsql.EntityFrameworkCore.PostgreSQL"),
    "mysql": (
        "MySql.Data",
        "MySqlConnector",
        "Pomelo.EntityFrameworkCore.MySql",
        "MySql.EntityFrameworkCore",
    ),
    "sqlserver": (
        "Microsoft.Data.SqlClient",
        "System.Data.SqlClient",
        "Microsoft.EntityFrameworkCore.SqlServer",
    ),
    "redis": ("StackExchange.Redis", "Microsoft.Extensions.Caching.StackExchangeRedis"),
    "mongodb": ("MongoDB.Driver", "MongoDB.EntityFrameworkCore"),
    "kafka": ("Confluent.Kafka",),
    "elasticsearch": ("NEST", "Elasticsearch.Net", "Elastic.Clients.Elasticsearch"),
    "rabbitmq": ("RabbitMQ.Client", "MassTransit.RabbitMQ"),
}
_COMPOSER: Table = {
    "postgresql": ("ext-pgsql", "ext-pdo_pgsql"),
    "mysql": ("ext-mysqli", "ext-pdo_mysql"),
    "sqlserver": ("ext-sqlsrv", "ext-pdo_sqlsrv"),
    "redis": ("predis/predis", "ext-redis"),
    "mongodb": ("mongodb/mongodb", "ext-mongodb", "doctrine/mongodb-odm"),
    "kafka": ("ext-rdkafka",),
    "elasticsearch": ("elasticsearch/elasticsearch", "ruflin/elastica"),
    "rabbitmq": ("php-amqplib/php-amqplib", "ext-amqp"),
}
_RUBYGEMS: Table = {
    "postgresql": ("pg",),
    "mysql": ("mysql2", "trilogy"),
    "sqlserver": ("tiny_tds", "activerecord-sqlserver-adapter"),
    "redis": ("redis", "redis-client", "hiredis", "sidekiq", "resque"),
    "mongodb": ("mongo", "mongoid"),
    "kafka": ("ruby-kafka", "rdkafka", "karafka"),
    "elasticsearch": ("elasticsearch", "elasticsearch-model", "chewy"),
    "rabbitmq": ("bunny", "sneakers"),
}
_CARGO: Table = {
    "postgresql": ("postgres", "tokio-postgres", "deadpool-postgres", "bb8-postgres"),
    "mysql": ("mysql", "mysql_async"),
    "sqlserver": ("tiberius",),
    "redis": ("redis", "deadpool-redis", "bb8-redis", "fred"),
    "mongodb": ("mongodb",),
    "kafka": ("rdkafka", "kafka"),
    "elasticsearch": ("elasticsearch",),
    "rabbitmq": ("lapin", "amqprs"),
}
# Crates whose datastore is chosen by a Cargo feature: crate -> feature -> datastore.
CARGO_FEATURES: dict[str, dict[str, str]] = {
    "sqlx": {"postgres": "postgresql", "mysql": "mysql", "mssql": "sqlserver"},
    "diesel": {"postgres": "postgresql", "mysql": "mysql"},
    "sea-orm": {"sqlx-postgres": "postgresql", "sqlx-mysql": "mysql"},
}
ECOSYSTEMS: dict[str, Table] = {
    "npm": _NPM,
    "pypi": _PYPI,
    "maven": _MAVEN,
    "go": _GO,
    "nuget": _NUGET,
    "composer": _COMPOSER,
    "rubygems": _RUBYGEMS,
    "cargo": _CARGO,
}
# Detected.language -> the registry its manifests name packages in.
_BY_LANGUAGE = {
    "JavaScript": "npm",
    "TypeScript": "npm",
    "Python": "pypi",
    "Java": "maven",
    "Kotlin": "maven",
    "Scala": "maven",
    "Groovy": "maven",
    "Go": "go",
    "C#": "nuget",
    "F#": "nuget",
    "Visual Basic .NET": "nuget",
    "PHP": "composer",
    "Ruby": "rubygems",
    "Rust": "cargo",
}


def _norm(ecosystem: str, name: str) -> str:
    """Fold a package name the way its registry compares names."""
    name = name.lower()
    return name.replace("_", "-") if ecosystem == "cargo" else name


def _stores(ecosystem: str | None, name: str) -> list[str]:
    """Return the datastores a package name reveals in one registry (every registry when unknown)."""
    out: list[str] = []
    for eco in [ecosystem] if ecosystem else list(ECOSYSTEMS):
        key = _norm(eco, name)
        for store, names in ECOSYSTEMS[eco].items():
            patterns = [_norm(eco, n) for n in names]
            if store not in out and any(
                key == p or (eco == "go" and key.startswith(p + "/")) for p in patterns
            ):
                out.append(store)
    return out


def _line(text: str, name: str, start: int = 0) -> int | None:
    """Find the manifest line declaring a dependency: quoted first, then as a TOML key, then a whole word.

    Whole word means `pg` does not match `upgrade` and `Npgsql` does not match `Npgsql.EntityFrameworkCore`.
    """
    word = re.escape(name)
    for pattern in (
        rf"[\"']{word}[\"']",
        rf"^\s*(?:\[[\w.-]*dependencies\.)?{word}(?:\]|\s*=)",
        rf"(?<![\w.-]){word}(?![\w-]|\.\w)",
    ):
        m = re.compile(pattern, re.IGNORECASE | re.MULTILINE).search(text, start)
        if m:
            return line_at(text, m.start())
    return None


def _feature_line(text: str, crate: str, feature: str) -> int | None:
    """Find the line enabling a Cargo feature, after the line that declares the crate."""
    first = _line(text, crate)
    if first is None:
        return None
    offset = sum(len(line) + 1 for line in text.split("\n")[: first - 1])
    m = re.compile(rf"[\"']{re.escape(feature)}[\"']").search(text, offset)
    return line_at(text, m.start()) if m else first


def datastores_for(root: Path, det: Detected) -> list[Datastore]:
    """Infer datastores from a detected package's dependencies, with the manifest line as evidence."""
    text = read_text(root, det.manifest) or ""
    ecosystem = _BY_LANGUAGE.get(det.language)
    found: dict[str, Datastore] = {}

    def add(store: str, line: int | None, reason: str) -> None:
        ev = Evidence(file=det.manifest, line=line, reason=reason)
        found.setdefault(store, Datastore(name=store)).evidence.append(ev)

    for dep in [*det.dependencies, *det.platform_requirements]:
        for store in _stores(ecosystem, dep.name):
            add(store, _line(text, dep.name.split(":")[-1]), f"dependency {dep.name}")
    for crate, features in det.dependency_features.items():
        for feature in features:
            chosen = CARGO_FEATURES.get(_norm("cargo", crate), {}).get(feature)
            if chosen:
                add(chosen, _feature_line(text, crate, feature), f"dependency {crate} with feature {feature}")
    return sorted(found.values(), key=lambda d: d.name)
