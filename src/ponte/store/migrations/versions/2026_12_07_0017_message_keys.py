"""Ponte's own messages as a catalog key and its parameters, beside their English text

`message_key` names the message in Ponte's catalogs ("msg.order.out_of_stock") and `message_params` holds its
parameters as JSON text (text rather than JSON: PostgreSQL's COPY of attempts takes it as it is). Both are NULL for a
marketplace's own words and for rows written before, which keep showing their `message` as it was stored.

Revision ID: 0017_message_keys
Revises: 0016_reconciliation
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_message_keys"
down_revision = "0016_reconciliation"
branch_labels = None
depends_on = None

TABLES = ("integrations", "attempts")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("message_key", sa.String(80)))
        op.add_column(table, sa.Column("message_params", sa.Text))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "message_params")
        op.drop_column(table, "message_key")
