"""SQLite: a trigram index of the integrations' messages (FTS5), so that a rare word is found at once

The list's word search is `message LIKE '%word%'` in list order, and SQLite walks that order until 50 rows
match: a word that no message holds (a typo, a phrase from another store) read every message of the account,
2.6 s at a million integrations. `integrations_fts` indexes the messages' trigrams (an external-content FTS5
table: the text stays in `integrations`, the index holds only the trigrams) and names the few rows that may hold
a rare word; the search then looks at those rows only (`IntegrationFilter.conditions_on`). Triggers keep it in
step with every insert, delete and change of a message; a write that leaves the message as it was (a
reprocess, most retries) does not touch it. PostgreSQL has its own trigram index (0008).

Where this SQLite lacks FTS5's trigram tokenizer (before 3.34), the migration logs why and goes on without the
index: searches answer the same, only rare words more slowly. Once the index exists, whatever opens the file
and writes to `integrations` must have FTS5 too (the triggers need it): restore a backup onto a Python whose
SQLite is 3.34 or newer. A later migration that rebuilds `integrations` on SQLite (`batch_alter_table`) drops
the triggers with the table and must create them again (tests/test_filters.py's integrity check would fail).

Revision ID: 0010_sqlite_message_trigrams
Revises: 0009_job_runs
Create Date: 2026-12-04
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0010_sqlite_message_trigrams"
down_revision = "0009_job_runs"
branch_labels = None
depends_on = None

log = logging.getLogger("ponte.migrate")

# detail='none': the index says which rows hold each trigram, not where; LIKE then checks the row itself.
CREATE = (
    "CREATE VIRTUAL TABLE integrations_fts USING fts5("
    "message, content='integrations', content_rowid='id', tokenize='trigram', detail='none', columnsize=0)"
)
# An external-content index must be told the old text to forget a row: exactly what it was given.
TRIGGERS = {
    "integrations_fts_insert": """
        CREATE TRIGGER integrations_fts_insert AFTER INSERT ON integrations WHEN new.message IS NOT NULL BEGIN
            INSERT INTO integrations_fts (rowid, message) VALUES (new.id, new.message);
        END""",
    "integrations_fts_delete": """
        CREATE TRIGGER integrations_fts_delete AFTER DELETE ON integrations WHEN old.message IS NOT NULL BEGIN
            INSERT INTO integrations_fts (integrations_fts, rowid, message) VALUES ('delete', old.id, old.message);
        END""",
    "integrations_fts_update": """
        CREATE TRIGGER integrations_fts_update AFTER UPDATE OF message ON integrations
        WHEN old.message IS NOT new.message BEGIN
            INSERT INTO integrations_fts (integrations_fts, rowid, message)
                SELECT 'delete', old.id, old.message WHERE old.message IS NOT NULL;
            INSERT INTO integrations_fts (rowid, message) SELECT new.id, new.message WHERE new.message IS NOT NULL;
        END""",
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    try:
        bind.execute(sa.text(CREATE))
    except sa.exc.OperationalError as exc:
        log.warning(
            "SQLite %s cannot build a trigram index (%s): word searches will work without it, and a word that "
            "few integrations hold will take longer to find. SQLite 3.34 or newer has it.",
            bind.exec_driver_sql("SELECT sqlite_version()").scalar(),
            exc.orig,
        )
        return
    for trigger in TRIGGERS.values():
        op.execute(trigger)
    op.execute("INSERT INTO integrations_fts (integrations_fts) VALUES ('rebuild')")  # the messages already there


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS integrations_fts")
