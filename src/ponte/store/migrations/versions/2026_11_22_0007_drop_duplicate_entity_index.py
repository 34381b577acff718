"""PostgreSQL: drop the plain (account_id, entity) index, which the prefix index of 0005 already covers

`ix_integrations_entity_prefix (account_id, entity varchar_pattern_ops)` serves equality as well as prefix
search (the pattern operator classes keep `=`), so on PostgreSQL the plain index only cost writes: every
update that moves a row's status (worker results, reprocess, reports) inserted into it too. SQLite has no
prefix index and keeps the plain one.

Revision ID: 0007_drop_duplicate_entity_index
Revises: 0006_cause_counters
Create Date: 2026-11-22
"""

from alembic import op

revision = "0007_drop_duplicate_entity_index"
down_revision = "0006_cause_counters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_integrations_entity", table_name="integrations")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_integrations_entity", "integrations", ["account_id", "entity"])
