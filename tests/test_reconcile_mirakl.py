"""Reconciliation against the emulated Mirakl operator, end to end on SQLite and PostgreSQL: offers changed in
Mirakl's back office behind Ponte's back (`_admin/shops/{shop}/offers/{sku}`) are found by one read of OF51, each
with its kind; the stock that could oversell goes out again in the next offer batch; a deactivated offer is only
reported. The focused pass reads OF51's differential export: only what changed since the last read."""

from __future__ import annotations

from decimal import Decimal
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


def test_listings_marked_as_seen_while_the_file_streams_are_not_taken_for_missing(
    hub: Drifting, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole shop marks what it has seen every MARK_EVERY listings as the file comes (20,000 in production; 2
    here, so that the three offers are marked mid-stream and the rest at the end): only the deleted one is missing."""
    from ponte.engine import reconcile

    monkeypatch.setattr(reconcile, "MARK_EVERY", 2)
    hub.back_office("D-4", deleted=True)
    (report,) = hub.reconciler.run_pass(hub.affiliate_row, mode="full")
    assert report.done and report.read == 3
    assert {key for key in hub.drifts()} == {("D-4", "missing")}


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


def test_the_export_read_in_chunks_as_it_arrives_holds_what_the_whole_file_holds() -> None:
    """OF51's CSV cut anywhere (inside a line, inside a quoted field running across lines) is read as the whole."""
    from ponte.connectors.mirakl import readback

    header = readback.FIELDS.replace(",", ";")
    lines = [
        f"{n};SKU-{n};{n},50;;{'9' if n % 3 else ''};{n % 5};{'true' if n % 4 else 'false'};false;2026-12-07"
        for n in range(1, 60)
    ]
    lines[7] = '8;"SKU;8\n(two lines)";8,50;;;3;true;false;2026-12-07'
    lines[9] = "10;SKU-10;10,50;;;0;true;true;2026-12-07"  # deleted
    raw = ("\r\n".join([header, *lines]) + "\r\n").encode()

    whole = readback._Offers(None)
    whole.feed(raw)
    whole.end()
    for size in (1, 7, 64):
        batches: list[list[Any]] = []
        cut = readback._Offers(batches.append)
        for start in range(0, len(raw), size):
            cut.feed(raw[start : start + size])
        cut.end()
        assert [h for batch in batches for h in batch] == whole.held and cut.held == []
        assert cut.deleted == whole.deleted == ["SKU-10"] and cut.streamed == len(whole.held) == 58
    assert whole.held[7].sku == "SKU;8\n(two lines)" and whole.held[0].price == Decimal("1.50")
    assert [h.cause for h in whole.held[:3]] == ["discount", "discount", None]


def test_an_export_without_a_compared_column_is_refused() -> None:
    from ponte.connectors.mirakl import readback

    offers = readback._Offers(None)
    with pytest.raises(readback.MissingColumns, match="quantity"):
        offers.feed(
            b"offer-id;shop-sku;price;origin-price;discount-price;active;deleted;last-updated\n1;A;1;;;true;false;x\n"
        )
