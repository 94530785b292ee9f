"""create task locks

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_locks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=True),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_task_locks")),
    )


def downgrade() -> None:
    op.drop_table("task_locks")
