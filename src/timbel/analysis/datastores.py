"""Infer the datastores a service needs from its direct dependencies (drivers and client libraries)."""

from __future__ import annotations

import re
from pathlib import Path

from timbel.analysis._fs import read_text
from timbel.analysis.report import Datastore, Evidence
from timbel.analysis.stacks.base import Detected, line_at

DATASTORES: dict[str, tuple[str, ...]] = {
    "postgresql": (
        "pg",
        "postgres",
        "psycopg",
        "psycopg2",
        "psycopg2-binary",
        "asyncpg",
        "org.postgresql:postgresql",
        "github.com/lib/pq",
        "github.com/jackc/pgx",
    ),
    "mysql": (
        "mysql",
        "mysql2",
        "mysqlclient",
        "pymysql",
        "aiomysql",
        "mysql:mysql-connector-java",
        "com.mysql:mysql-connector-j",
        "github.com/go-sql-driver/mysql",
    ),
    "redis": (
        "redis",
        "ioredis",
        "aioredis",
        "org.springframework.boot:spring-boot-starter-data-redis",
        "redis.clients:jedis",
        "github.com/redis/go-redis",
        "github.com/go-redis/redis",
    ),
    "mongodb": (
        "mongodb",
        "mongoose",
        "pymongo",
        "motor",
        "org.springframework.boot:spring-boot-starter-data-mongodb",
        "go.mongodb.org/mongo-driver",
    ),
    "kafka": (
        "kafkajs",
        "kafka-python",
        "confluent-kafka",
        "aiokafka",
        "org.springframework.kafka:spring-kafka",
        "org.apache.kafka:kafka-clients",
        "github.com/segmentio/kafka-go",
        "github.com/ibm/sarama",
    ),
    "elasticsearch": (
        "elasticsearch",
        "@elastic/elasticsearch",
        "elasticsearch-dsl",
        "org.springframework.boot:spring-boot-starter-data-elasticsearch",
        "github.com/elastic/go-elasticsearch",
    ),
    "rabbitmq": (
        "amqplib",
        "pika",
        "aio-pika",
        "org.springframework.boot:spring-boot-starter-amqp",
        "github.com/rabbitmq/amqp091-go",
        "github.com/streadway/amqp",
    ),
}


def _line(text: str, name: str) -> int | None:
    """Find the manifest line naming a dependency as a whole word (so `pg` does not match `upgrade`)."""
    m = re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE)
    return line_at(text, m.start()) if m else None


def datastores_for(root: Path, det: Detected) -> list[Datastore]:
    """Infer datastores from a detected package's dependencies, with the manifest line as evidence."""
    text = read_text(root, det.manifest) or ""
    found: dict[str, Datastore] = {}
    for dep in det.dependencies:
        name = dep.name.lower()
        for store, patterns in DATASTORES.items():
            if any(name == p or name.startswith(p + "/") for p in patterns):
                ev = Evidence(
                    file=det.manifest,
                    line=_line(text, dep.name.split(":")[-1]),
                    reason=f"dependency {dep.name}",
                )
                found.setdefault(store, Datastore(name=store)).evidence.append(ev)
    return sorted(found.values(), key=lambda d: d.name)
