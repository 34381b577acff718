"""Reconciliation against the emulated Mercado Livre, end to end on SQLite and PostgreSQL: the seller changes
listings in Mercado Livre's portal behind Ponte's back (the emulation's `_admin/items/{id}`); one pass finds each
drift with its kind, the stock that could oversell is repaired within the pass (an attempt with trigger
"reconciliation"), a paused listing is only reported unless the account says to repair it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from meli_fixtures import CLIENT_ID, CLIENT_SECRET, SELLER_ID, Meli, identity
from ponte.auth import get_or_create_account
from ponte.clock import now
from ponte.engine.credentials import StoredCredentials
from ponte.engine.reconcile import Reconciler
from ponte.engine.worker import Worker
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import SkuInput, save_sku
from ponte.store import reconcile as store
from ponte.store.affiliates import Affiliate, affiliates_by_id
from ponte.store.db import Database
from ponte.store.tables import attempts, integrations, listings
from sandbox_fixtures import product

SKUS = ("A-1", "B-2", "C-3", "D-4", "E-5")


class Store:
    """A store listed on the emulated Mercado Livre, its worker, and a reconciler."""

    def __init__(self, db: Database, settings: Any, meli: Meli, tmp_path: Any) -> None:
        self.db, self.meli = db, meli
        self.settings = dataclasses.replace(settings, retry_schedule=(0.0, 0.0, 0.0), http_timeout=5.0)
        self.box = SecretBox.from_environment(tmp_path / "secret.key")
        meli.admin("POST", "/apps", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[])
        with db.write() as conn:
            self.account = get_or_create_account(conn, slug="loja-drift")
            self.affiliate_id = create_affiliate(
                conn, box=self.box, account_id=self.account, code="MLB", name="Mercado Livre",
                connector="mercadolivre",
                settings={**meli.settings(requests_per_second=100), "client_secret": CLIENT_SECRET},
            )  # fmt: skip
        StoredCredentials(db, self.box, self.affiliate_id).store(meli.grant(), identity())
        self.worker = Worker(db, self.settings, owner="w-drift", box=self.box)
        self.reconciler = Reconciler(db, self.settings, self.box, owner="r-drift")

    @property
    def affiliate(self) -> Affiliate:
        with self.db.read() as conn:
            return affiliates_by_id(conn, [self.affiliate_id])[self.affiliate_id]

    def save(self, sku: str, *, stock: int = 10, price: str = "899.00") -> None:
        item = {**product(sku, category="1055"), "list_price": "999.00", "price": price, "stock": {"main": stock}}
        item.pop("active", None)
        with self.db.write() as conn:
            save_sku(conn, account_id=self.account, item=SkuInput.model_validate(item))

    def drain(self) -> None:
        for _ in range(20):
            if not self.worker.run_once(due_by=now() + timedelta(seconds=3)):
                return

    def item_id(self, sku: str) -> str:
        with self.db.read() as conn:
            query = select(listings.c.listing_id).where(listings.c.sku == sku)
            return str(conn.execute(query).scalar_one())

    def portal(self, sku: str, **change: Any) -> None:
        """The seller changes the listing in Mercado Livre's portal."""
        self.meli.admin("POST", f"/items/{self.item_id(sku)}", **change)

    def drifts(self) -> dict[tuple[str | None, str], store.DriftRow]:
        with self.db.read() as conn:
            return {(d.sku, d.kind): d for d in store.list_drifts(conn, account_id=self.account)}

    def row(self, flow: str, sku: str) -> Any:
        with self.db.read() as conn:
            query = select(integrations).where(integrations.c.flow == flow, integrations.c.entity == sku)
            return conn.execute(query).one()


@pytest.fixture
def shop(db: Database, settings: Any, meli: Meli, tmp_path: Any) -> Iterator[Store]:
    made = Store(db, settings, meli, tmp_path)
    for sku in SKUS:
        made.save(sku)
    made.drain()
    assert all(made.row("inventory", sku).status == "success" for sku in SKUS)
    yield made
    made.worker.close()


def _behind_the_back(shop: Store) -> str:
    shop.portal("A-1", available_quantity=25)  # more than the store has: it oversells
    shop.portal("B-2", price=799.0, deal_ids=["LGHTNG-1"])  # a promotion
    shop.portal("C-3", status="paused")
    shop.portal("D-4", deleted=True)
    shop.portal("E-5", available_quantity=3)  # less than the store has
    made = shop.meli.admin(
        "POST", "/items", seller_id=SELLER_ID,
        body={"title": "Feito à mão", "price": 10.0, "available_quantity": 1,
              "attributes": [{"id": "SELLER_SKU", "value_name": "HAND-9"}]},
    )  # fmt: skip
    return str(made["id"])


def test_one_pass_finds_each_drift_with_its_kind_and_repairs_the_stock_that_oversells(shop: Store) -> None:
    hand = _behind_the_back(shop)
    (report,) = shop.reconciler.run_pass(shop.affiliate, mode="full")
    assert report.done and report.read == 5  # four of Ponte's listings and the one made by hand
    found = shop.drifts()
    assert set(found) == {
        ("A-1", "stock_higher"), ("B-2", "price"), ("C-3", "status"), ("D-4", "missing"), ("E-5", "stock_lower"),
        ("HAND-9", "unknown"),
    }  # fmt: skip
    assert (found[("A-1", "stock_higher")].store_value, found[("A-1", "stock_higher")].held_value) == ("10", "25")
    assert found[("B-2", "price")].cause == "promotion"
    assert found[("HAND-9", "unknown")].listing_id == hand
    assert report.found["stock_higher"] == 1 and report.repaired == {"stock_higher": 1}
    # The oversell is repaired at once: the stock is sent again, as an attempt with trigger "reconciliation".
    assert found[("A-1", "stock_higher")].status == "repairing"
    assert (shop.row("inventory", "A-1").status, shop.row("inventory", "A-1").next_trigger) == (
        "pending", "reconciliation"
    )  # fmt: skip
    # Reported only: the paused listing stays paused, the lower stock and the promotion are left as they are.
    assert shop.row("product", "C-3").status == "success"
    assert shop.row("inventory", "E-5").status == "success" and shop.row("price", "B-2").status == "success"
    shop.drain()
    assert shop.meli.items("A-1")[0]["available_quantity"] == 10
    assert shop.meli.items("C-3")[0]["status"] == "paused"
    with shop.db.read() as conn:
        trigger = conn.execute(
            select(attempts.c.trigger).where(attempts.c.integration_id == shop.row("inventory", "A-1").id)
            .order_by(attempts.c.id.desc()).limit(1)
        ).scalar_one()  # fmt: skip
    assert trigger == "reconciliation"
    assert shop.meli.stats()["throttled"] == 0  # the reads kept within the app's rate


def test_the_next_pass_resolves_what_was_repaired_and_keeps_what_was_only_reported(shop: Store) -> None:
    _behind_the_back(shop)
    shop.reconciler.run_pass(shop.affiliate, mode="full")
    shop.drain()
    (again,) = shop.reconciler.run_pass(shop.affiliate, mode="full")
    found = shop.drifts()
    assert ("A-1", "stock_higher") not in found  # repaired: gone
    assert ("C-3", "status") in found and found[("C-3", "status")].status == "open"
    assert again.found == {}  # nothing new: the reported ones were already open


def test_a_paused_listing_is_reactivated_when_the_account_repairs_that_kind(shop: Store) -> None:
    shop.portal("C-3", status="paused")
    with shop.db.write() as conn:
        actions = {**store.DEFAULT_ACTIONS, "status": "repair"}
        store.save_settings(conn, account_id=shop.account, settings=store.ReconcileSettings(actions=actions), now=now())
    (report,) = shop.reconciler.run_pass(shop.affiliate, mode="full")
    assert report.repaired == {"status": 1}
    assert shop.row("product", "C-3").next_trigger == "reconciliation"
    shop.drain()
    assert shop.meli.items("C-3")[0]["status"] == "active"


def test_a_focused_pass_reads_only_the_listings_sent_lately(shop: Store) -> None:
    shop.portal("A-1", available_quantity=40)
    shop.portal("B-2", available_quantity=40)
    with shop.db.write() as conn:  # only A-1's stock was sent lately
        conn.execute(
            integrations.update().where(integrations.c.entity != "A-1").values(processed_at=now() - timedelta(days=2))
        )
        store.save_settings(conn, account_id=shop.account, settings=store.ReconcileSettings(low_stock=0), now=now())
    (report,) = shop.reconciler.run_pass(shop.affiliate, mode="focused")
    assert report.done and report.read == 1
    assert set(shop.drifts()) == {("A-1", "stock_higher")}


# -- the connector's read-back, alone ---------------------------------------------------------------------------


def test_the_read_back_scans_the_sellers_items_and_multigets_them_as_documented(
    meli: Meli, contract_recorder: Any
) -> None:
    from ponte.connectors.base import ReadRequest
    from sandbox_fixtures import product_send

    connector = meli.connector()
    made = [connector.send_product(product_send(f"S-{n}", quantity=n + 1)) for n in range(3)]
    assert all(m.listing is not None for m in made)
    page = connector.read_listings(ReadRequest(mode="full"))
    assert page.outcome is None and page.cursor  # a scroll id for the next page
    held = {h.sku: h for h in page.listings}
    assert set(held) == {"S-0", "S-1", "S-2"} and held["S-2"].quantity == 3 and held["S-1"].price == Decimal("899.00")
    assert connector.read_listings(ReadRequest(mode="full", cursor=page.cursor)).listings == []
    first = made[0].listing
    assert first is not None
    gone = connector.read_listings(ReadRequest(mode="focused", listing_ids=("MLB999", first.listing_id)))
    assert gone.missing == ("MLB999",) and [h.sku for h in gone.listings] == ["S-0"]
    contract_recorder.assert_reached("searchSellerItems", "getItems")


def test_a_renamed_read_back_parameter_is_refused_by_the_contract() -> None:
    from ponte.connectors.mercadolivre.emulation import documented_contract

    contract = documented_contract()
    good = contract.validate_request("GET", "/users/1/items/search?search_type=scan&scroll_id=x&limit=100", strict=True)
    assert good == []
    renamed = contract.validate_request("GET", "/users/1/items/search?search_type=scan&scroll=x", strict=True)
    assert renamed and any("scroll" in str(p) for p in renamed)


def test_the_schedule_runs_a_full_pass_at_the_accounts_interval_and_focused_passes_between(shop: Store) -> None:
    from ponte.clock import advance, travelling

    with travelling():
        assert shop.worker.reconcile() == 5  # never reconciled: a full pass reads every listing
        assert shop.worker.reconcile() == 0  # nothing due until the focused interval has passed
        shop.save("A-1", stock=7)  # A-1's stock is sent again: the focused pass will read it
        shop.drain()
        advance(61 * 60)
        assert shop.worker.reconcile() == 1
        advance(61 * 60)
        assert shop.worker.reconcile() == 0  # nothing sent lately, no stock low: nothing to read
        advance(24 * 3600)
        assert shop.worker.reconcile() == 5  # a day later: the full pass again
    with shop.db.read() as conn:
        state = store.passes_of(conn, [shop.affiliate_id])[shop.affiliate_id]
    assert state.mode is None and state.last_full_at is not None and state.last_focused_at is not None


def test_a_slice_gives_way_to_waiting_sends_after_one_page(shop: Store) -> None:
    """Reading and comparing thousands of listings shares the worker's process with its sends: while sends wait,
    a slice reads one page and stops (the pass goes on in the next slice); with none waiting it reads on."""
    yielding = Reconciler(shop.db, shop.settings, shop.box, owner="r-drift", sends_waiting=lambda: True)
    try:
        first = yielding.run_slice(shop.affiliate, mode="full")
        assert first.read == 5 and not first.done  # the scan's first page, then the sends
        assert yielding.run_slice(shop.affiliate, mode="full").done  # the empty last page ends the pass
    finally:
        yielding.close()
    alone = shop.reconciler.run_slice(shop.affiliate, mode="full")  # nothing waits: both pages in one slice
    assert alone.read == 5 and alone.done


def test_the_worker_says_sends_are_waiting_while_its_steps_claim_work(shop: Store) -> None:
    waiting = shop.worker.reconciler.sends_waiting
    assert waiting is not None and not waiting()
    shop.save("A-1", stock=4)
    assert shop.worker.run_once(due_by=now() + timedelta(seconds=3)) > 0
    assert waiting()
    shop.drain()
    assert not waiting()
