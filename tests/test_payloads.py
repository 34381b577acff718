"""What the engine hands connectors: each send built from the store's current data, with its offer's other half."""

from __future__ import annotations

from decimal import Decimal

from ponte.auth import get_or_create_account
from ponte.engine.payloads import Catalog
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.catalog import SkuInput, save_sku
from ponte.store.affiliates import affiliates_by_id


def _store(db, tmp_path, min_availability=None):
    box = SecretBox.from_environment(tmp_path / "secret.key")
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        affiliate_id = create_affiliate(
            conn,
            box=box,
            account_id=account,
            code="MLB",
            name="Mercado Livre",
            connector="sandbox",
            settings={"base_url": "http://127.0.0.1:9", "client_id": "x", "client_secret": "y"},
            min_availability=min_availability,
        )
        item = {"sku": "CEL-001", "name": "Phone", "list_price": "999.00", "price": "899.00", "handling_days": 3}
        save_sku(conn, account_id=account, item=SkuInput.model_validate(item | {"stock": {"main": 7, "b": 5}}))
        return affiliates_by_id(conn, [affiliate_id])[affiliate_id]


def test_a_price_send_carries_the_stock_and_a_stock_send_the_price(db, tmp_path):
    affiliate = _store(db, tmp_path)
    with db.read() as conn:
        catalog = Catalog(conn, [(affiliate.account_id, affiliate.id, "CEL-001")])
    price = catalog.price(affiliate, "CEL-001")
    stock, _ = catalog.inventory(affiliate, "CEL-001")
    assert (price.price, price.list_price, price.quantity, price.handling_days) == (
        Decimal("899.00"), Decimal("999.00"), 12, 3,
    )  # fmt: skip
    assert (stock.quantity, stock.price, stock.list_price) == (12, Decimal("899.00"), Decimal("999.00"))


def test_the_stock_a_price_send_carries_follows_the_minimum_availability_rule(db, tmp_path):
    affiliate = _store(db, tmp_path, min_availability=20)
    with db.read() as conn:
        catalog = Catalog(conn, [(affiliate.account_id, affiliate.id, "CEL-001")])
    assert catalog.price(affiliate, "CEL-001").quantity == 0
    assert catalog.inventory(affiliate, "CEL-001")[0].quantity == 0
