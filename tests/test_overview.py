"""The Overview: health tiles from counters and 24 h of attempts, hourly series, oldest pending, the page itself."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from factories import ALICE, BOB, add_integration, build_store, login, two_stores
from ponte.app import create_app
from ponte.clock import now
from ponte.domain import Role
from ponte.services.overview import overview
from ponte.store.tables import integrations


@pytest.fixture
def stores(db):
    with db.write() as conn:
        return two_stores(conn)


@pytest.fixture
def client(settings, db):
    with TestClient(create_app(settings, db=db), follow_redirects=True) as c:
        yield c


def _tile(data, flow, code):
    return next(t for t in data.tiles if t.flow == flow and t.affiliate_code == code)


def test_it_counts_open_errors_from_the_counters_and_attempts_of_the_last_day(db):
    with db.write() as conn:
        a = build_store(conn, "loja-a", {ALICE: Role.OPERATOR})
        mlb, hour_ago = a.affiliates["MLB"], now() - timedelta(hours=1)
        for entity, status in (("E1", "error"), ("E2", "error"), ("OK", "success"), ("P", "pending")):
            add_integration(
                conn,
                a.account_id,
                flow="product",
                affiliate_id=mlb,
                entity=entity,
                status=status,
                message="boom" if status == "error" else None,
                category="unmapped",
                processed_at=hour_ago,
                attempts=2 if status == "error" else 1,
            )
    with db.read() as conn:
        data = overview(conn, account_id=a.account_id)
    tile = _tile(data, "product", "MLB")
    assert (tile.open_errors, tile.pending) == (2, 1)
    # 2 errors × 2 attempts, 1 success, and the pending row's one failed attempt.
    assert (tile.attempts_24h, tile.errors_24h, tile.ok_24h) == (6, 5, 1)
    assert tile.success_rate == pytest.approx(1 / 6)
    assert tile.health(data.now) == "bad"


def test_it_leaves_out_attempts_older_than_a_day_and_other_stores(db):
    with db.write() as conn:
        a = build_store(conn, "loja-a", {ALICE: Role.OPERATOR})
        b = build_store(conn, "loja-b", {BOB: Role.ADMIN})
        mlb = a.affiliates["MLB"]
        add_integration(
            conn,
            a.account_id,
            flow="price",
            affiliate_id=mlb,
            entity="OLD",
            status="success",
            processed_at=now() - timedelta(days=2),
        )
        add_integration(
            conn,
            a.account_id,
            flow="price",
            affiliate_id=mlb,
            entity="NEW",
            status="error",
            message="price out of range",
            category="price_rejected",
            processed_at=now(),
        )
        add_integration(
            conn,
            b.account_id,
            flow="price",
            affiliate_id=b.affiliates["MLB"],
            entity="B",
            status="error",
            processed_at=now(),
        )
    with db.read() as conn:
        data = overview(conn, account_id=a.account_id)
    tile = _tile(data, "price", "MLB")
    assert (tile.attempts_24h, tile.errors_24h, tile.ok_24h) == (1, 1, 0)
    assert sum(data.total(flow="price").attempts) == 2  # 7 days: the 2-day-old attempt is in, store B's is not
    assert sum(data.total(flow="price").errors) == 1


def test_it_puts_each_attempt_in_its_hour(db):
    with db.write() as conn:
        a = build_store(conn, "loja-a", {ALICE: Role.OPERATOR})
        when = now() - timedelta(hours=5)
        add_integration(
            conn,
            a.account_id,
            flow="inventory",
            affiliate_id=a.affiliates["AMZ"],
            entity="X",
            status="error",
            message="boom",
            category="unmapped",
            processed_at=when,
            attempts=1,
        )
    with db.read() as conn:
        data = overview(conn, account_id=a.account_id)
    series = data.total(flow="inventory")
    hour = when.replace(minute=0, second=0, microsecond=0)
    slot = data.hours.index(hour)
    assert series.attempts[slot] == 1 and series.errors[slot] == 1
    assert sum(series.attempts) == 1


def test_it_lists_the_oldest_due_pending_work_first(db):
    with db.write() as conn:
        a = build_store(conn, "loja-a", {ALICE: Role.OPERATOR})
        mlb = a.affiliates["MLB"]
        ids = {}
        for entity, minutes in (("A", 10), ("B", 90), ("C", -30)):  # C is due in the future: a scheduled retry
            ids[entity] = add_integration(
                conn, a.account_id, flow="product", affiliate_id=mlb, entity=entity, status="pending", attempts=0
            )
            conn.execute(
                update(integrations)
                .where(integrations.c.id == ids[entity])
                .values(due_at=now() - timedelta(minutes=minutes))
            )
    with db.read() as conn:
        data = overview(conn, account_id=a.account_id)
    assert [p.entity for p in data.oldest_pending] == ["B", "A"]
    tile = _tile(data, "product", "MLB")
    assert tile.pending == 3 and tile.health(data.now) == "warn"


def test_it_lands_on_the_overview_after_login_with_links_to_filtered_connections(client, stores):
    login(client, ALICE)
    answer = client.get("/")
    assert answer.status_code == 200 and answer.url.path == "/overview"
    assert "Visão geral" in answer.text and "<svg" in answer.text
    links = set(re.findall(r'href="(/connections/[^"]+)"', answer.text))
    assert "/connections/product?status=error&amp;affiliate=MLB" in links
    assert "/connections/product?status=pending&amp;affiliate=MLB" in links


def test_it_shows_the_overview_in_english_without_other_stores_data(client, stores):
    login(client, ALICE)
    answer = client.get("/overview?lang=en")
    assert "Top error causes" in answer.text and "Attempts and errors per hour" in answer.text
    assert "loja-b" not in answer.text


def test_it_sends_anonymous_visitors_from_the_overview_to_login(client, stores):
    answer = client.get("/overview", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
