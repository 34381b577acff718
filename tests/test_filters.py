"""The shared integration filter on both databases: prefix search, words, and what never matches."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from factories import add_affiliate, sqlite_steps
from needs import missing
from ponte.auth import get_or_create_account
from ponte.engine.queue import mark_changed
from ponte.knowledge import categories
from ponte.knowledge.wordsearch import search_text
from ponte.services import connections
from ponte.store import filters
from ponte.store.db import Database
from ponte.store.filters import IntegrationFilter, rows_that_may_hold
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
            conn.execute(update(integrations).where(integrations.c.entity == entity).values(**said(message)))


def said(message, category=None):
    """A message as Ponte writes it: with its search text."""
    return {"message": message, "search_text": search_text(message, category=category)}


def test_words_match_anywhere_in_the_message_whatever_the_case(db):
    _with_messages(db)
    assert _matches(db, words="estoque") == ["CC-0001", "CC-0100"]
    assert _matches(db, words="EAN inválido") == ["CC-0002"]  # every word, in any order
    assert _matches(db, words="zerado promoção") == ["CC-0100"]
    assert _matches(db, words="xyzzy") == []


def test_words_match_without_accents_and_in_other_word_forms(db):
    _with_messages(db)
    assert _matches(db, words="armazem") == ["CC-0001"]  # "armazém" without its accent
    assert _matches(db, words="ARMAZÉNS") == ["CC-0001"]  # a plural finds the singular
    assert _matches(db, words="invalidos") == ["CC-0002"]
    assert _matches(db, words="promocoes zerados") == ["CC-0100"]
    assert _matches(db, words="estoques insuficientes") == ["CC-0001"]


def test_words_match_the_category_name_in_any_language(db):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        affiliate_id = add_affiliate(conn, account, "MLB", "MLB")
        mark_changed(conn, account_id=account, flow="product", keys=[(affiliate_id, "IMG-1"), (affiliate_id, "IMG-2")])
        i = integrations.c
        conn.execute(update(integrations).where(i.entity == "IMG-1").values(**said("picture_url 404", "image_problem")))
        conn.execute(update(integrations).where(i.entity == "IMG-2").values(**said("EAN 123 inválido", "invalid_gtin")))
    titles = {c["code"]: c["title"] for c in categories()}
    pt, en = titles["image_problem"]["pt-BR"], titles["image_problem"]["en"]
    assert _matches(db, words=pt) == ["IMG-1"] and _matches(db, words=en.upper()) == ["IMG-1"]
    assert _matches(db, words=titles["invalid_gtin"]["pt-BR"]) == ["IMG-2"]


def test_postgresql_can_answer_word_searches_from_the_trigram_index(db):
    """Migration 0008: a rare word (or none) no longer reads the whole account. The plan is forced off table
    scans here (a big table's statistics choose it for rare words), and the answer must not change."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite's trigram index is migration 0010's (below)")
    with db.read() as conn:
        available = conn.execute(text("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar()
    if not available:
        missing("this PostgreSQL lacks pg_trgm (contrib): migration 0008 went on without the index")
    _with_messages(db)
    with db.read() as conn:
        present = conn.execute(
            text("SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = :name"),
            {"name": "ix_integrations_search_trgm"},
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
    assert "ix_integrations_search_trgm" in plan
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
            assert [s for s in conn.execute(prepared).scalars() if "search_text LIKE" in s] == []
        # Back in the pool, the connection prepares again what it runs often.
        with one.read() as conn:
            for _ in range(12):
                connections.list_integrations(conn, account_id=1, filter=IntegrationFilter(flow="order"))
            assert conn.execute(prepared).first(), "nothing was prepared: this test no longer sees what it is about"
    finally:
        one.dispose()


# -- SQLite: the trigram index of migration 0010 --------------------------------------------------------


def _sqlite_only(db):
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL's trigram index is migration 0008's (above)")


def _ids(db, *entities):
    with db.read() as conn:
        rows = conn.execute(select(integrations.c.id).where(integrations.c.entity.in_(entities)))
        return sorted(rows.scalars())


def test_sqlite_names_the_few_rows_a_rare_word_may_be_in(db):
    _sqlite_only(db)
    _with_messages(db)
    with db.read() as conn:
        assert rows_that_may_hold(conn, "xyzzy") == []  # a typo: no row to read at all
        assert sorted(rows_that_may_hold(conn, "EAN inválido") or []) == _ids(db, "CC-0002")
        assert sorted(rows_that_may_hold(conn, "ESTOQUE") or []) == _ids(db, "CC-0001", "CC-0100")
        assert rows_that_may_hold(conn, "é O") is None  # words too short for trigrams: it cannot tell
        assert rows_that_may_hold(conn, "100%") == []  # a wildcard stays out of the index's patterns
        assert sorted(rows_that_may_hold(conn, "armazens") or []) == _ids(db, "CC-0001")  # by its stem


def test_sqlite_leaves_a_common_word_to_the_list_walk(db, monkeypatch):
    _sqlite_only(db)
    _with_messages(db)
    monkeypatch.setattr(filters, "RARE_ROWS", 2)
    with db.read() as conn:
        assert rows_that_may_hold(conn, "estoque") is None  # two rows hold it: not rare any more
        assert rows_that_may_hold(conn, "armazém") == _ids(db, "CC-0001")
        assert len(IntegrationFilter(words="estoque").conditions_on(conn, 1)) == 2  # account, words
        assert len(IntegrationFilter(words="armazém").conditions_on(conn, 1)) == 3  # and the rows named


@pytest.mark.parametrize(
    "words",
    ["estoque", "ESTOQUE armazém", "EAN inválido", "inválido EAN", "zerado promoção", "xyzzy", "é", "EAN 789",
     "7891234567895", "ção", "Estoque insuficiente no armazém", "100%", "CC_0001", "armazem"],
)  # fmt: skip
def test_a_word_search_finds_the_same_rows_with_or_without_the_index(db, words):
    """The index only narrows: the list (which uses it on SQLite) answers what the plain conditions do."""
    _with_messages(db)
    with db.read() as conn:
        page = connections.list_integrations(conn, account_id=1, filter=IntegrationFilter(words=words))
    assert sorted(r.entity for r in page.rows) == _matches(db, words=words)


def test_the_sqlite_trigram_index_follows_every_write(db):
    """Inserts, changed and cleared messages, other columns changed, rows deleted (cascading from their
    affiliate): the index still agrees with the rows (FTS5's own integrity check) and names the right ones."""
    _sqlite_only(db)
    _with_messages(db)
    i = integrations.c
    with db.write() as conn:
        conn.execute(update(integrations).where(i.entity == "CC-0001").values(**said("Categoria sem atributo cor")))
        conn.execute(update(integrations).where(i.entity == "CC-0002").values(**said(None)))
        conn.execute(update(integrations).where(i.entity == "CC-0100").values(status="pending"))  # message kept
        other = add_affiliate(conn, 1, "MGLU", "Magalu")
        mark_changed(conn, account_id=1, flow="price", keys=[(other, "CC-0009")])
        conn.execute(update(integrations).where(i.entity == "CC-0009").values(**said("Estoque do armazém novo")))
    with db.read() as conn:
        assert sorted(rows_that_may_hold(conn, "armazém") or []) == _ids(db, "CC-0009")
        assert rows_that_may_hold(conn, "inválido") == []
        assert sorted(rows_that_may_hold(conn, "atributo") or []) == _ids(db, "CC-0001")
        assert sorted(rows_that_may_hold(conn, "promoção") or []) == _ids(db, "CC-0100")
    with db.write() as conn:
        conn.execute(text("DELETE FROM affiliates WHERE id = :id"), {"id": other})
        conn.execute(text("INSERT INTO integrations_fts (integrations_fts, rank) VALUES ('integrity-check', 1)"))
    with db.read() as conn:
        assert rows_that_may_hold(conn, "armazém") == []


def test_sqlite_answers_a_word_no_message_holds_without_walking_the_list(db):
    """SQLite's steps (its progress handler, every 100 instructions) for a typo: with the index, a handful,
    whatever the rows; without it, the list order walked to its end, every message read."""
    _sqlite_only(db)
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        affiliate_id = add_affiliate(conn, account, "MLB", "MLB")
        keys = [(affiliate_id, f"SKU-{n:04d}") for n in range(2000)]
        mark_changed(conn, account_id=account, flow="price", keys=keys)
        conn.execute(update(integrations).values(**said("Estoque insuficiente no armazém")))

    def steps(conditions) -> int:
        counted, found = sqlite_steps(
            db, lambda conn: conn.execute(select(integrations.c.id).where(*conditions(conn)).limit(50)).all()
        )
        assert found == []
        return counted

    typo = IntegrationFilter(words="xyzzy")
    with_index = steps(lambda conn: typo.conditions_on(conn, account))
    assert with_index < 20 and steps(lambda conn: typo.conditions(account)) > 20 * max(with_index, 1)
