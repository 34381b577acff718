"""PostgreSQL: a trigram index on the integrations' messages, so that a word search is quick whatever the word

The list's word search is `message ILIKE '%word%'` in list order. Without an index, PostgreSQL walks the list
order until 50 rows match, so a word that few rows hold, or none (a typo, a phrase from another store), read
the whole account first: 0.3–0.65 s at a million integrations. With a pg_trgm GIN index those take 1–5 ms;
common words still walk the list order, the planner choosing. The index costs the writes that change a
message (reports, worker results) about a tenth.

pg_trgm ships with PostgreSQL (contrib) and is a trusted extension, which a database's owner may install; it
goes into `public`. Where it is missing or not allowed, the migration logs why and goes on without the index:
searches answer the same, only rare words more slowly. SQLite has no trigram index and scans, as before.

Revision ID: 0008_message_trigrams
Revises: 0007_drop_duplicate_entity_index
Create Date: 2026-11-22
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0008_message_trigrams"
down_revision = "0007_drop_duplicate_entity_index"
branch_labels = None
depends_on = None

log = logging.getLogger("ponte.migrate")

INDEX = "ix_integrations_message_trgm"
_SCHEMA_OF_PG_TRGM = sa.text(
    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
)


def trigram_schema(bind: sa.Connection) -> str | None:
    """The schema that holds pg_trgm, installing it into `public` when it can; None when it cannot."""
    # Schemas of one database migrate concurrently (tests, several stores): one installs, the others wait.
    bind.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('ponte: install pg_trgm'))"))
    schema = bind.execute(_SCHEMA_OF_PG_TRGM).scalar()
    if schema is not None:
        return str(schema)
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION pg_trgm WITH SCHEMA public"))
    except sa.exc.DBAPIError as exc:
        log.warning(
            "pg_trgm could not be installed (%s): word searches will work without a trigram index, and a word "
            "that few integrations hold will take longer to find. To add it later, a superuser runs `CREATE "
            f"EXTENSION pg_trgm WITH SCHEMA public`, then `CREATE INDEX CONCURRENTLY {INDEX} ON integrations USING "
            "gin (message public.gin_trgm_ops)`",
            str(exc.orig).strip().splitlines()[0] if exc.orig else exc,
        )
        return None
    return "public"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = trigram_schema(bind)
    if schema is not None:
        # IF NOT EXISTS: on a big database it may have been built by hand beforehand (CONCURRENTLY, docs/scaling.md).
        op.execute(f'CREATE INDEX IF NOT EXISTS {INDEX} ON integrations USING gin (message "{schema}".gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {INDEX}")  # the extension stays: other schemas may use it
