"""catalog search index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 10:05:00.000000

One denormalised row per catalog entity (``search_entries``: kind, domain, filter values, title,
body, the lower-cased text ``text_key`` and its character grams). SQLite: FTS5 trigram table
``search_fts`` over ``text_key`` (words of 3+ characters) and FTS5 ``search_grams`` over the
unigrams/bigrams (1–2 characters), both external-content tables kept in step by triggers, and a
covering index of what counting and ranking read. PostgreSQL: a ``pg_trgm`` GIN index on
``text_key``, a GIN index on the ``grams`` array. Existing catalog
rows are indexed at the end.

The triggers live on ``search_entries``: a later batch ("move and copy") alteration of that
table on SQLite drops them and must create them again (see docs/decisions/0006-korean-search.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import timbel.core.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_DDL = (
    # Counting and ranking read only these columns: found in this index, the wide rows stay untouched.
    "CREATE INDEX ix_search_entries_hot ON search_entries "
    "(id, kind, domain_id, stage, languages, updated_at, title_key)",
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    "text_key, content='search_entries', content_rowid='id', tokenize='trigram')",
    "CREATE VIRTUAL TABLE search_grams USING fts5("
    "grams, content='search_entries', content_rowid='id', tokenize='ascii', detail='none')",
    """CREATE TRIGGER search_entries_ai AFTER INSERT ON search_entries BEGIN
      INSERT INTO search_fts(rowid, text_key) VALUES (new.id, new.text_key);
      INSERT INTO search_grams(rowid, grams) VALUES (new.id, new.grams);
    END""",
    """CREATE TRIGGER search_entries_ad AFTER DELETE ON search_entries BEGIN
      INSERT INTO search_fts(search_fts, rowid, text_key) VALUES ('delete', old.id, old.text_key);
      INSERT INTO search_grams(search_grams, rowid, grams) VALUES ('delete', old.id, old.grams);
    END""",
    """CREATE TRIGGER search_entries_au AFTER UPDATE ON search_entries BEGIN
      INSERT INTO search_fts(search_fts, rowid, text_key) VALUES ('delete', old.id, old.text_key);
      INSERT INTO search_grams(search_grams, rowid, grams) VALUES ('delete', old.id, old.grams);
      INSERT INTO search_fts(rowid, text_key) VALUES (new.id, new.text_key);
      INSERT INTO search_grams(rowid, grams) VALUES (new.id, new.grams);
    END""",
)
POSTGRES_DDL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_search_entries_text_trgm ON search_entries USING gin (text_key gin_trgm_ops)",
    "CREATE INDEX ix_search_entries_grams ON search_entries USING gin (grams)",
)
PARENTS = (
    ("project_id", "projects"),
    ("system_id", "systems"),
    ("component_id", "components"),
    ("document_id", "documents"),
    ("design_asset_id", "design_assets"),
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    grams_type = postgresql.ARRAY(sa.Text()) if dialect == "postgresql" else sa.Text()
    op.create_table(
        "search_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("domain_id", sa.String(length=36), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=True),
        sa.Column("languages", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("updated_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("title_key", sa.String(length=300), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        *(sa.Column(column, sa.String(length=36), nullable=True) for column, _ in PARENTS),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("text_key", sa.Text(), nullable=False),
        sa.Column("grams", grams_type, nullable=False),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["domains.id"],
            name=op.f("fk_search_entries_domain_id_domains"),
            ondelete="CASCADE",
        ),
        *(
            sa.ForeignKeyConstraint(
                [column],
                [f"{table}.id"],
                name=op.f(f"fk_search_entries_{column}_{table}"),
                ondelete="CASCADE",
            )
            for column, table in PARENTS
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_entries")),
        sa.UniqueConstraint("entity_id", name=op.f("uq_search_entries_entity_id")),
    )
    with op.batch_alter_table("search_entries", schema=None) as batch_op:
        for column in ("domain_id", *(column for column, _ in PARENTS)):
            batch_op.create_index(batch_op.f(f"ix_search_entries_{column}"), [column], unique=False)

    for statement in SQLITE_DDL if dialect == "sqlite" else POSTGRES_DDL:
        op.execute(statement)

    # Index what the catalog already holds (the same code `timbel search reindex` runs).
    from timbel.catalog.search_index import reindex_connection

    reindex_connection(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
