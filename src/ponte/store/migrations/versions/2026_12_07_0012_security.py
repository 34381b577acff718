"""security: server-side web sessions, login throttling, and a claim time on alert messages

- `web_sessions`: a session is a row (the cookie holds a random token; the row its hash), so that logging out
  ends it on the server and a copied cookie stops working.
- `login_failures`: failed logins per e-mail and per client address, shared by every web process, so that
  guessing passwords is throttled (a lockout that ends by itself).
- `alert_messages.claimed_at`: when a deliverer took a message; one left `sending` by a process that died is
  given back after a while instead of staying there for ever.

Revision ID: 0012_security
Revises: 0011_connector_platform
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_security"
down_revision = "0011_connector_platform"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_web_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_sessions")),
    )
    op.create_index("ix_web_sessions_expires", "web_sessions", ["expires_at"])
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_failures")),
    )
    op.add_column("alert_messages", sa.Column("claimed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("alert_messages", "claimed_at")
    op.drop_table("login_failures")
    op.drop_index("ix_web_sessions_expires", table_name="web_sessions")
    op.drop_table("web_sessions")
