"""tier users free by default

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

users = sa.table("users", sa.column("tier", sa.String(length=32)))


def upgrade() -> None:
    # Rate limits are a function of the tier now; "standard" was the only tier ever written and means "free".
    op.execute(users.update().where(users.c.tier == "standard").values(tier="free"))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("tier", existing_type=sa.String(length=32), server_default="free")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("tier", existing_type=sa.String(length=32), server_default=None)
    op.execute(users.update().where(users.c.tier == "free").values(tier="standard"))
