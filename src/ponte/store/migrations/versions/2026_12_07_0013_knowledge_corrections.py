"""knowledge corrections: a message's category as an operator corrected it, kept as a labelled example

When an account's rule moves an error from the category Ponte gave it to another, the message, its marketplace,
flow and code and both categories are kept here; `ponte knowledge export-corrections` writes them out as JSON
lines so that support people can fold them into the shared knowledge data. A new table: nothing to backfill.

Revision ID: 0013_knowledge_corrections
Revises: 0012_security
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_knowledge_corrections"
down_revision = "0012_security"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "knowledge_corrections",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("marketplace", sa.String(length=64), nullable=False),
        sa.Column("flow", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("disposition", sa.String(length=16), nullable=True),
        sa.Column("previous_category", sa.String(length=40), nullable=True),
        sa.Column("rule_id", Id, nullable=True),
        sa.Column("created_by", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_knowledge_corrections_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_corrections")),
        sa.UniqueConstraint(
            "account_id",
            "marketplace",
            "flow",
            "code",
            "message_key",
            "category",
            name="uq_knowledge_corrections_example",
        ),
    )
    op.create_index("ix_knowledge_corrections_account", "knowledge_corrections", ["account_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_knowledge_corrections_account", table_name="knowledge_corrections")
    op.drop_table("knowledge_corrections")
