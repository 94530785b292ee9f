"""create voice subscriptions and link recordings to their stored audio

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 06:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("provider_resemble_resource", schema=None) as batch_op:
        batch_op.add_column(sa.Column("asset_id", sa.String(length=32), nullable=True))

    op.create_table(
        "provider_resemble_voice",
        sa.Column("resource_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("voice_type", sa.String(length=16), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=True),
        sa.Column("build_status", sa.String(length=16), nullable=False),
        sa.Column("billing_anchor_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("model_asset_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["provider_resemble_resource.id"],
            name=op.f("fk_provider_resemble_voice_resource_id_provider_resemble_resource"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_provider_resemble_voice_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_resemble_voice")),
        sa.UniqueConstraint("resource_id", name=op.f("uq_provider_resemble_voice_resource_id")),
    )
    with op.batch_alter_table("provider_resemble_voice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_resemble_voice_user_id"), ["user_id"], unique=False)

    op.create_table(
        "provider_resemble_voice_subscription",
        sa.Column("voice_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("period_index", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["provider_resemble_request.id"],
            name=op.f("fk_provider_resemble_voice_subscription_request_id_provider_resemble_request"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_provider_resemble_voice_subscription_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["voice_id"],
            ["provider_resemble_voice.id"],
            name=op.f("fk_provider_resemble_voice_subscription_voice_id_provider_resemble_voice"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_resemble_voice_subscription")),
        sa.UniqueConstraint("request_id", name=op.f("uq_provider_resemble_voice_subscription_request_id")),
        sa.UniqueConstraint(
            "voice_id", "period_index", name=op.f("uq_provider_resemble_voice_subscription_voice_id_period_index")
        ),
    )
    with op.batch_alter_table("provider_resemble_voice_subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_resemble_voice_subscription_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_provider_resemble_voice_subscription_voice_id"), ["voice_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("provider_resemble_voice_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_resemble_voice_subscription_voice_id"))
        batch_op.drop_index(batch_op.f("ix_provider_resemble_voice_subscription_user_id"))

    op.drop_table("provider_resemble_voice_subscription")
    with op.batch_alter_table("provider_resemble_voice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_resemble_voice_user_id"))

    op.drop_table("provider_resemble_voice")
    with op.batch_alter_table("provider_resemble_resource", schema=None) as batch_op:
        batch_op.drop_column("asset_id")
