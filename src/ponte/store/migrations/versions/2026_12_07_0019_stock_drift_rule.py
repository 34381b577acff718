"""stock_drift_rule: accounts made before reconciliation get its alert rule too

New accounts get the rule "stock drift that can oversell" with the other defaults (`alerts.rules.DEFAULTS`), made the
first time their rules are read. An account that already had rules never got it: this gives each such account one
built-in, enabled `stock_drift` rule, unless it has one.

Revision ID: 0019_stock_drift_rule
Revises: 0018_search_text
Create Date: 2026-12-07
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0019_stock_drift_rule"
down_revision = "0018_search_text"
branch_labels = None
depends_on = None

rules = sa.table(
    "alert_rules",
    sa.column("account_id", sa.BigInteger),
    sa.column("kind", sa.String),
    sa.column("enabled", sa.Boolean),
    sa.column("builtin", sa.Boolean),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    bind = op.get_bind()
    with_drift = sa.select(rules.c.account_id).where(rules.c.kind == "stock_drift")
    accounts = bind.execute(
        sa.select(rules.c.account_id).distinct().where(rules.c.account_id.not_in(with_drift))
    ).scalars()
    when = datetime.now(UTC)
    if bind.dialect.name == "sqlite":  # stored as naive UTC there (store.tables.UTCDateTime)
        when = when.replace(tzinfo=None)
    rows = [
        {
            "account_id": a,
            "kind": "stock_drift",
            "enabled": True,
            "builtin": True,
            "created_at": when,
            "updated_at": when,
        }
        for a in accounts
    ]
    if rows:
        op.bulk_insert(rules, rows)


def downgrade() -> None:
    """The rules stay: an operator may have come to rely on them, and they are an account's like any other."""
