"""Reconciliation against the emulated Mirakl operator, end to end on SQLite and PostgreSQL: offers changed in
Mirakl's back office behind Ponte's back (`_admin/shops/{shop}/offers/{sku}`) are found by one read of OF51, each
with its kind; the stock that could oversell goes out again in the next offer batch; a deactivated offer is only
reported. The focused pass reads OF51's differential export: only what changed since the last read."""

from __future__ import annotations

from typing import Any

import pytest

from mirakl_support import SHOP
from ponte.engine.reconcile import Reconciler
from ponte.store import reconcile as store
from ponte.store.affiliates import Affiliate, affiliates_by_id
from test_mirakl_flows import MiraklHub


class Drifting(MiraklHub):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.reconciler = Reconciler(self.db, self.settings, self.box, owner="r-mirakl")

    @property
    def affiliate_row(self) -> Affiliate:
        with self.db.read() as conn:
            return affiliates_by_id(conn, [self.affiliate])[self.affiliate]

    def back_office(self, sku: str, **change: Any) -> None:
        self.mirakl.admin(f"shops/{SHOP}/offers/{sku}", **change)

    def drifts(self) -> dict[tuple[str | None, str], store.DriftRow]:
        with self.db.read() as conn:
            return {(d.sku, d.kind): d for d in store.list_drifts(conn, account_id=self.account)}


@pytest.fixture
def hub(db: Any, settings: Any, mirakl: Any, tmp_path: Any) -> Any:
    made = Drifting(db, settings, mirakl, tmp_path)
    made.listed("A-1", "B-2", "C-3", "D-4")
    yield made
    made.worker.close()


def test_one_read_of_the_offers_export_finds_each_drift_and_repairs_the_oversell(hub: Drifting) -> None:
    hub.back_office("A-1", quantity=30)
    hub.back_office("B-2", discount_price=799.0)
    hub.back_office("C-3", active=False)
    hub.back_office("D-4", deleted=True)
    (report,) = hub.reconciler.run_pass(hub.affiliate_row, mode="full")
    assert report.done and report.read == 3
    found = hub.drifts()
    assert set(found) == {("A-1", "stock_higher"), ("B-2", "price"), ("C-3", "status"), ("D-4", "missing")}
    assert (found[("B-2", "price")].held_value, found[("B-2", "price")].cause) == ("799.00", "discount")
    assert report.repaired == {"stock_higher": 1}
    assert (hub.row("inventory", "A-1").status, hub.row("inventory", "A-1").next_trigger) == (
        "pending",
        "reconciliation",
    )
    assert [c["operation"] for c in hub.mirakl.calls("OF51")] == ["OF51"]  # one call read the whole shop
    hub.minute()  # the next offer batch (OF24, once a minute) takes the repair
    hub.minute()
    offers = hub.mirakl.offers("A-1", "C-3")["offers"]
    assert offers["A-1"]["quantity"] == 10
    assert offers["C-3"].get("active") is False  # reported, not reactivated
    assert hub.attempts("inventory", "A-1")[-1].trigger == "reconciliation"


def test_a_focused_pass_reads_only_what_changed_since_the_last_read(hub: Drifting) -> None:
    hub.reconciler.run_pass(hub.affiliate_row, mode="full")
    assert hub.drifts() == {}
    hub.mirakl.advance(120)
    hub.back_office("B-2", quantity=2)
    (report,) = hub.reconciler.run_pass(hub.affiliate_row, mode="focused")
    assert report.done and report.read == 1  # B-2 alone changed
    assert set(hub.drifts()) == {("B-2", "stock_lower")}
    assert [c["operation"] for c in hub.mirakl.calls("OF51-differential")] == ["OF51-differential"]


def test_the_offers_export_is_read_as_the_spec_has_it(mirakl: Any, make_mirakl: Any, contract_recorder: Any) -> None:
    from ponte.connectors.base import ReadRequest

    page = make_mirakl().read_listings(ReadRequest(mode="full"))
    assert page.outcome is None and page.complete and page.listings == []
    contract_recorder.assert_reached("OF51")


def test_a_renamed_export_parameter_is_a_departure_from_the_spec() -> None:
    from ponte.contract import contract

    mirakl = contract("mirakl")
    assert mirakl.validate_request("GET", "/api/offers/export?include_fields=price&shop_id=1", strict=True) == []
    renamed = mirakl.validate_request("GET", "/api/offers/export?include_field=price", strict=True)
    assert renamed and any("include_field" in str(p) for p in renamed)
