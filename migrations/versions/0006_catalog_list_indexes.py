"""catalog list indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 10:53:05.864051
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("components", schema=None) as batch_op:
        batch_op.create_index("ix_components_name_id", ["name", "id"], unique=False)

    with op.batch_alter_table("design_assets", schema=None) as batch_op:
        batch_op.create_index("ix_design_assets_title_id", ["title", "id"], unique=False)

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index("ix_documents_title_id", ["title", "id"], unique=False)

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index("ix_projects_name_id", ["name", "id"], unique=False)

    with op.batch_alter_table("systems", schema=None) as batch_op:
        batch_op.create_index("ix_systems_name_id", ["name", "id"], unique=False)


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
