"""create user provider keys, mark byok usage and jobs

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_provider_keys",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("validated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_provider_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_provider_keys")),
        sa.UniqueConstraint("user_id", "provider", name=op.f("uq_user_provider_keys_user_id_provider")),
    )
    with op.batch_alter_table("provider_resemble_usage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("byok", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("provider_resemble_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("byok_fingerprint", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provider_resemble_job", schema=None) as batch_op:
        batch_op.drop_column("byok_fingerprint")
    with op.batch_alter_table("provider_resemble_usage", schema=None) as batch_op:
        batch_op.drop_column("byok")
    op.drop_table("user_provider_keys")
