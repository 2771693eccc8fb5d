"""catalog domains: industry, region, priority, description, contacts, owner

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 08:00:16.532893
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import timbel.core.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("domains", schema=None) as batch_op:
        batch_op.add_column(sa.Column("industry", sa.String(length=100), server_default="", nullable=False))
        batch_op.add_column(sa.Column("region", sa.String(length=100), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("priority", sa.String(length=16), server_default="medium", nullable=False)
        )
        batch_op.add_column(sa.Column("description", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("contacts", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("owner_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("updated_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_domains_owner_id"), ["owner_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_domains_owner_id_users"), "users", ["owner_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
