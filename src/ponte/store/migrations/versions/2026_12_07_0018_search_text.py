"""search_text: what a word search looks in, so that it ignores accents and case and matches word forms

Each integration's message folded (lowercase, no accents) with its words' Snowball stems in Portuguese, Spanish and
English, Ponte's own message in each language and its error category's name in each language
(`ponte.knowledge.wordsearch`). Ponte writes it with the message; this migration fills it for the rows there are.

The trigram indexes that served `message LIKE '%word%'` (0008 on PostgreSQL, 0010's FTS5 table on SQLite) now index
`search_text`, which the search reads instead. Where pg_trgm or FTS5's trigram tokenizer is missing, searches
answer the same, only rare words more slowly (as before).

Revision ID: 0018_search_text
Revises: 0017_message_keys
Create Date: 2026-12-07
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0018_search_text"
down_revision = "0017_message_keys"
branch_labels = None
depends_on = None

log = logging.getLogger("ponte.migrate")

OLD_INDEX, INDEX = "ix_integrations_message_trgm", "ix_integrations_search_trgm"
_SCHEMA_OF_PG_TRGM = sa.text(
    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
)
FTS = (
    "CREATE VIRTUAL TABLE integrations_fts USING fts5("
    "{column}, content='integrations', content_rowid='id', tokenize='trigram', detail='none', columnsize=0)"
)
# As in 0010, for the column the index follows: an external-content index must be told the old text to forget.
FTS_TRIGGERS = {
    "integrations_fts_insert": """
        CREATE TRIGGER integrations_fts_insert AFTER INSERT ON integrations WHEN new.{column} IS NOT NULL BEGIN
            INSERT INTO integrations_fts (rowid, {column}) VALUES (new.id, new.{column});
        END""",
    "integrations_fts_delete": """
        CREATE TRIGGER integrations_fts_delete AFTER DELETE ON integrations WHEN old.{column} IS NOT NULL BEGIN
            INSERT INTO integrations_fts (integrations_fts, rowid, {column}) VALUES ('delete', old.id, old.{column});
        END""",
    "integrations_fts_update": """
        CREATE TRIGGER integrations_fts_update AFTER UPDATE OF {column} ON integrations
        WHEN old.{column} IS NOT new.{column} BEGIN
            INSERT INTO integrations_fts (integrations_fts, rowid, {column})
                SELECT 'delete', old.id, old.{column} WHERE old.{column} IS NOT NULL;
            INSERT INTO integrations_fts (rowid, {column}) SELECT new.id, new.{column} WHERE new.{column} IS NOT NULL;
        END""",
}
BATCH = 2000


def _backfill(bind: sa.Connection) -> None:
    from ponte.domain.messages import from_columns
    from ponte.knowledge.wordsearch import search_text

    rows = sa.table(
        "integrations",
        sa.column("id"),
        sa.column("message"),
        sa.column("message_key"),
        sa.column("message_params"),
        sa.column("category"),
        sa.column("search_text"),
    )
    last = 0
    while True:
        batch = bind.execute(
            sa.select(rows.c.id, rows.c.message, rows.c.message_key, rows.c.message_params, rows.c.category)
            .where(rows.c.id > last, sa.or_(rows.c.message.is_not(None), rows.c.category.is_not(None)))
            .order_by(rows.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        values = [
            {
                "b_id": r.id,
                "v_text": search_text(
                    r.message, said=from_columns(r.message_key, r.message_params), category=r.category
                ),
            }
            for r in batch
        ]
        bind.execute(
            rows.update().where(rows.c.id == sa.bindparam("b_id")).values(search_text=sa.bindparam("v_text")), values
        )
        last = batch[-1].id


def _sqlite_index(bind: sa.Connection, column: str) -> None:
    """0010's FTS5 index, rebuilt over `column` (none when this SQLite has no trigram tokenizer)."""
    if bind.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'integrations_fts'")).first() is None:
        return  # 0010 found no trigram tokenizer: still none
    for name in FTS_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE integrations_fts")
    op.execute(FTS.format(column=column))
    for trigger in FTS_TRIGGERS.values():
        op.execute(trigger.format(column=column))
    op.execute("INSERT INTO integrations_fts (integrations_fts) VALUES ('rebuild')")


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("integrations", sa.Column("search_text", sa.Text))
    _backfill(bind)
    if bind.dialect.name == "sqlite":
        _sqlite_index(bind, "search_text")
        return
    op.execute(f"DROP INDEX IF EXISTS {OLD_INDEX}")
    schema = bind.execute(_SCHEMA_OF_PG_TRGM).scalar()
    if schema is None:
        log.warning("pg_trgm is not installed: word searches work without a trigram index (see migration 0008)")
        return
    op.execute(f'CREATE INDEX IF NOT EXISTS {INDEX} ON integrations USING gin (search_text "{schema}".gin_trgm_ops)')


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _sqlite_index(bind, "message")
        # In place (SQLite 3.35+): a rebuilt table would lose the counters' and the index's triggers.
        op.execute("ALTER TABLE integrations DROP COLUMN search_text")
        return
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
    schema = bind.execute(_SCHEMA_OF_PG_TRGM).scalar()
    if schema is not None:
        op.execute(
            f'CREATE INDEX IF NOT EXISTS {OLD_INDEX} ON integrations USING gin (message "{schema}".gin_trgm_ops)'
        )
    op.drop_column("integrations", "search_text")
