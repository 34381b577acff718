"""Placing a marketplace order in the store: validate as a real hub must, then reserve stock.

Checks, in order: the order is still placeable; each SKU exists, is sellable and is mapped on the
marketplace; stock covers the quantity; the marketplace's price is within the affiliate's divergence
rule; a shipping rule covers the destination and weight. Placing twice is impossible: a placed order
answers success without doing anything again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, select, update

from ponte.clock import now
from ponte.connectors.base import Outcome
from ponte.connectors.capabilities import supports
from ponte.domain import Disposition, Flow, Status, Trigger
from ponte.engine.payloads import order_row
from ponte.engine.queue import mark_catalog_changed, mark_changed
from ponte.store.affiliates import Affiliate
from ponte.store.catalog import available_stock, find_sla
from ponte.store.tables import affiliates, integrations, orders, skus, stock


def _fail(message: str, category: str, disposition: Disposition = Disposition.FIX, **kw: Any) -> Outcome:
    return Outcome.error(message, category=category, disposition=disposition, code=category, **kw)


def _check_items(
    conn: Connection, order: Row, affiliate: Affiliate
) -> tuple[Outcome | None, list[tuple[Row, dict]], str]:
    """Validate every item; return (failure or None, [(sku row, item)], remark for a warning)."""
    lines: list[tuple[Row, dict]] = []
    remarks: list[str] = []
    for item in order.items:
        sku = conn.execute(select(skus).where(skus.c.account_id == order.account_id, skus.c.sku == item["sku"])).first()
        if sku is None:
            return (
                _fail(f"SKU {item['sku']} of the order does not exist in the store catalog", "sku_not_linked"),
                [],
                "",
            )
        if not sku.active or sku.price is None:
            return (
                _fail(f"SKU {sku.sku} is inactive or has no price for this sales channel", "sku_not_sellable"),
                [],
                "",
            )
        mapped = conn.execute(
            select(integrations.c.external_ref).where(
                integrations.c.account_id == order.account_id,
                integrations.c.flow == Flow.PRODUCT.value,
                integrations.c.affiliate_id == affiliate.id,
                integrations.c.entity == sku.sku,
                integrations.c.status.in_([Status.SUCCESS.value, Status.WARNING.value]),
            )
        ).first()
        if mapped is None:
            return (
                _fail(f"SKU {sku.sku} is not mapped on {affiliate.code}: send the product first", "sku_not_linked"),
                [],
                "",
            )
        available = available_stock(conn, sku_id=sku.id)
        if available < item["quantity"]:
            return (
                _fail(f"SKU {sku.sku} out of stock: {item['quantity']} ordered, {available} available", "out_of_stock"),
                [],
                "",
            )
        problem = _price_problem(Decimal(item["price"]), sku.price, affiliate)
        if problem and affiliate.price_divergence_action != "approve":
            return problem, [], ""
        if problem:
            remarks.append(problem.message + " (approved by the affiliate's rule)")
        lines.append((sku, item))
    return None, lines, "; ".join(remarks)


def _price_problem(offered: Decimal, store_price: Decimal, affiliate: Affiliate) -> Outcome | None:
    if store_price == 0:
        return None
    diff = abs(offered - store_price) / store_price * 100
    if diff <= Decimal(affiliate.price_tolerance_pct):
        return None
    held = affiliate.price_divergence_action == "hold"
    message = (
        f"Order price {offered} differs from the store price {store_price} by {diff:.1f}% "
        f"(tolerance {affiliate.price_tolerance_pct}%)" + ("; held for manual review" if held else "")
    )
    return _fail(message, "price_divergence")


def _reserve(conn: Connection, sku_id: int, quantity: int) -> None:
    """Reserve `quantity` across warehouses, fullest first."""
    rows = conn.execute(
        select(stock.c.warehouse, (stock.c.quantity - stock.c.reserved).label("free"))
        .where(stock.c.sku_id == sku_id)
        .order_by((stock.c.quantity - stock.c.reserved).desc())
    ).all()
    for row in rows:
        take = min(quantity, max(0, row.free))
        if take:
            conn.execute(
                update(stock)
                .where(stock.c.sku_id == sku_id, stock.c.warehouse == row.warehouse)
                .values(reserved=stock.c.reserved + take)
            )
            quantity -= take
        if not quantity:
            break


def place_order(conn: Connection, *, account_id: int, affiliate: Affiliate, external_id: str) -> Outcome:
    """Validate and place one received order inside the caller's transaction."""
    order = order_row(conn, account_id, affiliate.id, external_id)
    request = {"order_id": external_id, "items": order.items, "postal_code": order.postal_code}
    if order.status in ("placed", "invoiced"):
        return Outcome.ok(f"Order {external_id} was already placed; nothing done again", request=request)
    if order.status == "cancelled":
        return _fail(f"Order {external_id} is cancelled and cannot be placed", "state_conflict", Disposition.TERMINAL)
    failure, lines, remark = _check_items(conn, order, affiliate)
    if failure:
        failure.request = request
        return failure
    weight = sum((sku.weight_g or 0) * item["quantity"] for sku, item in lines)
    rule = find_sla(conn, account_id=account_id, postal_code=order.postal_code, weight_g=weight)
    if rule is None:
        return _fail(
            f"No shipping rule (SLA) delivers {weight} g to postal code {order.postal_code}",
            "sla_unavailable",
            request=request,
        )
    for sku, item in lines:
        _reserve(conn, sku.id, item["quantity"])
    # Reserved stock is no longer available: every marketplace must hear the new quantity.
    mark_catalog_changed(conn, account_id, {Flow.INVENTORY: [sku.sku for sku, _ in lines]})
    conn.execute(
        update(orders)
        .where(orders.c.id == order.id)
        .values(status="placed", sla=rule.sla, placed_at=now(), updated_at=now())
    )
    _hand_to_erps(conn, account_id, external_id)
    message = f"Order placed with SLA {rule.sla} ({rule.days} days)"
    response = {"placed": True, "sla": rule.sla}
    if remark:
        return Outcome.warning(f"{message}; {remark}", request=request, response=response)
    return Outcome.ok(message, request=request, response=response)


def _hand_to_erps(conn: Connection, account_id: int, external_id: str) -> None:
    erps = conn.execute(
        select(affiliates.c.id, affiliates.c.connector).where(
            affiliates.c.account_id == account_id, affiliates.c.kind == "erp", affiliates.c.enabled.is_(True)
        )
    ).all()
    mark_changed(
        conn,
        account_id=account_id,
        flow=Flow.ORDER.value,
        keys=[(r.id, external_id) for r in erps if supports(r.connector, Flow.ORDER.value, "erp")],
        trigger=Trigger.CHANGE,
    )
