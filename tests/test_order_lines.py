"""Placing an order decides line by line: each line's decision travels with the outcome, and a marketplace that
accepts orders line by line (Mirakl) gets the lines that pass placed and the others refused, for good."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, update

from ponte.auth import get_or_create_account
from ponte.connectors.sandbox import SandboxConnector
from ponte.domain import Disposition, Status
from ponte.engine.orders import place_order
from ponte.engine.queue import mark_changed
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import SkuInput, save_sku
from ponte.services.orders import receive_order
from ponte.services.shipping import add_shipping_rule
from ponte.store.affiliates import affiliates_by_id
from ponte.store.tables import integrations, orders, stock


@pytest.fixture
def store(db, tmp_path):
    box = SecretBox.from_environment(tmp_path / "secret.key")
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        affiliate_id = create_affiliate(
            conn,
            box=box,
            account_id=account,
            code="CRF",
            name="Carrefour",
            connector="sandbox",
            settings={"base_url": "http://127.0.0.1:9", "client_id": "x", "client_secret": "y"},
        )
        for sku, quantity in (("CEL-001", 10), ("CEL-002", 0)):
            item = {"sku": sku, "name": sku, "price": "100.00", "weight_g": 200, "stock": {"main": quantity}}
            save_sku(conn, account_id=account, item=SkuInput.model_validate(item))
        mark_changed(
            conn, account_id=account, flow="product", keys=[(affiliate_id, "CEL-001"), (affiliate_id, "CEL-002")]
        )
        conn.execute(update(integrations).values(status="success", external_ref="listed"))
        add_shipping_rule(
            conn, account_id=account, sla="Normal", postal_from="01000000", postal_to="39999999",
            max_weight_g=30_000, days=5, price=Decimal("19.90"),
        )  # fmt: skip
        order = {
            "id": "ORDER-1-A",
            "postal_code": "01310100",
            "items": [
                {"sku": "CEL-001", "quantity": 2, "price": 100.0, "ref": "ORDER-1-A-1"},
                {"sku": "CEL-002", "quantity": 1, "price": 100.0, "ref": "ORDER-1-A-2"},
            ],
        }
        receive_order(conn, account_id=account, affiliate_id=affiliate_id, data=order)
        affiliate = affiliates_by_id(conn, [affiliate_id])[affiliate_id]
    return db, account, affiliate


def _place(db, account, affiliate):
    with db.write() as conn:
        return place_order(conn, account_id=account, affiliate=affiliate, external_id="ORDER-1-A")


def _order(db):
    with db.read() as conn:
        return conn.execute(select(orders)).one()


def test_an_order_placed_whole_or_not_at_all_says_why_each_line_was_refused(store):
    db, account, affiliate = store
    outcome = _place(db, account, affiliate)
    assert (outcome.status, outcome.category) == (Status.ERROR, "out_of_stock")
    decided = [(line.sku, line.accepted, line.ref) for line in outcome.lines]
    assert decided == [("CEL-001", False, "ORDER-1-A-1"), ("CEL-002", False, "ORDER-1-A-2")]
    assert outcome.lines[1].reason == "SKU CEL-002 out of stock: 1 ordered, 0 available"
    assert outcome.lines[0].reason == outcome.lines[1].reason  # refused with its order
    assert _order(db).status == "received"  # fixed and reprocessed later, it can still be placed


def test_a_marketplace_that_takes_lines_gets_the_good_lines_placed_and_the_others_refused(store, monkeypatch):
    monkeypatch.setattr(SandboxConnector, "accepts_lines", True)
    db, account, affiliate = store
    outcome = _place(db, account, affiliate)
    assert outcome.status == Status.WARNING
    assert "line CEL-002 refused: SKU CEL-002 out of stock: 1 ordered, 0 available" in outcome.message
    assert [(line.ref, line.accepted, line.category) for line in outcome.lines] == [
        ("ORDER-1-A-1", True, None),
        ("ORDER-1-A-2", False, "out_of_stock"),
    ]
    placed = _order(db)
    assert (placed.status, [i["sku"] for i in placed.items], placed.total) == ("placed", ["CEL-001"], Decimal("200"))
    with db.read() as conn:
        assert conn.execute(select(stock.c.reserved).where(stock.c.reserved > 0)).scalars().all() == [2]
    again = _place(db, account, affiliate)
    assert again.status == Status.SUCCESS and again.lines == ()  # placed once: nothing decided again


def test_an_order_whose_every_line_fails_is_refused_for_good_on_such_a_marketplace(store, monkeypatch):
    monkeypatch.setattr(SandboxConnector, "accepts_lines", True)
    db, account, affiliate = store
    with db.write() as conn:
        conn.execute(update(stock).values(quantity=0))
    outcome = _place(db, account, affiliate)
    assert (outcome.status, outcome.disposition) == (Status.ERROR, Disposition.TERMINAL)
    assert outcome.message.startswith("Refused on CRF: SKU CEL-001 out of stock")
    assert [line.accepted for line in outcome.lines] == [False, False]
    assert _order(db).status == "refused"
    with db.write() as conn:  # stock comes back and someone reprocesses: the marketplace was told no
        conn.execute(update(stock).values(quantity=10))
    again = _place(db, account, affiliate)
    assert (again.status, again.disposition, again.lines) == (Status.ERROR, Disposition.TERMINAL, ())
