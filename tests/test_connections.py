"""The Connections query layer: lists, cursors, details, counts, causes, order history, SKU matrix."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from factories import add_integration, integration_id, sqlite_steps, two_stores
from ponte.clock import now
from ponte.engine.queue import count_reprocessable, mark_changed, reprocess_integrations
from ponte.services import connections
from ponte.services.errors import InputError, NotFound
from ponte.store.filters import IntegrationFilter
from ponte.store.tables import integrations


@pytest.fixture
def stores(db):
    with db.write() as conn:
        return two_stores(conn)


def test_it_pages_through_every_row_once_in_processing_order(db, stores):
    a, _ = stores
    seen = []
    cursor = None
    with db.read() as conn:
        while True:
            page = connections.list_integrations(
                conn, account_id=a.account_id, filter=IntegrationFilter(flow="product"), cursor=cursor, limit=4
            )
            seen.extend(page.rows)
            cursor = page.next_cursor
            if cursor is None:
                break
    assert len(seen) == 6 and len({r.id for r in seen}) == 6
    stamps = [r.processed_at for r in seen]
    assert stamps == sorted(stamps, reverse=True)


def test_it_keeps_rows_with_the_same_time_apart_and_never_processed_rows_first(db, stores):
    a, _ = stores
    when = now()
    with db.write() as conn:
        for n in range(5):
            add_integration(
                conn,
                a.account_id,
                flow="price",
                affiliate_id=a.affiliates["B2W"],
                entity=f"TIE-{n}",
                status="success",
                processed_at=when,
            )
        fresh = add_integration(
            conn,
            a.account_id,
            flow="price",
            affiliate_id=a.affiliates["B2W"],
            entity="NEW-1",
            status="pending",
            attempts=0,
        )
    ids, cursor = [], None
    with db.read() as conn:
        while True:
            page = connections.list_integrations(
                conn, account_id=a.account_id, filter=IntegrationFilter(flow="price"), cursor=cursor, limit=2
            )
            ids.extend(r.id for r in page.rows)
            if not (cursor := page.next_cursor):
                break
    assert ids[0] == fresh
    assert len(ids) == len(set(ids)) == 12


def _page_by_page(db, account_id, limit):
    rows, cursor = [], None
    with db.read() as conn:
        while True:
            page = connections.list_integrations(
                conn, account_id=account_id, filter=IntegrationFilter(flow="price"), cursor=cursor, limit=limit
            )
            rows.extend(page.rows)
            if not (cursor := page.next_cursor):
                return rows


def _waiting_and_done(db, account_id, affiliate_id, start, count):
    """`count` never-processed price rows, then as many processed ones, every third sharing one time."""
    keys = [(affiliate_id, f"P-{n:05d}") for n in range(start, start + 2 * count)]
    when = now()
    with db.write() as conn:
        mark_changed(conn, account_id=account_id, flow="price", keys=keys)
        done = [key for _, key in keys[count:]]
        for n, entity in enumerate(done):
            stamp = when - timedelta(seconds=(start + n) // 3)
            conn.execute(update(integrations).where(integrations.c.entity == entity).values(processed_at=stamp))


def test_pages_follow_the_list_order_across_never_processed_and_processed_rows(db, stores):
    a, _ = stores
    _waiting_and_done(db, a.account_id, a.affiliates["B2W"], 0, 40)
    rows = _page_by_page(db, a.account_id, limit=7)
    expected = sorted(
        rows, key=lambda r: (r.processed_at is not None, -(r.processed_at.timestamp() if r.processed_at else 0), -r.id)
    )
    assert [r.id for r in rows] == [r.id for r in expected]
    assert len({r.id for r in rows}) == len(rows) >= 80


def test_a_page_costs_the_same_however_many_rows_wait(db, stores):
    """Two walks down an index, never a sort of the flow: SQLite sorted every row for each page (60 ms a view when
    a repricing left 100,000 rows waiting). Counted in SQLite's steps (its progress handler, every 100 steps)."""
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL's steps are not counted from here; its plan walks the same indexes")
    a, _ = stores

    def steps() -> int:
        def two_pages(conn):
            price = IntegrationFilter(flow="price")
            first = connections.list_integrations(conn, account_id=a.account_id, filter=price, limit=50)
            after = connections.list_integrations(
                conn, account_id=a.account_id, filter=price, limit=50, cursor=first.next_cursor
            )
            return len(first.rows), len(after.rows)

        counted, read = sqlite_steps(db, two_pages)
        assert read == (50, 50)
        return counted

    _waiting_and_done(db, a.account_id, a.affiliates["B2W"], 0, 200)
    few = steps()
    _waiting_and_done(db, a.account_id, a.affiliates["B2W"], 400, 3000)
    assert steps() <= few * 1.5 + 5


@pytest.mark.parametrize("bad", ["garbage!!", "eyJ4IjogMX0", "bm90IGpzb24"])
def test_it_refuses_a_bad_cursor_with_a_clear_error(db, stores, bad):
    a, _ = stores
    with db.read() as conn, pytest.raises(InputError) as err:
        connections.list_integrations(conn, account_id=a.account_id, filter=IntegrationFilter(), cursor=bad)
    assert err.value.field == "cursor"


def test_it_lists_only_the_accounts_own_rows(db, stores):
    _a, b = stores
    with db.read() as conn:
        page = connections.list_integrations(conn, account_id=b.account_id, filter=IntegrationFilter(), limit=500)
    assert page.rows and all(r.affiliate_id in b.affiliates.values() for r in page.rows)


def test_it_gives_the_history_newest_first_with_bodies(db, stores):
    a, _ = stores
    with db.read() as conn:
        iid = integration_id(conn, a, "product", "TEN-001")
        detail = connections.get_integration(conn, account_id=a.account_id, integration_id=iid)
    assert detail.row.status == "error"
    assert [x.id for x in detail.attempts] == sorted((x.id for x in detail.attempts), reverse=True)
    assert detail.attempts[0].request and "TEN-001" in detail.attempts[0].request


def test_it_answers_not_found_for_another_accounts_integration(db, stores):
    a, b = stores
    with db.read() as conn:
        iid = integration_id(conn, a, "product", "TEN-001")
        with pytest.raises(NotFound):
            connections.get_integration(conn, account_id=b.account_id, integration_id=iid)
        with pytest.raises(NotFound):
            connections.order_history(conn, account_id=b.account_id, order_id="1405-01")


def test_it_counts_every_status_of_a_tab_whatever_status_is_chosen(db, stores):
    a, _ = stores
    with db.read() as conn:
        plain = connections.tab_counts(
            conn, account_id=a.account_id, flow="price", filter=IntegrationFilter(statuses=("error",))
        )
        words = connections.tab_counts(
            conn, account_id=a.account_id, flow="price", filter=IntegrationFilter(words="price range")
        )
    assert plain.by_status == {"error": 2, "warning": 2, "pending": 1, "success": 1}
    assert words.by_status["error"] == 2 and words.by_status["success"] == 0


def test_it_stops_counting_at_the_cap(db, stores, monkeypatch):
    a, _ = stores
    monkeypatch.setattr(connections, "COUNT_CAP", 1)
    with db.read() as conn:
        counts = connections.tab_counts(
            conn, account_id=a.account_id, flow="product", filter=IntegrationFilter(words="a")
        )
    assert counts.by_status["error"] == 1 and "error" in counts.capped


def test_it_groups_errors_by_cause_largest_first(db, stores):
    a, _ = stores
    with db.write() as conn:
        for n in range(3):
            add_integration(
                conn,
                a.account_id,
                flow="product",
                affiliate_id=a.affiliates["B2W"],
                entity=f"X-{n}",
                status="error",
                message=f"SEM GTIN is not a valid EAN ({n}0)",
                category="invalid_gtin",
            )
    with db.read() as conn:
        causes = connections.list_causes(conn, account_id=a.account_id, filter=IntegrationFilter())
        top = causes[0]
        group = IntegrationFilter(statuses=("error",), categories=(top.category,), cause=top.cause)
        in_group = count_reprocessable(conn, account_id=a.account_id, filter=group)
    assert top.category == "invalid_gtin" and top.count == 3
    assert top.affiliates == ["B2W"] and top.flows == ["product"]
    assert in_group == 3  # "reprocess this group" queues exactly the group
    assert [c.count for c in causes] == sorted((c.count for c in causes), reverse=True)


def test_it_shows_an_orders_attempts_to_every_system(db, stores):
    a, _ = stores
    with db.write() as conn:
        add_integration(
            conn,
            a.account_id,
            flow="order",
            affiliate_id=a.affiliates["BLING"],
            entity="1400-01",
            status="error",
            message="transportadora nao cadastrada",
            category="integration_config",
            system="BLING · Bling ERP",
        )
    with db.read() as conn:
        history = connections.order_history(conn, account_id=a.account_id, order_id="1400-01")
    systems = {x.system for x in history.attempts}
    assert systems >= {"BLING · Bling ERP", "MLB · Mercado Livre"}
    assert {x.flow for x in history.attempts} == {"order", "tracking"}
    times = [x.started_at for x in history.attempts]
    assert times == sorted(times, reverse=True)


def test_it_builds_a_skus_matrix_of_flows_and_affiliates(db, stores):
    a, _ = stores
    with db.read() as conn:
        matrix = connections.sku_matrix(conn, account_id=a.account_id, sku="TEN-001")
        with pytest.raises(NotFound):
            connections.sku_matrix(conn, account_id=a.account_id, sku="NOPE")
    assert matrix.catalog.name.startswith("Tênis")
    assert matrix.cells[("product", a.affiliates["MLB"])].status == "error"
    assert "BLING" not in [x.code for x in matrix.affiliates]
    assert matrix.history


def test_it_shows_reprocessed_rows_as_pending_at_once(db, stores):
    a, _ = stores
    with db.write() as conn:
        iid = integration_id(conn, a, "product", "TEN-001")
        reprocess_integrations(conn, account_id=a.account_id, actor="alice", ids=[iid], reason="fixed EAN")
    with db.read() as conn:
        (row,) = connections.current_rows(conn, account_id=a.account_id, ids=[iid])
    assert row.status == "pending" and row.next_actor == "alice"


def test_it_filters_by_date_range(db, stores):
    a, _ = stores
    with db.read() as conn:
        f = IntegrationFilter(flow="order", date_from=now() + timedelta(days=1))
        page = connections.list_integrations(conn, account_id=a.account_id, filter=f)
    assert page.rows == []
