"""indexes for account- and flow-wide lists in keyset order

The Connections list pages by (processed_at DESC, id). With a status filter `ix_integrations_list` serves that
order; without one (a flow tab showing every status, the account-wide list, and every export) nothing did, so
each page sorted all the account's rows: an export of 1,000,000 rows sorted them 2,000 times. These two
indexes let every page stop after its 50 rows.

PostgreSQL also gets an (account_id, entity varchar_pattern_ops) index: the id/SKU prefix search
(`entity LIKE 'x%'`) cannot use the plain entity index under a non-"C" collation (C.UTF-8 included), so it
scanned the whole table: 3.1 s at 1,000,000 integrations.

Revision ID: 0005_indexes
Revises: 0004_alerts
Create Date: 2026-11-22
"""

from alembic import op

revision = "0005_indexes"
down_revision = "0004_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS: on a big database they may have been built by hand beforehand (CONCURRENTLY, docs/scaling.md).
    op.create_index(
        "ix_integrations_account_recent", "integrations", ["account_id", "processed_at", "id"], if_not_exists=True
    )
    op.create_index(
        "ix_integrations_flow_recent", "integrations", ["account_id", "flow", "processed_at", "id"], if_not_exists=True
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_integrations_entity_prefix "
            "ON integrations (account_id, entity varchar_pattern_ops)"
        )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_integrations_entity_prefix")
    op.drop_index("ix_integrations_flow_recent", table_name="integrations")
    op.drop_index("ix_integrations_account_recent", table_name="integrations")
