"""create resource ownership

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_resemble_resource",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("upstream_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("parent_id", sa.String(length=32), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["provider_resemble_resource.id"],
            name=op.f("fk_provider_resemble_resource_parent_id_provider_resemble_resource"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_provider_resemble_resource_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_resemble_resource")),
        sa.UniqueConstraint("kind", "upstream_id", name=op.f("uq_provider_resemble_resource_kind_upstream_id")),
    )
    with op.batch_alter_table("provider_resemble_resource", schema=None) as batch_op:
        batch_op.create_index(
            "ix_provider_resemble_resource_owner_listing",
            ["user_id", "kind", "deleted_at", "created_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_provider_resemble_resource_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_provider_resemble_resource_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("provider_resemble_resource", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_resemble_resource_user_id"))
        batch_op.drop_index(batch_op.f("ix_provider_resemble_resource_parent_id"))
        batch_op.drop_index("ix_provider_resemble_resource_owner_listing")
    op.drop_table("provider_resemble_resource")
