"""The shared integration filter on both databases: prefix search, words, and what never matches."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from factories import add_affiliate
from ponte.auth import get_or_create_account
from ponte.engine.queue import mark_changed
from ponte.services import connections
from ponte.store.db import Database
from ponte.store.filters import IntegrationFilter
from ponte.store.tables import integrations

ENTITIES = ["CC-0001", "CC-0002", "CC-0100", "cc-0001", "CD-0001", "CC_0001", "CC%0001"]


def _matches(db, **kwargs):
    with db.read() as conn:
        where = IntegrationFilter(**kwargs).conditions(1)
        return sorted(conn.execute(select(integrations.c.entity).where(*where)).scalars())


def test_prefix_search_matches_exactly_the_entities_that_begin_with_it(db):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        affiliate_id = add_affiliate(conn, account, "MLB", "MLB")
        mark_changed(conn, account_id=account, flow="price", keys=[(affiliate_id, e) for e in ENTITIES])
    assert _matches(db, entity_prefix="CC-000") == ["CC-0001", "CC-0002"]
    assert _matches(db, entity_prefix="CC-0") == ["CC-0001", "CC-0002", "CC-0100"]  # a second prefix, no stale cache
    assert _matches(db, entity_prefix="CC_") == ["CC_0001"]  # _ and % are characters, not wildcards
    assert _matches(db, entity_prefix="CC%") == ["CC%0001"]
    assert _matches(db, entity_prefix="cc") == ["cc-0001"]  # ids are case-sensitive
    assert _matches(db, entity_prefix="ZZ") == []


MESSAGES = {
    "CC-0001": "Estoque insuficiente no armazém",
    "CC-0002": "O EAN 7891234567895 é inválido",
    "CC-0100": "estoque zerado pela promoção",
    "CD-0001": None,
}


def _with_messages(db):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        affiliate_id = add_affiliate(conn, account, "MLB", "MLB")
        mark_changed(conn, account_id=account, flow="price", keys=[(affiliate_id, e) for e in MESSAGES])
        for entity, message in MESSAGES.items():
            conn.execute(update(integrations).where(integrations.c.entity == entity).values(message=message))


def test_words_match_anywhere_in_the_message_whatever_the_case(db):
    _with_messages(db)
    assert _matches(db, words="estoque") == ["CC-0001", "CC-0100"]
    assert _matches(db, words="EAN inválido") == ["CC-0002"]  # every word, in any order
    assert _matches(db, words="zerado promoção") == ["CC-0100"]
    assert _matches(db, words="xyzzy") == []


def test_postgresql_can_answer_word_searches_from_the_trigram_index(db):
    """Migration 0008: a rare word (or none) no longer reads the whole account. The plan is forced off table
    scans here (a big table's statistics choose it for rare words), and the answer must not change."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite has no trigram index: it reads the messages")
    with db.read() as conn:
        available = conn.execute(text("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar()
    if not available:
        pytest.skip("this PostgreSQL lacks pg_trgm (contrib): migration 0008 went on without the index")
    _with_messages(db)
    with db.read() as conn:
        present = conn.execute(
            text("SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = :name"),
            {"name": "ix_integrations_message_trgm"},
        ).scalar_one()
        assert present == 1
    with db.write() as conn:  # SET LOCAL needs a transaction; a read on PostgreSQL runs without one
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        conn.execute(text("SET LOCAL enable_indexscan = off"))
        words = IntegrationFilter(words="estoque").conditions(1)[-1]  # the words' condition alone
        query = select(integrations.c.entity).where(words)
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join(conn.execute(text(f"EXPLAIN {compiled}")).scalars())
        found = sorted(conn.execute(query).scalars())
    assert "ix_integrations_message_trgm" in plan
    assert found == ["CC-0001", "CC-0100"]


def test_postgresql_plans_a_repeated_word_search_for_its_words(db):
    """psycopg prepares a statement run five times, and PostgreSQL then tries a generic plan, which cannot know a
    word is rare; `conditions_on` keeps the connection from preparing until it goes back to the pool."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite plans every statement for its values")
    _with_messages(db)
    prepared = text("SELECT statement FROM pg_prepared_statements WHERE statement ILIKE '%%FROM integrations%%'")
    one = Database(db.settings, pool_size=1, max_overflow=0)  # so that both reads below get the same connection
    try:
        with one.read() as conn:
            for _ in range(12):
                page = connections.list_integrations(conn, account_id=1, filter=IntegrationFilter(words="xyzzy"))
                assert page.rows == []
            assert [s for s in conn.execute(prepared).scalars() if "ILIKE" in s] == []
        # Back in the pool, the connection prepares again what it runs often.
        with one.read() as conn:
            for _ in range(12):
                connections.list_integrations(conn, account_id=1, filter=IntegrationFilter(flow="order"))
            assert conn.execute(prepared).first(), "nothing was prepared: this test no longer sees what it is about"
    finally:
        one.dispose()
