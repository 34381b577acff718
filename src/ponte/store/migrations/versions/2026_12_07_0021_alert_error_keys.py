"""alert_error_keys: why an alert message was not delivered, in the reader's language

`alert_messages.error` keeps the reason in English; `error_key` and `error_params` keep it as Ponte's own message
(its catalog key and parameters, as attempts do with `message_key`), shown in each reader's language. Rows written
before keep their English text.

Revision ID: 0021_alert_error_keys
Revises: 0020_erp_catalog
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_alert_error_keys"
down_revision = "0020_erp_catalog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_messages") as table:
        table.add_column(sa.Column("error_key", sa.String(80)))
        table.add_column(sa.Column("error_params", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("alert_messages") as table:
        table.drop_column("error_params")
        table.drop_column("error_key")
