"""Reliability under faults and load, the fast versions of `make chaos` (the package bench/chaos/ holds the rig).

Workers run as real `ponte worker` processes and are SIGKILLed mid-attempt; the sandbox misbehaves in each of
its ways; several workers share one PostgreSQL queue. Every run ends with the consistency check of
`bench.chaos.check.check_run`: nothing lost, no recorded attempt duplicated, nothing stuck pending. (A worker killed
after the marketplace answered but before it committed re-sends that change: at-least-once delivery, harmless
because each send carries the full current state; it is not a *recorded* duplicate.)
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from ponte.app import create_app
from ponte.services.orders import receive_order
from ponte.settings import load_settings
from ponte.store.tables import attempts, integrations, orders

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the rig lives in bench/, beside tests/
from bench.chaos.check import Report
from bench.chaos.rig import Rig, owners_holding_leases, wait_for
from bench.chaos.scenarios import FAULTS, drain_in_process, fault_worker, run_concurrency, run_fault, run_kill


@pytest.fixture
def rig(settings, sandbox, tmp_path) -> Iterator[Rig]:
    sandbox.control("config", rate=100_000, burst=100_000)
    made = Rig(settings, sandbox, tmp_path)
    yield made
    made.close()


def _assert_consistent(report: Report) -> None:
    assert (report.lost, report.duplicated, report.stuck, report.problems) == (0, 0, 0, []), report.line()


def test_workers_killed_mid_attempt_again_and_again_lose_nothing_and_leave_nothing_stuck(rig, db):
    report = run_kill(rig, db.dialect, skus=50, kills=3, workers=2, timeout=90)
    _assert_consistent(report)
    assert report.faults == 3  # every kill hit a worker that held leases: mid-attempt
    assert report.ops >= 150


def test_sigterm_lets_running_attempts_finish_and_releases_the_rest(rig):
    rig.load(40)
    rig.sandbox.control("faults", slow_ms=700)
    worker = rig.spawn_worker(worker_batch=40, worker_concurrency=4, http_timeout=5, lease_seconds=120)
    wait_for(lambda: bool(owners_holding_leases(rig)), 30, "the worker claimed nothing")
    time.sleep(0.5)  # its first sends are under way
    worker.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert worker.wait(timeout=30) == 0
    # The running sends end within a few marketplace answers; the whole batch would take ten rounds.
    assert time.monotonic() - started < 6
    with rig.db.read() as conn:
        leased = conn.execute(select(func.count()).where(integrations.c.lease_owner.is_not(None))).scalar_one()
        tried = conn.execute(select(attempts.c.status)).scalars().all()
    assert leased == 0  # nothing left waiting for a lease to expire
    assert 1 <= len(tried) <= 8 and set(tried) == {"success"}  # the started sends finished, and only those
    report = rig.check(Report("sigterm", "-"), expect_success=False)
    assert (report.lost, report.duplicated, report.problems) == (0, 0, []), report.line()  # the rest wait, due


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_each_marketplace_fault_is_retried_classified_and_bounded(rig, db, kind):
    report = run_fault(rig, db.dialect, kind, skus=6)
    _assert_consistent(report)
    assert report.faults > 0
    served = rig.sandbox.stats()["total"]
    assert served < 10 * 6 * 3  # retried, never stormed


def test_price_and_stock_wait_together_for_a_product_not_yet_listed(rig):
    worker = fault_worker(rig)
    try:
        rig.load(1)
        worker.run_once()  # the product is sent; its price and stock, claimed with it, are held back
        with rig.db.read() as conn:
            first = conn.execute(
                select(integrations.c.flow).join(attempts, attempts.c.integration_id == integrations.c.id)
            ).scalars()
            assert sorted(first) == ["product"]
        assert drain_in_process(rig, worker, 30)
    finally:
        worker.close()
    report = rig.check(Report("dependent", "-"))
    _assert_consistent(report)
    assert report.ops == 3  # one attempt each: no "item not found" before the listing existed


@pytest.mark.postgres
def test_four_workers_on_postgres_never_run_one_integration_twice_at_once(rig, db):
    if db.dialect != "postgresql":
        pytest.skip("many workers at once is the PostgreSQL path (SKIP LOCKED)")
    report = run_concurrency(rig, "postgres", skus=100, workers=4, busy=3, timeout=90)
    _assert_consistent(report)
    assert report.faults > 5  # catalog changes arrived meanwhile (3 s at up to 40 a second, fewer when loaded)


def test_two_workers_reading_one_order_feed_store_each_order_once_without_an_error(rig, db):
    """The soak found it: both workers read the marketplace's order feed, both saw a new order, the second insert
    hit the unique key and its whole step failed (an ERROR in the log). Now the second learns it was not new."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite's writers take turns: the two inserts cannot race")
    order = {"id": "MLB-77", "items": [{"sku": "CH-000000", "quantity": 1, "price": 899.0}], "postal_code": "01310100"}
    second: dict[str, object] = {}

    def other_worker() -> None:
        try:
            with rig.db.write() as conn:
                second["new"] = receive_order(conn, account_id=rig.account, affiliate_id=rig.affiliate, data=order)[1]
        except Exception as exc:
            second["error"] = exc

    with rig.db.write() as conn:
        first = receive_order(conn, account_id=rig.account, affiliate_id=rig.affiliate, data=order)[1]
        thread = threading.Thread(target=other_worker)
        thread.start()
        thread.join(1.0)
        assert thread.is_alive()  # past its check, its insert waits for this uncommitted order
    thread.join(10)
    assert (first, second) == (True, {"new": False})
    with rig.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 1
        assert conn.execute(select(func.count()).where(integrations.c.flow == "order")).scalar_one() == 1


# -- the web app while the database is down ----------------------------------------------------------


@pytest.fixture
def unreachable_app(tmp_path, monkeypatch):
    monkeypatch.setenv("PONTE_SECRET_KEY_FILE", str(tmp_path / "secret.key"))
    settings = load_settings(tmp_path, f"sqlite:///{tmp_path}/no-such-folder/ponte.db")
    app = create_app(settings)

    @app.get("/_test/conflict")
    def conflict() -> None:
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    @app.get("/_test/down")
    def down() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    return app


def test_the_api_answers_503_temporarily_unavailable_while_the_database_is_down(unreachable_app):
    client = TestClient(unreachable_app, raise_server_exceptions=False)
    answer = client.get("/api/v1/integrations", headers={"Authorization": "Bearer pt_nothing"})
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "temporarily unavailable" in answer.json()["detail"]
    assert "temporariamente indisponível" in answer.json()["detail_pt"]
    assert answer.headers["retry-after"]


def test_a_page_answers_503_in_portuguese_and_english_while_the_database_is_down(unreachable_app):
    answer = TestClient(unreachable_app).get("/_test/down", headers={"Accept": "text/html"})
    assert answer.status_code == 503
    assert "Temporariamente indisponível" in answer.text and "Temporarily unavailable" in answer.text


def test_other_database_errors_stay_server_errors(unreachable_app):
    answer = TestClient(unreachable_app, raise_server_exceptions=False).get("/_test/conflict")
    assert answer.status_code == 500
