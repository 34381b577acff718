"""Orders received from a marketplace's feed: a page recorded in a few statements, never an order twice."""

from __future__ import annotations

from sqlalchemy import event, func, select

from factories import add_affiliate
from ponte.auth import get_or_create_account
from ponte.services.orders import IncomingOrder, receive_order, receive_orders
from ponte.store.tables import integrations, orders


def _order(n: int) -> IncomingOrder:
    return IncomingOrder.model_validate(
        {
            "id": f"MLB-{n:05d}",
            "postal_code": "01310100",
            "items": [{"sku": "CEL-001", "quantity": 1, "price": 899.0}],
            "buyer": {"name": "Bruno", "document": "52998224725", "email": "b@example.com"},
        }
    )


def test_a_page_of_orders_is_recorded_once_each_in_the_same_statements_whatever_its_size(db):
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-a")
        affiliate = add_affiliate(conn, account, "MLB", "MLB")
        first = receive_order(conn, account_id=account, affiliate_id=affiliate, data=_order(1).model_dump(mode="json"))
    assert first == ("MLB-00001", True)
    statements: list[int] = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(1))

    def page(numbers):
        statements.clear()
        with db.write() as conn:
            new = receive_orders(
                conn, account_id=account, affiliate_id=affiliate, orders_in=[_order(n) for n in numbers]
            )
        return new, len(statements)

    small, few = page([1, 2, 3, 3, 4])  # 1 was received before; 3 comes twice in the page
    big, many = page(range(1, 60))
    assert small == {"MLB-00002", "MLB-00003", "MLB-00004"} and len(big) == 55
    assert few == many
    with db.read() as conn:
        recorded = conn.execute(select(func.count()).select_from(orders)).scalar_one()
        queued = conn.execute(select(func.count()).where(integrations.c.flow == "order")).scalar_one()
    assert recorded == queued == 59
