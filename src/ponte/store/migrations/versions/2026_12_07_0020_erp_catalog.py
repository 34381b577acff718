"""erp_catalog: the catalog read from an ERP (Bling) — each ERP affiliate's read (its cursor and a first import's
progress and rejected products) and, per SKU, the values the ERP last gave (what a change on either side is told by)

Revision ID: 0020_erp_catalog
Revises: 0019_stock_drift_rule
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_erp_catalog"
down_revision = "0019_stock_drift_rule"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def _account() -> sa.Column:
    return sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)


def _affiliate() -> sa.Column:
    fk = sa.ForeignKey("affiliates.id", ondelete="CASCADE")
    return sa.Column("affiliate_id", Id, fk, nullable=False, primary_key=True)


def upgrade() -> None:
    op.create_table(
        "erp_catalogs",
        _affiliate(),
        _account(),
        sa.Column("cursor", sa.String(400)),
        sa.Column("polled_at", When),
        sa.Column("importing", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("total", sa.Integer()),
        sa.Column("read_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("taken_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rejected", sa.JSON(), nullable=False),
        sa.Column("started_at", When),
        sa.Column("finished_at", When),
        sa.Column("last_error", sa.Text()),
    )
    op.create_table(
        "erp_products",
        _affiliate(),
        sa.Column("sku", sa.String(64), nullable=False, primary_key=True),
        _account(),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("read_at", When, nullable=False),
        sa.Index("ix_erp_products_reference", "affiliate_id", "reference"),
    )


def downgrade() -> None:
    op.drop_table("erp_products")
    op.drop_table("erp_catalogs")
