"""Catalog writes in bulk: a few statements whatever the number of items, with the result of writing the items
one after the other (the later of two items for the same SKU wins) and each file line in its order."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import event, select

from factories import add_affiliate
from ponte.auth import get_or_create_account
from ponte.services import catalog
from ponte.services.catalog import PriceInput, SkuInput, StockInput
from ponte.services.importer import import_text
from ponte.store.tables import integrations, skus, stock


def _store(db):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        for code in ("MLB", "AMZ"):
            add_affiliate(conn, account, code, code)
    return account


def _sku(code: str, **more) -> SkuInput:
    return SkuInput.model_validate({"sku": code, "name": f"Produto {code}", **more})


def _statements(db, write) -> int:
    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.write() as conn:
            write(conn)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_a_bulk_write_takes_the_same_statements_for_ten_items_as_for_a_hundred(db):
    account = _store(db)
    codes = [f"SKU-{n:03}" for n in range(100)]

    def skus_of(chosen):
        items = [_sku(c, price="10.00", stock={"main": 1}) for c in chosen]
        return lambda conn: catalog.save_skus(conn, account_id=account, items=items)

    def prices_of(n):
        items = [PriceInput(sku=c, list_price=Decimal(20), price=Decimal(15)) for c in codes[:n]]
        return lambda conn: catalog.set_prices(conn, account_id=account, items=items)

    def stock_of(n):
        items = [StockInput(sku=c, quantity=5) for c in codes[:n]]
        return lambda conn: catalog.set_stocks(conn, account_id=account, items=items)

    assert _statements(db, skus_of(codes[:10])) == _statements(db, skus_of(codes[10:]))  # new ones
    assert _statements(db, skus_of(codes[:10])) == _statements(db, skus_of(codes))  # known ones
    assert _statements(db, prices_of(10)) == _statements(db, prices_of(100))
    assert _statements(db, stock_of(10)) == _statements(db, stock_of(100))
    with db.read() as conn:
        queued = conn.execute(select(integrations.c.flow, integrations.c.entity)).all()
    assert len(queued) == 100 * 3 * 2  # product, price, inventory × two marketplaces


def test_the_later_item_for_a_sku_wins_as_if_written_one_by_one(db):
    account = _store(db)
    with db.write() as conn:
        catalog.save_skus(
            conn,
            account_id=account,
            items=[
                _sku("A", price="10.00", stock={"main": 1, "cd-sp": 2}),
                _sku("B"),
                _sku("A", brand="Acme", stock={"main": 3}),  # replaces A's data: no price now
            ],
        )
        sku_id = conn.execute(select(skus.c.id).where(skus.c.sku == "A")).scalar_one()
        conn.execute(stock.update().where(stock.c.sku_id == sku_id).values(reserved=1))
        unknown = catalog.set_prices(
            conn,
            account_id=account,
            items=[
                PriceInput(sku="B", list_price=Decimal(30), price=Decimal(25)),
                PriceInput(sku="NOPE", list_price=Decimal(1), price=Decimal(1)),
                PriceInput(sku="B", list_price=Decimal(30), price=Decimal(20)),
            ],
        )
        missing = catalog.set_stocks(
            conn, account_id=account, items=[StockInput(sku="A", quantity=9), StockInput(sku="A", quantity=8)]
        )
    assert unknown == {"NOPE"} and missing == set()
    with db.read() as conn:
        a = conn.execute(select(skus).where(skus.c.sku == "A")).one()
        b = conn.execute(select(skus).where(skus.c.sku == "B")).one()
        quantities = {r.warehouse: (r.quantity, r.reserved) for r in conn.execute(select(stock))}
        price_queue = set(conn.execute(select(integrations.c.entity).where(integrations.c.flow == "price")).scalars())
    assert (a.brand, a.price) == ("Acme", None) and b.price == Decimal("20.00")
    assert quantities == {"main": (8, 1), "cd-sp": (2, 1)}  # the reservations stay
    assert price_queue == {"A", "B"}  # A had a price in its first item


def test_an_import_writes_its_lines_in_file_order(db):
    account = _store(db)
    lines = [
        {"sku": "A", "name": "Produto A", "price": "10.00", "list_price": "20.00"},
        {"sku": "A", "price": "8.00", "list_price": "20.00"},  # a price line after the SKU it prices
        {"sku": "C", "price": "1.00", "list_price": "1.00"},  # no such SKU
        {"sku": "A", "quantity": 3},
        {"sku": "B", "name": "Produto B", "price": "5.00", "list_price": "5.00"},
        {"sku": "B", "name": ""},  # invalid
        {"sku": "B", "price": "4.00", "list_price": "5.00"},
    ]
    text = "\n".join(json.dumps(line) for line in lines)
    report = import_text(db.write, account_id=account, text=text, fmt="jsonl")
    assert report.accepted == 5
    assert [r.line for r in report.rejected] == [3, 6]
    assert report.rejected[0].reason == "SKU C not found" and report.rejected[1].reason.startswith("name:")
    with db.read() as conn:
        prices = dict(conn.execute(select(skus.c.sku, skus.c.price)).all())
        quantity = conn.execute(select(stock.c.quantity)).scalar_one()
    assert prices == {"A": Decimal("8.00"), "B": Decimal("4.00")} and quantity == 3
