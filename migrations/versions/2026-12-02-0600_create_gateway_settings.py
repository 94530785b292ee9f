"""create gateway settings

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_gateway_settings")),
    )
    op.create_table(
        "gateway_setting_changes",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=False),
        sa.Column("new_value", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_setting_changes")),
    )
    with op.batch_alter_table("gateway_setting_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateway_setting_changes_changed_at"), ["changed_at"], unique=False)
        batch_op.create_index("ix_gateway_setting_changes_key_changed_at", ["key", "changed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gateway_setting_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_gateway_setting_changes_key_changed_at")
        batch_op.drop_index(batch_op.f("ix_gateway_setting_changes_changed_at"))
    op.drop_table("gateway_setting_changes")
    op.drop_table("gateway_settings")
