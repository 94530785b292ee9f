"""track asset purge

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # deleted_at: moved to _deleted/ (soft-deleted); purged_at: hard-deleted after the soft-delete window.
    with op.batch_alter_table("provider_resemble_asset", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_provider_resemble_asset_deleted_at"), ["deleted_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("provider_resemble_asset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_resemble_asset_deleted_at"))
        batch_op.drop_column("purged_at")
