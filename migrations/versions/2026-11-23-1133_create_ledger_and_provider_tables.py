"""create ledger and provider tables

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:33:35.092738
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("balance_usd", sa.BigInteger(), nullable=False),
        sa.Column("webhook_secret", sa.String(length=64), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("balance_usd >= 0", name=op.f("ck_users_balance_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "api_keys",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("prefix", sa.String(length=24), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_user_id"), ["user_id"], unique=False)

    op.create_table(
        "credit_holds",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=False),
        sa.Column("amount_usd", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shortfall_usd", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_credit_holds_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_holds")),
        sa.UniqueConstraint("correlation_id", name=op.f("uq_credit_holds_correlation_id")),
    )
    with op.batch_alter_table("credit_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_holds_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_credit_holds_user_id"), ["user_id"], unique=False)

    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_idempotency_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_idempotency_keys_user_id_key")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_usd", sa.BigInteger(), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ledger_entries_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("correlation_id", "kind", name=op.f("uq_ledger_entries_correlation_id_kind")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_entries_user_id"), ["user_id"], unique=False)

    op.create_table(
        "provider_resemble_request",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("capability", sa.String(length=32), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("upstream_status", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("raw_response", sa.Text(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_provider_resemble_request_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_resemble_request")),
    )
    with op.batch_alter_table("provider_resemble_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_resemble_request_user_id"), ["user_id"], unique=False)

    op.create_table(
        "provider_resemble_job",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("capability", sa.String(length=32), nullable=False),
        sa.Column("upstream_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rate_key", sa.String(length=32), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=True),
        sa.Column("input_asset_id", sa.String(length=32), nullable=True),
        sa.Column("input_url", sa.String(length=2048), nullable=True),
        sa.Column("input_seconds", sa.BigInteger(), nullable=True),
        sa.Column("params", sa.Text(), nullable=True),
        sa.Column("output_url", sa.String(length=4096), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("callback_token", sa.String(length=64), nullable=True),
        sa.Column("callback_uri", sa.String(length=2048), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["provider_resemble_request.id"],
            name=op.f("fk_provider_resemble_job_request_id_provider_resemble_request"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_provider_resemble_job_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_resemble_job")),
        sa.UniqueConstraint("callback_token", name=op.f("uq_provider_resemble_job_callback_token")),
        sa.UniqueConstraint("capability", "upstream_id", name=op.f("uq_provider_resemble_job_capability_upstream_id")),
    )
    with op.batch_alter_table("provider_resemble_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_resemble_job_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_provider_resemble_job_user_id"), ["user_id"], unique=False)

    op.create_table(
        "provider_resemble_asset",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=True),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("asset_class", sa.String(length=32), nullable=False),
        sa.Column("storage_backend", sa.String(length=8), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["provider_resemble_job.id"],
            name=op.f("fk_provider_resemble_asset_job_id_provider_resemble_job"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_provider_resemble_asset_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_resemble_asset")),
        sa.UniqueConstraint("job_id", name=op.f("uq_provider_resemble_asset_job_id")),
        sa.UniqueConstraint("request_id", name=op.f("uq_provider_resemble_asset_request_id")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_provider_resemble_asset_storage_key")),
    )
    with op.batch_alter_table("provider_resemble_asset", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_resemble_asset_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_provider_resemble_asset_user_id"), ["user_id"], unique=False)

    op.create_table(
        "provider_resemble_usage",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("capability", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_price_usd", sa.BigInteger(), nullable=False),
        sa.Column("provider_cost_usd", sa.BigInteger(), nullable=False),
        sa.Column("markup_pct", sa.BigInteger(), nullable=False),
        sa.Column("charged_usd", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["provider_resemble_job.id"],
            name=op.f("fk_provider_resemble_usage_job_id_provider_resemble_job"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["provider_resemble_request.id"],
            name=op.f("fk_provider_resemble_usage_request_id_provider_resemble_request"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_provider_resemble_usage_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_resemble_usage")),
        sa.UniqueConstraint("job_id", name=op.f("uq_provider_resemble_usage_job_id")),
        sa.UniqueConstraint("request_id", name=op.f("uq_provider_resemble_usage_request_id")),
    )
    with op.batch_alter_table("provider_resemble_usage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_resemble_usage_user_id"), ["user_id"], unique=False)

    op.create_table(
        "provider_resemble_webhook_event",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("signature_valid", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["provider_resemble_job.id"],
            name=op.f("fk_provider_resemble_webhook_event_job_id_provider_resemble_job"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_resemble_webhook_event")),
        sa.UniqueConstraint(
            "source", "external_id", name=op.f("uq_provider_resemble_webhook_event_source_external_id")
        ),
    )
    with op.batch_alter_table("provider_resemble_webhook_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_resemble_webhook_event_job_id"), ["job_id"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["provider_resemble_job.id"],
            name=op.f("fk_webhook_deliveries_job_id_provider_resemble_job"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_webhook_deliveries_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("job_id", name=op.f("uq_webhook_deliveries_job_id")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_next_attempt_at"), ["next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_user_id"))
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_status"))
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_next_attempt_at"))

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("provider_resemble_webhook_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_resemble_webhook_event_job_id"))

    op.drop_table("provider_resemble_webhook_event")
    with op.batch_alter_table("provider_resemble_usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_resemble_usage_user_id"))

    op.drop_table("provider_resemble_usage")
    with op.batch_alter_table("provider_resemble_asset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_resemble_asset_user_id"))
        batch_op.drop_index(batch_op.f("ix_provider_resemble_asset_expires_at"))

    op.drop_table("provider_resemble_asset")
    with op.batch_alter_table("provider_resemble_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_resemble_job_user_id"))
        batch_op.drop_index(batch_op.f("ix_provider_resemble_job_status"))

    op.drop_table("provider_resemble_job")
    with op.batch_alter_table("provider_resemble_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_resemble_request_user_id"))

    op.drop_table("provider_resemble_request")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_user_id"))

    op.drop_table("ledger_entries")
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("credit_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_holds_user_id"))
        batch_op.drop_index(batch_op.f("ix_credit_holds_status"))

    op.drop_table("credit_holds")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_user_id"))

    op.drop_table("api_keys")
    op.drop_table("users")
