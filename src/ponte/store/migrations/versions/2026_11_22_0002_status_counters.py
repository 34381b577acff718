"""status counters kept by triggers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

SQLITE_TRIGGERS = [
    """CREATE TRIGGER integrations_count_insert AFTER INSERT ON integrations BEGIN
        INSERT INTO status_counts(account_id, flow, affiliate_id, status, count)
        VALUES (new.account_id, new.flow, new.affiliate_id, new.status, 1)
        ON CONFLICT(account_id, flow, affiliate_id, status) DO UPDATE SET count = count + 1;
    END""",
    """CREATE TRIGGER integrations_count_update AFTER UPDATE OF status ON integrations
    WHEN old.status IS NOT new.status BEGIN
        UPDATE status_counts SET count = count - 1 WHERE account_id = old.account_id AND flow = old.flow
            AND affiliate_id = old.affiliate_id AND status = old.status;
        INSERT INTO status_counts(account_id, flow, affiliate_id, status, count)
        VALUES (new.account_id, new.flow, new.affiliate_id, new.status, 1)
        ON CONFLICT(account_id, flow, affiliate_id, status) DO UPDATE SET count = count + 1;
    END""",
    """CREATE TRIGGER integrations_count_delete AFTER DELETE ON integrations BEGIN
        UPDATE status_counts SET count = count - 1 WHERE account_id = old.account_id AND flow = old.flow
            AND affiliate_id = old.affiliate_id AND status = old.status;
    END""",
]

# Statement-level triggers with transition tables: one aggregated delta row per group per statement.
POSTGRES_FUNCTIONS = """
CREATE FUNCTION ponte_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO status_count_deltas(account_id, flow, affiliate_id, status, delta)
    SELECT account_id, flow, affiliate_id, status, count(*) FROM new_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;
CREATE FUNCTION ponte_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO status_count_deltas(account_id, flow, affiliate_id, status, delta)
    SELECT account_id, flow, affiliate_id, status, sum(delta) FROM (
        SELECT o.account_id, o.flow, o.affiliate_id, o.status, -1 AS delta
        FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.status <> n.status
        UNION ALL
        SELECT n.account_id, n.flow, n.affiliate_id, n.status, 1
        FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.status <> n.status
    ) changes GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;
CREATE FUNCTION ponte_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO status_count_deltas(account_id, flow, affiliate_id, status, delta)
    SELECT account_id, flow, affiliate_id, status, -count(*) FROM old_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;
CREATE TRIGGER integrations_count_insert AFTER INSERT ON integrations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ponte_count_insert();
CREATE TRIGGER integrations_count_update AFTER UPDATE ON integrations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ponte_count_update();
CREATE TRIGGER integrations_count_delete AFTER DELETE ON integrations
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ponte_count_delete();
"""


def upgrade() -> None:
    op.create_table(
        "status_counts",
        sa.Column("account_id", Id, nullable=False),
        sa.Column("flow", sa.String(length=16), nullable=False),
        sa.Column("affiliate_id", Id, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "flow", "affiliate_id", "status", name=op.f("pk_status_counts")),
    )
    op.create_table(
        "status_count_deltas",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("flow", sa.String(length=16), nullable=False),
        sa.Column("affiliate_id", Id, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_count_deltas")),
    )
    op.create_index("ix_status_count_deltas_account", "status_count_deltas", ["account_id"])
    # Backfill from what is there, then let the triggers keep it.
    op.execute(
        "INSERT INTO status_counts(account_id, flow, affiliate_id, status, count) "
        "SELECT account_id, flow, affiliate_id, status, count(*) FROM integrations GROUP BY 1, 2, 3, 4"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTIONS)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    for name in ("insert", "update", "delete"):
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS integrations_count_{name} ON integrations")
            op.execute(f"DROP FUNCTION IF EXISTS ponte_count_{name}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS integrations_count_{name}")
    op.drop_index("ix_status_count_deltas_account", table_name="status_count_deltas")
    op.drop_table("status_count_deltas")
    op.drop_table("status_counts")
