"""The shared integration filter on both databases: prefix search, words, and what never matches."""

from __future__ import annotations

from sqlalchemy import select

from factories import add_affiliate
from ponte.auth import get_or_create_account
from ponte.engine.queue import mark_changed
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
