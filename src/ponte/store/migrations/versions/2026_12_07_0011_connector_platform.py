"""connector platform: credentials, OAuth states, shared rate buckets, listings, submissions, notifications

Real marketplaces need what the invented one did not: OAuth tokens shared by every process with a locked
refresh, the marketplace's id of each listing, token buckets every worker honours, work judged later
(feeds, imports) and pushed notifications. Orders keep the NF-e XML and the marketplace's own facts about them.

Revision ID: 0011_connector_platform
Revises: 0010_sqlite_message_trigrams
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_connector_platform"
down_revision = "0010_sqlite_message_trigrams"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def _account() -> sa.Column:
    return sa.Column("account_id", Id, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)


def _affiliate(primary_key: bool = False) -> sa.Column:
    fk = sa.ForeignKey("affiliates.id", ondelete="CASCADE")
    return sa.Column("affiliate_id", Id, fk, nullable=False, primary_key=primary_key)


def upgrade() -> None:
    with op.batch_alter_table("affiliates") as batch:
        batch.add_column(sa.Column("marketplace", sa.String(64)))
    # What marketplace_of() used to read at every classification: the sandbox's profile, else the connector.
    affiliates = sa.table(
        "affiliates", sa.column("id", Id), sa.column("connector", sa.String), sa.column("settings", sa.JSON)
    )
    conn = op.get_bind()
    for row in conn.execute(sa.select(affiliates.c.id, affiliates.c.connector, affiliates.c.settings)).all():
        settings = row.settings or {}
        marketplace = settings.get("profile") if isinstance(settings, dict) else None
        conn.execute(
            affiliates.update().where(affiliates.c.id == row.id).values(marketplace=str(marketplace or row.connector))
        )
    with op.batch_alter_table("affiliates") as batch:
        batch.alter_column("marketplace", existing_type=sa.String(64), nullable=False)
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("invoice_xml", sa.Text()))
        batch.add_column(sa.Column("marketplace_data", sa.JSON()))
    op.create_table(
        "credentials",
        _affiliate(primary_key=True),
        _account(),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(120)),
        sa.Column("identity", sa.JSON()),
        sa.Column("sealed", sa.Text()),
        sa.Column("expires_at", When),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("problem", sa.Text()),
        sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("refreshed_at", When),
        sa.Column("updated_at", When, nullable=False),
    )
    op.create_index("ix_credentials_subject", "credentials", ["connector", "subject"])
    op.create_table(
        "oauth_states",
        sa.Column("state", sa.String(64), primary_key=True),
        _account(),
        _affiliate(),
        sa.Column("actor", sa.String(254), nullable=False),
        sa.Column("sealed_verifier", sa.Text()),
        sa.Column("redirect_uri", sa.String(500), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
    )
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("tokens", sa.Numeric(16, 6), nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.Column("paused_until", When),
    )
    op.create_table(
        "listings",
        _affiliate(primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        _account(),
        sa.Column("listing_id", sa.String(120), nullable=False),
        sa.Column("data", sa.JSON()),
        sa.Column("updated_at", When, nullable=False),
    )
    op.create_index("ix_listings_listing", "listings", ["affiliate_id", "listing_id"])
    op.create_table(
        "submissions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        _account(),
        _affiliate(),
        sa.Column("flow", sa.String(16), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("detail", sa.JSON()),
        sa.Column("polls", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_poll_at", When),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", When),
        sa.Column("created_at", When, nullable=False),
        sa.Column("finished_at", When),
    )
    op.create_index("ix_submissions_due", "submissions", ["status", "next_poll_at"])
    op.create_index("ix_submissions_affiliate", "submissions", ["account_id", "affiliate_id", "created_at"])
    op.create_table(
        "notifications",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(120), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("resource", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("received_at", When, nullable=False),
        sa.Column("due_at", When),
        sa.Column("lease_until", When),
        sa.Column("processed_at", When),
        sa.Column("error", sa.Text()),
        sa.UniqueConstraint("connector", "subject", "topic", "resource"),
    )
    op.create_index("ix_notifications_due", "notifications", ["status", "due_at"])


def downgrade() -> None:
    for table in ("notifications", "submissions", "listings", "rate_buckets", "oauth_states", "credentials"):
        op.drop_table(table)
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("marketplace_data")
        batch.drop_column("invoice_xml")
    with op.batch_alter_table("affiliates") as batch:
        batch.drop_column("marketplace")
