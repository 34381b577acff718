from datetime import UTC, datetime

from sqlalchemy import insert, select

from ponte.store.migrate import is_current
from ponte.store.tables import accounts


def test_it_migrates_to_the_newest_schema(db):
    assert is_current(db)


def test_it_returns_times_in_utc(db):
    when = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)
    with db.write() as conn:
        conn.execute(insert(accounts).values(slug="loja-a", name="Loja A", created_at=when))
    with db.read() as conn:
        stored = conn.execute(select(accounts.c.created_at)).scalar_one()
    assert stored == when and stored.tzinfo is not None
