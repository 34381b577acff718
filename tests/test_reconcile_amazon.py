"""Reconciliation against the emulated Amazon, end to end on SQLite and PostgreSQL: listings changed on Amazon's
side behind Ponte's back are found by reading them back (searchListingsItems), each with its kind; a suppressed
listing is reported with Amazon's issue as its cause."""

from __future__ import annotations

from typing import Any

import pytest

from amazon_support import SELLER_ID
from ponte.engine.reconcile import Reconciler
from ponte.store import reconcile as store
from ponte.store.affiliates import Affiliate, affiliates_by_id
from test_amazon_flows import AmazonHub


class Drifting(AmazonHub):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.reconciler = Reconciler(self.db, self.settings, self.box, owner="r-amazon")

    @property
    def affiliate_row(self) -> Affiliate:
        with self.db.read() as conn:
            return affiliates_by_id(conn, [self.affiliate])[self.affiliate]

    def drifts(self) -> dict[tuple[str | None, str], store.DriftRow]:
        with self.db.read() as conn:
            return {(d.sku, d.kind): d for d in store.list_drifts(conn, account_id=self.account)}


@pytest.fixture
def hub(db: Any, settings: Any, amazon: Any, tmp_path: Any) -> Any:
    made = Drifting(db, settings, amazon, tmp_path)
    made.save("A-1", "B-2", "C-3")
    made.drain()
    yield made
    made.worker.close()


def test_a_read_back_finds_what_changed_on_amazon_and_why(hub: Drifting, contract_recorder: Any) -> None:
    hub.amazon.admin("listings", seller_id=SELLER_ID, skus=["A-1"], price=899, quantity=30)  # more than the store has
    hub.amazon.admin("listings", seller_id=SELLER_ID, skus=["B-2"], price=799, quantity=10)  # repriced on Amazon
    issue = {
        "code": "18027",
        "message": "Image not downloadable.",
        "severity": "ERROR",
        "categories": ["INVALID_IMAGE"],
    }
    hub.amazon.admin(f"listings/{SELLER_ID}/C-3/issues", issues=[issue])  # suppressed
    (report,) = hub.reconciler.run_pass(hub.affiliate_row, mode="full")
    assert report.done and report.read == 3
    found = hub.drifts()
    assert set(found) == {("A-1", "stock_higher"), ("B-2", "price"), ("C-3", "status")}
    assert found[("B-2", "price")].held_value == "799.00"
    assert found[("C-3", "status")].cause == "18027: Image not downloadable."
    contract_recorder.assert_reached("searchListingsItems")
