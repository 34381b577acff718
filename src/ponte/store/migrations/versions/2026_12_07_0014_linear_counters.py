"""counter triggers in one pass: PostgreSQL's update triggers no longer join the statement's old rows to its new ones

The status (0002) and cause (0006) counters' statement triggers joined the transition tables `old_rows` and
`new_rows` on id. The planner knows nothing of a transition table and took a nested loop over it: quadratic in the
rows one statement updates, and the rows of integrations are wide (messages, last_sent), so the inner table spilled
to disk. A batch of 10,000 offers (Mirakl: one call a minute takes every waiting price and stock change) parked
under its submission in one UPDATE spent 146 s in the status trigger and 50 s in the cause trigger, for 1.9 s of
update. Each old row now counts -1 in its group and each new row +1, summed per group: the same deltas (a row whose
group did not change cancels out), one pass over each table. SQLite's row triggers are unchanged.

Revision ID: 0014_linear_counters
Revises: 0013_knowledge_corrections
Create Date: 2026-12-07
"""

from alembic import op

revision = "0014_linear_counters"
down_revision = "0013_knowledge_corrections"
branch_labels = None
depends_on = None

LINEAR = """
CREATE OR REPLACE FUNCTION ponte_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO status_count_deltas(account_id, flow, affiliate_id, status, delta)
    SELECT account_id, flow, affiliate_id, status, sum(delta) FROM (
        SELECT account_id, flow, affiliate_id, status, -1 AS delta FROM old_rows
        UNION ALL
        SELECT account_id, flow, affiliate_id, status, 1 FROM new_rows
    ) changes GROUP BY 1, 2, 3, 4 HAVING sum(delta) <> 0;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION ponte_cause_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cause_count_deltas(account_id, flow, affiliate_id, category, cause, delta)
    SELECT a, f, af, c, k, sum(d) FROM (
        SELECT account_id, flow, affiliate_id, coalesce(category, ''), coalesce(cause, ''), -1
        FROM old_rows WHERE status = 'error'
        UNION ALL
        SELECT account_id, flow, affiliate_id, coalesce(category, ''), coalesce(cause, ''), 1
        FROM new_rows WHERE status = 'error'
    ) changes(a, f, af, c, k, d) GROUP BY 1, 2, 3, 4, 5 HAVING sum(d) <> 0;
    RETURN NULL;
END $$;
"""

JOINED = """
CREATE OR REPLACE FUNCTION ponte_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE FUNCTION ponte_cause_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cause_count_deltas(account_id, flow, affiliate_id, category, cause, delta)
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
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LINEAR)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(JOINED)
