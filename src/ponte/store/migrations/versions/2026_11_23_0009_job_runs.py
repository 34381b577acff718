"""job runs: when a periodic job shared by all workers last ran, so that one worker claims each run

Every worker evaluated every store's alert rules once a minute; only one of them then wrote the incidents.
A row per job now says when it last ran: a worker claims a run by moving that time, and the others skip it.

Revision ID: 0009_job_runs
Revises: 0008_message_trigrams
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_job_runs"
down_revision = "0008_message_trigrams"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_runs")),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
