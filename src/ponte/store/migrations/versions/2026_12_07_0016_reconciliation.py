"""reconciliation: the drifts found by reading listings back, each affiliate's pass, each account's settings

A listing remembers when a pass last read it back (`checked_at`): what a complete pass did not see is missing.

Revision ID: 0016_reconciliation
Revises: 0015_catalog_mapping
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_reconciliation"
down_revision = "0015_catalog_mapping"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def _account(primary_key: bool = False) -> sa.Column:
    fk = sa.ForeignKey("accounts.id", ondelete="CASCADE")
    return sa.Column("account_id", Id, fk, nullable=False, primary_key=primary_key)


def _affiliate(primary_key: bool = False) -> sa.Column:
    fk = sa.ForeignKey("affiliates.id", ondelete="CASCADE")
    return sa.Column("affiliate_id", Id, fk, nullable=False, primary_key=primary_key)


def upgrade() -> None:
    with op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("checked_at", When))
    op.create_table(
        "reconcile_settings",
        _account(primary_key=True),
        sa.Column("full_every_hours", sa.Integer(), nullable=False, server_default="24"),
        sa.Column("focused_every_minutes", sa.Integer(), nullable=False, server_default="60"),
        sa.Column("low_stock", sa.Integer(), nullable=False, server_default="5"),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("updated_at", When, nullable=False),
    )
    op.create_table(
        "reconcile_passes",
        _affiliate(primary_key=True),
        _account(),
        sa.Column("mode", sa.String(8)),
        sa.Column("cursor", sa.Text()),
        sa.Column("since", When),
        sa.Column("listing_ids", sa.JSON()),
        sa.Column("started_at", When),
        sa.Column("due_at", When),
        sa.Column("read_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("found_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", When),
        sa.Column("last_full_at", When),
        sa.Column("last_focused_at", When),
        sa.Column("last_error", sa.Text()),
    )
    op.create_table(
        "drifts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        _account(),
        _affiliate(),
        sa.Column("listing_id", sa.String(120), nullable=False),
        sa.Column("sku", sa.String(64)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("store_value", sa.String(64)),
        sa.Column("sent_value", sa.String(64)),
        sa.Column("held_value", sa.String(64)),
        sa.Column("cause", sa.String(200)),
        sa.Column("found_at", When, nullable=False),
        sa.Column("seen_at", When, nullable=False),
        sa.Column("repaired_at", When),
        sa.Column("resolved_at", When),
        sa.UniqueConstraint("affiliate_id", "listing_id", "kind", name="uq_drifts_affiliate_id_listing_id_kind"),
    )
    op.create_index("ix_drifts_account", "drifts", ["account_id", "affiliate_id", "status", "kind"])
    op.create_index("ix_drifts_sku", "drifts", ["account_id", "sku"])


def downgrade() -> None:
    op.drop_table("drifts")
    op.drop_table("reconcile_passes")
    op.drop_table("reconcile_settings")
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("checked_at")
