import os
import resource
import socket
import time
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import insert, select, text

from needs import missing
from ponte.settings import load_settings
from ponte.store.db import Database, _has_input
from ponte.store.migrate import alembic_config, is_current, migrate
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


def test_sqlite_connections_are_tuned(tmp_path):
    db = Database(load_settings(tmp_path, f"sqlite:///{tmp_path / 'ponte.db'}"))
    with db.read() as conn:
        got = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in PRAGMAS}
    db.dispose()
    # WAL, with a commit synced at checkpoints only; foreign keys enforced; a 64 MiB page cache; and the WAL
    # checkpointed every 10,000 pages, not after every commit of a big batch (SQLite's default is 1,000), its
    # file cut back to 64 MiB after one.
    assert got == PRAGMAS


PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": 1,
    "foreign_keys": 1,
    "cache_size": -65536,
    "wal_autocheckpoint": 10_000,
    "journal_size_limit": 64 * 1024 * 1024,
    "busy_timeout": 30_000,
}


# docs/scaling.md tells the operator of a big database to build these by hand (CONCURRENTLY) before migrating.
PREBUILT = [
    "CREATE INDEX ix_integrations_account_recent ON integrations (account_id, processed_at, id)",
    "CREATE INDEX ix_integrations_flow_recent ON integrations (account_id, flow, processed_at, id)",
]
PREBUILT_POSTGRES = [
    "CREATE INDEX ix_integrations_entity_prefix ON integrations (account_id, entity varchar_pattern_ops)",
    "CREATE INDEX ix_integrations_message_trgm ON integrations USING gin (message public.gin_trgm_ops)",
]


def test_migrations_accept_indexes_built_by_hand_beforehand(settings, tmp_path):
    """On a fresh database beside the test's own (which only tells the kind and the server)."""
    kind = "sqlite" if settings.is_sqlite else "postgres"
    schema = f"ponte_test_prebuilt_{os.getpid()}"
    if kind == "sqlite":
        db = Database(load_settings(tmp_path / "fresh"))
    else:
        server = settings.database_url.split("?")[0]
        admin = Database(load_settings(tmp_path, server))
        with admin.write() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first():
                missing("this PostgreSQL lacks pg_trgm (contrib), which the trigram index needs")
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            # The lock migration 0008 takes, so that a test database migrating meanwhile does not race this.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('ponte: install pg_trgm'))"))
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
        db = Database(load_settings(tmp_path, f"{server}?options=-csearch_path%3D{schema}"))
    try:
        config = alembic_config(db)
        with db.write() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0004_alerts")
        with db.write() as conn:
            for statement in PREBUILT + (PREBUILT_POSTGRES if kind == "postgres" else []):
                conn.execute(text(statement))
        migrate(db)
        assert is_current(db)
    finally:
        db.dispose()
        if kind == "postgres":
            with admin.write() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


def _backend_pid(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _one_connection_pool(settings) -> tuple[Database, Database]:
    """A pool of one connection to the test's database, and another Database to watch it from."""
    if settings.is_sqlite:
        pytest.skip("a PostgreSQL pool's sessions: SQLite has no server to end them")
    return Database(settings, pool_size=1, max_overflow=0), Database(settings)


def test_a_connection_the_server_closed_is_replaced_at_checkout(settings):
    """After the server ends a pooled session (a restart, an idle timeout), the next use gets a new one."""
    db, admin = _one_connection_pool(settings)
    try:
        first = _backend_pid(db)
        with admin.write() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar_one()
        _wait_gone(admin, first)
        assert _backend_pid(db) != first
    finally:
        db.dispose()
        admin.dispose()


def test_a_checkout_sends_nothing_to_the_server(settings):
    """No ping per checkout: the pooled session's last statement is still our read's."""
    db, admin = _one_connection_pool(settings)
    try:
        pid = _backend_pid(db)
        with db.engine.connect() as conn:  # checked out again, nothing run yet
            with admin.read() as other:
                last = other.execute(text("SELECT query FROM pg_stat_activity WHERE pid = :p"), {"p": pid}).scalar()
            assert conn.connection.driver_connection.info.backend_pid == pid
        assert last == "SELECT pg_backend_pid()"  # a ping would show as its own statement
    finally:
        db.dispose()
        admin.dispose()


def _wait_gone(admin: Database, pid: int) -> None:
    for _ in range(100):
        with admin.read() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid = :p"), {"p": pid}).first():
                return
        time.sleep(0.05)
    raise AssertionError(f"backend {pid} did not end")


def test_the_socket_check_sees_input_and_a_closed_peer_on_any_descriptor():
    """What the pool's checkout looks at, on a descriptor past select()'s limit of 1023."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip(f"this process may not open 2048 files (hard limit {hard})")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), hard))
    ours, peer = socket.socketpair()
    high = os.dup2(ours.fileno(), 1500)
    try:
        assert not _has_input(high)
        peer.send(b"bye")
        assert _has_input(high)
        os.read(high, 3)
        assert not _has_input(high)
        peer.close()
        assert _has_input(high)  # the peer closed: reading would return at once, with nothing
    finally:
        os.close(high)
        ours.close()
        peer.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_accounts_made_before_reconciliation_get_its_stock_drift_rule(db):
    """Migration 0019: an account that had rules before the stock_drift default existed gets it, once; an account
    that never read its rules gets none there (it gets every default when it first does)."""
    from ponte.alerts.rules import STOCK_DRIFT, list_rules
    from ponte.auth import get_or_create_account
    from ponte.store.tables import alert_rules

    with db.write() as conn:
        old = get_or_create_account(conn, slug="loja-antiga")
        list_rules(conn, account_id=old)
        conn.execute(alert_rules.delete().where(alert_rules.c.account_id == old, alert_rules.c.kind == STOCK_DRIFT))
        untouched = get_or_create_account(conn, slug="loja-sem-regras")
    config = alembic_config(db)
    for _ in range(2):  # migrating twice gives one rule, not two
        with db.write() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0018_search_text")
            command.upgrade(config, "head")
    with db.read() as conn:
        drift = conn.execute(
            select(
                alert_rules.c.account_id, alert_rules.c.enabled, alert_rules.c.builtin, alert_rules.c.created_at
            ).where(alert_rules.c.kind == STOCK_DRIFT)
        ).all()
    assert [(r.account_id, r.enabled, r.builtin) for r in drift] == [(old, True, True)]
    assert drift[0].created_at.tzinfo is not None
    assert untouched not in {r.account_id for r in drift} and is_current(db)


def test_a_json_column_reads_back_exactly_what_was_written(db):
    """JSON columns are read with orjson on SQLite, except what it would not read exactly: a number past 64 bits
    (it would become a float) and NaN (it refuses it)."""
    from ponte.store.tables import skus

    when = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    written = {"big": 123456789012345678901234567890, "text": "água", "list": [1, 2.5, None], "nested": {"a": True}}
    with db.write() as conn:
        account = conn.execute(
            insert(accounts).values(slug="loja-j", name="Loja J", created_at=when).returning(accounts.c.id)
        ).scalar_one()
        for n, attributes in enumerate([written, {"plain": 1}]):
            conn.execute(
                insert(skus).values(
                    account_id=account, sku=f"J-{n}", name="J", attributes=attributes, images=[], price=1,
                    list_price=1, created_at=when, updated_at=when,
                )
            )  # fmt: skip
    with db.read() as conn:
        got = dict(conn.execute(select(skus.c.sku, skus.c.attributes).order_by(skus.c.sku)).all())
    assert got == {"J-0": written, "J-1": {"plain": 1}}
    assert isinstance(got["J-0"]["big"], int)
