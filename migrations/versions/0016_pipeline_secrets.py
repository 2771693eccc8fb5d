"""Pipeline secrets: encrypted values and their names on pipelines.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add pipelines.secrets (encrypted JSON, nullable) and pipelines.secret_names (JSON, default [])."""
    with op.batch_alter_table("pipelines") as batch:
        batch.add_column(sa.Column("secrets", sa.Text(), nullable=True))
        batch.add_column(sa.Column("secret_names", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    """Forward-only: migrations are never reversed."""
    raise NotImplementedError("migrations are forward-only")
