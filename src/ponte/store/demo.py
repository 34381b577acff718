"""What the demo (ponte.demo) reads of the store it wrote: its affiliates, to point them at the sandbox, its listings,
to buy them, and its placed orders."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from ponte.store.affiliates import Affiliate
from ponte.store.tables import affiliates, listings, orders


@dataclass(frozen=True)
class PlacedOrder:
    external_id: str
    affiliate_code: str


def every_affiliate(conn: Connection) -> list[Affiliate]:
    """Every affiliate of every account, enabled or not, in id order."""
    return [Affiliate.from_row(row) for row in conn.execute(select(affiliates).order_by(affiliates.c.id))]


def listing_ids(conn: Connection) -> dict[tuple[str, str], str]:
    """{(affiliate code, SKU): the marketplace's listing id} over every affiliate."""
    query = select(affiliates.c.code, listings.c.sku, listings.c.listing_id).join(
        affiliates, affiliates.c.id == listings.c.affiliate_id
    )
    return {(r.code, r.sku): r.listing_id for r in conn.execute(query)}


def placed_orders(conn: Connection, *, account_id: int) -> list[PlacedOrder]:
    """The account's orders still 'placed' (not invoiced, cancelled or refused), oldest first."""
    query = (
        select(orders.c.external_id, affiliates.c.code)
        .join(affiliates, affiliates.c.id == orders.c.affiliate_id)
        .where(orders.c.account_id == account_id, orders.c.status == "placed")
        .order_by(orders.c.id)
    )
    return [PlacedOrder(r.external_id, r.code) for r in conn.execute(query)]
