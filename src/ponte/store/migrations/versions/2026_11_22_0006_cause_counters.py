"""error counts per cause kept by triggers, so the causes view never groups every error row

Same scheme as the status counters (0002): SQLite's row triggers update cause_counts directly; PostgreSQL's
statement triggers append deltas that `fold_status_deltas` folds. Only rows in status error count; the key
is (account, flow, affiliate, category or '', cause or ''). The cause index gains processed_at, so the
newest example of a cause is one index step.

Revision ID: 0006_cause_counters
Revises: 0005_indexes
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_cause_counters"
down_revision = "0005_indexes"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEY = "account_id, flow, affiliate_id, category, cause"
ADD = f"""INSERT INTO cause_counts({KEY}, count)
        VALUES (new.account_id, new.flow, new.affiliate_id, coalesce(new.category, ''), coalesce(new.cause, ''), 1)
        ON CONFLICT({KEY}) DO UPDATE SET count = count + 1"""
REMOVE = """UPDATE cause_counts SET count = count - 1 WHERE account_id = old.account_id AND flow = old.flow
        AND affiliate_id = old.affiliate_id AND category = coalesce(old.category, '') AND cause = coalesce(old.cause, '')"""
CHANGED = (
    "(old.status IS NOT new.status OR old.category IS NOT new.category OR old.cause IS NOT new.cause "
    "OR old.flow IS NOT new.flow OR old.affiliate_id IS NOT new.affiliate_id)"
)

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER integrations_cause_insert AFTER INSERT ON integrations WHEN new.status = 'error' BEGIN {ADD}; END",
    f"""CREATE TRIGGER integrations_cause_update_old AFTER UPDATE ON integrations
        WHEN old.status = 'error' AND {CHANGED} BEGIN {REMOVE}; END""",
    f"""CREATE TRIGGER integrations_cause_update_new AFTER UPDATE ON integrations
        WHEN new.status = 'error' AND {CHANGED} BEGIN {ADD}; END""",
    f"CREATE TRIGGER integrations_cause_delete AFTER DELETE ON integrations WHEN old.status = 'error' BEGIN {REMOVE}; END",
]

ROW = "account_id, flow, affiliate_id, coalesce(category, ''), coalesce(cause, '')"
POSTGRES = f"""
CREATE FUNCTION ponte_cause_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cause_count_deltas({KEY}, delta)
    SELECT {ROW}, count(*) FROM new_rows WHERE status = 'error' GROUP BY 1, 2, 3, 4, 5;
    RETURN NULL;
END $$;
CREATE FUNCTION ponte_cause_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cause_count_deltas({KEY}, delta)
    SELECT a, f, af, c, k, sum(d) FROM (
        SELECT o.account_id a, o.flow f, o.affiliate_id af, coalesce(o.category, '') c, coalesce(o.cause, '') k, -1 d
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE o.status = 'error' AND (o.status, o.category, o.cause, o.flow, o.affiliate_id)
            IS DISTINCT FROM (n.status, n.category, n.cause, n.flow, n.affiliate_id)
        UNION ALL
        SELECT n.account_id, n.flow, n.affiliate_id, coalesce(n.category, ''), coalesce(n.cause, ''), 1
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE n.status = 'error' AND (o.status, o.category, o.cause, o.flow, o.affiliate_id)
            IS DISTINCT FROM (n.status, n.category, n.cause, n.flow, n.affiliate_id)
    ) changes GROUP BY 1, 2, 3, 4, 5;
    RETURN NULL;
END $$;
CREATE FUNCTION ponte_cause_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cause_count_deltas({KEY}, delta)
    SELECT {ROW}, -count(*) FROM old_rows WHERE status = 'error' GROUP BY 1, 2, 3, 4, 5;
    RETURN NULL;
END $$;
CREATE TRIGGER integrations_cause_insert AFTER INSERT ON integrations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ponte_cause_insert();
CREATE TRIGGER integrations_cause_update AFTER UPDATE ON integrations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ponte_cause_update();
CREATE TRIGGER integrations_cause_delete AFTER DELETE ON integrations
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ponte_cause_delete();
"""


def upgrade() -> None:
    op.create_table(
        "cause_counts",
        sa.Column("account_id", Id, nullable=False),
        sa.Column("flow", sa.String(length=16), nullable=False),
        sa.Column("affiliate_id", Id, nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("cause", sa.String(length=200), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "flow", "affiliate_id", "category", "cause", name=op.f("pk_cause_counts")
        ),
    )
    op.create_table(
        "cause_count_deltas",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("flow", sa.String(length=16), nullable=False),
        sa.Column("affiliate_id", Id, nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("cause", sa.String(length=200), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cause_count_deltas")),
    )
    op.create_index("ix_cause_count_deltas_account", "cause_count_deltas", ["account_id"])
    with op.batch_alter_table("integrations") as batch_op:
        batch_op.drop_index("ix_integrations_cause")
        batch_op.create_index(
            "ix_integrations_cause", ["account_id", "status", "category", "cause", "processed_at"], unique=False
        )
    op.execute(
        f"INSERT INTO cause_counts({KEY}, count) SELECT {ROW}, count(*) FROM integrations "
        "WHERE status = 'error' GROUP BY 1, 2, 3, 4, 5"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS integrations_cause_{name} ON integrations")
            op.execute(f"DROP FUNCTION IF EXISTS ponte_cause_{name}()")
    else:
        for name in ("insert", "update_old", "update_new", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS integrations_cause_{name}")
    with op.batch_alter_table("integrations") as batch_op:
        batch_op.drop_index("ix_integrations_cause")
        batch_op.create_index("ix_integrations_cause", ["account_id", "status", "category", "cause"], unique=False)
    op.drop_index("ix_cause_count_deltas_account", table_name="cause_count_deltas")
    op.drop_table("cause_count_deltas")
    op.drop_table("cause_counts")
