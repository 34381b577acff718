"""catalog mapping: store categories and attributes mapped to each marketplace's, and its cached tree

Three new tables (issue 21): `category_mappings` (a store category's, or one SKU's, category on an affiliate's
marketplace), `attribute_mappings` (how each of a marketplace category's attributes is filled) and
`marketplace_taxonomy` (the marketplace's tree and attribute lists as last fetched). Nothing to backfill.

Revision ID: 0015_catalog_mapping
Revises: 0014_linear_counters
Create Date: 2026-12-07
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015_catalog_mapping"
down_revision = "0014_linear_counters"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def _keys(table: str) -> list[Any]:
    return [
        sa.Column("account_id", Id, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f(f"fk_{table}_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["affiliate_id"], ["affiliates.id"], name=op.f(f"fk_{table}_affiliate_id_affiliates"), ondelete="CASCADE"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "category_mappings",
        sa.Column("affiliate_id", Id, nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=False),
        sa.Column("target_name", sa.String(length=300), nullable=True),
        sa.Column("updated_by", sa.String(length=254), nullable=True),
        sa.Column("updated_at", When, nullable=False),
        *_keys("category_mappings"),
        sa.PrimaryKeyConstraint("affiliate_id", "scope", "key", name=op.f("pk_category_mappings")),
    )
    op.create_table(
        "attribute_mappings",
        sa.Column("affiliate_id", Id, nullable=False),
        sa.Column("category", sa.String(length=120), nullable=False),
        sa.Column("attribute", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("store_attribute", sa.String(length=100), nullable=True),
        sa.Column("value", sa.String(length=500), nullable=True),
        sa.Column("value_map", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=True),
        sa.Column("updated_at", When, nullable=False),
        *_keys("attribute_mappings"),
        sa.PrimaryKeyConstraint("affiliate_id", "category", "attribute", name=op.f("pk_attribute_mappings")),
    )
    op.create_table(
        "marketplace_taxonomy",
        sa.Column("affiliate_id", Id, nullable=False),
        sa.Column("key", sa.String(length=140), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("fetched_at", When, nullable=False),
        *_keys("marketplace_taxonomy"),
        sa.PrimaryKeyConstraint("affiliate_id", "key", name=op.f("pk_marketplace_taxonomy")),
    )


def downgrade() -> None:
    op.drop_table("marketplace_taxonomy")
    op.drop_table("attribute_mappings")
    op.drop_table("category_mappings")
