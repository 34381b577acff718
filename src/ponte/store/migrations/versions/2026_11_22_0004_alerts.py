"""alert rules, channels, incidents and their messages; an index for the quiet-orders rule

Revision ID: 0004_alerts
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_alerts"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", Id, primary_key=True, autoincrement=True)


def _account(table: str) -> sa.Column:
    fk = sa.ForeignKey("accounts.id", ondelete="CASCADE", name=f"fk_{table}_account_id_accounts")
    return sa.Column("account_id", Id, fk, nullable=False)


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        _id(),
        _account("alert_rules"),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("flow", sa.String(16)),
        sa.Column(
            "affiliate_id",
            Id,
            sa.ForeignKey("affiliates.id", ondelete="CASCADE", name="fk_alert_rules_affiliate_id_affiliates"),
        ),
        sa.Column("threshold", sa.Numeric(8, 2)),
        sa.Column("window_minutes", sa.Integer()),
        sa.Column("min_count", sa.Integer()),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        sa.Column("builtin", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_rules"),
    )
    op.create_index("ix_alert_rules_account", "alert_rules", ["account_id"])
    op.create_table(
        "alert_channels",
        _id(),
        _account("alert_channels"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.Text()),
        sa.Column("locale", sa.String(8), nullable=False, server_default="pt-BR"),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_channels"),
    )
    op.create_index("ix_alert_channels_account", "alert_channels", ["account_id"])
    op.create_table(
        "alert_incidents",
        _id(),
        _account("alert_incidents"),
        sa.Column(
            "rule_id",
            Id,
            sa.ForeignKey("alert_rules.id", ondelete="CASCADE", name="fk_alert_incidents_rule_id_alert_rules"),
            nullable=False,
        ),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("flow", sa.String(16)),
        sa.Column("affiliate_id", Id),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("notified_facts", sa.JSON()),
        sa.Column("opened_at", When, nullable=False),
        sa.Column("last_seen_at", When, nullable=False),
        sa.Column("notified_at", When),
        sa.Column("resolved_at", When),
        sa.PrimaryKeyConstraint("id", name="pk_alert_incidents"),
    )
    op.create_index("ix_alert_incidents_account_status", "alert_incidents", ["account_id", "status", "key"])
    op.create_index("ix_alert_incidents_account_opened", "alert_incidents", ["account_id", "opened_at"])
    op.create_table(
        "alert_messages",
        _id(),
        _account("alert_messages"),
        sa.Column(
            "incident_id",
            Id,
            sa.ForeignKey(
                "alert_incidents.id", ondelete="CASCADE", name="fk_alert_messages_incident_id_alert_incidents"
            ),
            nullable=False,
        ),
        sa.Column(
            "channel_id",
            Id,
            sa.ForeignKey("alert_channels.id", ondelete="CASCADE", name="fk_alert_messages_channel_id_alert_channels"),
            nullable=False,
        ),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.String(500)),
        sa.Column("created_at", When, nullable=False),
        sa.Column("sent_at", When),
        sa.PrimaryKeyConstraint("id", name="pk_alert_messages"),
    )
    op.create_index("ix_alert_messages_status", "alert_messages", ["status", "id"])
    op.create_index("ix_alert_messages_incident", "alert_messages", ["incident_id"])
    op.create_index("ix_orders_affiliate_received", "orders", ["account_id", "affiliate_id", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_orders_affiliate_received", table_name="orders")
    for table in ("alert_messages", "alert_incidents", "alert_channels", "alert_rules"):
        op.drop_table(table)
