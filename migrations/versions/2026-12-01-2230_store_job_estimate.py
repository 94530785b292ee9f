"""store job estimate

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: jobs submitted before this revision have no stored estimate and are billed the configured default.
    with op.batch_alter_table("provider_resemble_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("estimate_rate_key", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("estimated_quantity", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provider_resemble_job", schema=None) as batch_op:
        batch_op.drop_column("estimated_quantity")
        batch_op.drop_column("estimate_rate_key")
