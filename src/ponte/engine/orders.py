"""Placing a marketplace order in the store: validate as a real hub must, then reserve stock.

Checks, in order: the order is still placeable; each line's SKU exists, is sellable and is mapped on the
marketplace, its stock covers the quantity and the marketplace's price is within the affiliate's divergence
rule; a shipping rule covers the destination and weight. Placing twice is impossible: a placed order
answers success without doing anything again. Each line's decision travels in `Outcome.lines`, for the
marketplaces that are told line by line which lines the seller accepts (Mirakl).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from ponte.clock import now
from ponte.connectors.base import LineDecision, Outcome
from ponte.connectors.capabilities import supports
from ponte.connectors.registry import get_connector_class
from ponte.domain import Disposition, Flow, Trigger
from ponte.domain.messages import Message, say
from ponte.engine.payloads import order_row
from ponte.engine.queue import mark_catalog_changed
from ponte.store.affiliates import Affiliate, enabled_connectors
from ponte.store.catalog import available_stock, find_sla
from ponte.store.order_book import (
    LineSku,
    Order,
    add_reserved,
    free_by_warehouse,
    is_listed,
    line_sku,
    mark_placed,
    open_orders,
    reserved_by_warehouse,
    set_order_status,
    sku_ids,
)
from ponte.store.queue import mark_changed


def _fail(message: Message, category: str, disposition: Disposition = Disposition.FIX, **kw: Any) -> Outcome:
    return Outcome.error(message, category=category, disposition=disposition, code=category, **kw)


@dataclass
class _Line:
    """One line of an order as validation found it: its SKU row, and why it cannot be placed (None: it can)."""

    item: dict[str, Any]
    sku: LineSku | None
    problem: Outcome | None
    remark: Message | None = None


def _check_line(conn: Connection, order: Order, affiliate: Affiliate, item: dict[str, Any]) -> _Line:
    sku = line_sku(conn, account_id=order.account_id, sku=item["sku"])
    if sku is None:
        return _Line(item, None, _fail(say("msg.order.sku_unknown", sku=item["sku"]), "sku_not_linked"))
    if not sku.active or sku.price is None:
        return _Line(item, sku, _fail(say("msg.order.sku_not_sellable", sku=sku.sku), "sku_not_sellable"))
    if not is_listed(conn, account_id=order.account_id, affiliate_id=affiliate.id, sku=sku.sku):
        return _Line(
            item,
            sku,
            _fail(say("msg.order.sku_not_mapped", sku=sku.sku, affiliate=affiliate.code), "sku_not_linked"),
        )
    available = available_stock(conn, sku_id=sku.id)
    if available < item["quantity"]:
        return _Line(
            item,
            sku,
            _fail(
                say("msg.order.out_of_stock", sku=sku.sku, ordered=int(item["quantity"]), available=int(available)),
                "out_of_stock",
            ),
        )
    problem = _price_problem(Decimal(item["price"]), sku.price, affiliate)
    if problem and affiliate.price_divergence_action != "approve":
        return _Line(item, sku, problem)
    return _Line(item, sku, None, say("msg.order.approved_remark", problem=problem.words) if problem else None)


def _price_problem(offered: Decimal, store_price: Decimal, affiliate: Affiliate) -> Outcome | None:
    if store_price == 0:
        return None
    diff = abs(offered - store_price) / store_price * 100
    if diff <= Decimal(affiliate.price_tolerance_pct):
        return None
    held = affiliate.price_divergence_action == "hold"
    message = say(
        "msg.order.price_divergence_held" if held else "msg.order.price_divergence",
        offered=offered,
        store=store_price,
        diff=f"{diff:.1f}",
        tolerance=affiliate.price_tolerance_pct,
    )
    return _fail(message, "price_divergence")


def _reserve(conn: Connection, sku_id: int, quantity: int) -> None:
    """Reserve `quantity` across warehouses, fullest first."""
    for warehouse, free in free_by_warehouse(conn, sku_id=sku_id):
        take = min(quantity, max(0, free))
        if take:
            add_reserved(conn, sku_id=sku_id, warehouse=warehouse, quantity=take)
            quantity -= take
        if not quantity:
            break


def cancel_received(conn: Connection, *, account_id: int, affiliate_id: int, external_ids: list[str]) -> list[str]:
    """The marketplace cancelled these orders (the buyer, or the marketplace itself): an order not placed yet is
    never placed, a placed one gives its reserved stock back (every marketplace hears the new quantity). An order
    already invoiced is left as it is: its goods have left. Returns the ids cancelled now."""
    rows = open_orders(conn, account_id=account_id, affiliate_id=affiliate_id, external_ids=external_ids)
    released: list[str] = []
    for row in rows:
        if row.status == "placed":
            codes = [item["sku"] for item in row.items]
            ids = sku_ids(conn, account_id=account_id, codes=codes)
            for item in row.items:
                if item["sku"] in ids:
                    _release(conn, ids[item["sku"]], int(item["quantity"]))
            released += codes
        set_order_status(conn, order_id=row.id, status="cancelled", now=now())
    if released:
        mark_catalog_changed(conn, account_id, {Flow.INVENTORY: released})
    return [row.external_id for row in rows]


def _release(conn: Connection, sku_id: int, quantity: int) -> None:
    """Give back `quantity` reserved units, from the warehouses that hold the most reserved."""
    for warehouse, reserved in reserved_by_warehouse(conn, sku_id=sku_id):
        give = min(quantity, reserved)
        if give:
            add_reserved(conn, sku_id=sku_id, warehouse=warehouse, quantity=-give)
            quantity -= give
        if not quantity:
            break


def _takes_lines(affiliate: Affiliate) -> bool:
    try:
        return get_connector_class(affiliate.connector).accepts_lines
    except LookupError:
        return False


def _decisions(lines: list[_Line], refusal: Outcome | None = None) -> tuple[LineDecision, ...]:
    """Each line's decision: a line with a problem is refused with it, the others accepted (or, when the whole
    order is refused, refused with the order's reason)."""
    decided = []
    for line in lines:
        problem = line.problem or refusal
        item = line.item
        decided.append(
            LineDecision(
                sku=item["sku"],
                quantity=int(item["quantity"]),
                accepted=problem is None,
                ref=item.get("ref"),
                reason=problem.message if problem else "",
                category=problem.category if problem else None,
            )
        )
    return tuple(decided)


def _refuse(conn: Connection, order: Order, affiliate: Affiliate, lines: list[_Line], failure: Outcome) -> Outcome:
    """The order is not placed. A marketplace that takes orders line by line is told each line is refused, and
    that is final: the order is marked refused (never placed by a later reprocess) and the error is terminal."""
    failure.lines = _decisions(lines, failure)
    if _takes_lines(affiliate):
        set_order_status(conn, order_id=order.id, status="refused", now=now())
        failure.say(say("msg.order.refused_on", affiliate=affiliate.code, reason=failure.words))
        failure.disposition = Disposition.TERMINAL
    return failure


def place_order(conn: Connection, *, account_id: int, affiliate: Affiliate, external_id: str) -> Outcome:
    """Validate and place one received order inside the caller's transaction. Every line is checked; a
    marketplace that accepts orders line by line (`Connector.accepts_lines`) gets the lines that pass placed and
    the others refused, the others' orders are placed whole or not at all. `Outcome.lines` says which."""
    order = order_row(conn, account_id, affiliate.id, external_id)
    request = {"order_id": external_id, "items": order.items, "postal_code": order.postal_code}
    if order.status in ("placed", "invoiced"):
        return Outcome.ok(say("msg.order.already_placed", order=external_id), request=request)
    if order.status in ("cancelled", "refused"):
        return _fail(say(f"msg.order.{order.status}", order=external_id), "state_conflict", Disposition.TERMINAL)
    lines = [_check_line(conn, order, affiliate, item) for item in order.items]
    passed = [line for line in lines if line.problem is None]
    refused = [line for line in lines if line.problem is not None]
    if refused and not (passed and _takes_lines(affiliate)):
        failure = refused[0].problem
        assert failure is not None
        failure.request = request
        return _refuse(conn, order, affiliate, lines, failure)
    weight = sum((line.sku.weight_g or 0) * line.item["quantity"] for line in passed if line.sku is not None)
    rule = find_sla(conn, account_id=account_id, postal_code=order.postal_code, weight_g=weight)
    if rule is None:
        failure = _fail(
            say("msg.order.no_sla", weight=int(weight), postal_code=order.postal_code),
            "sla_unavailable",
            request=request,
        )
        return _refuse(conn, order, affiliate, lines, failure)
    return _place(conn, order, lines, rule, request)


def _place(conn: Connection, order: Order, lines: list[_Line], rule: Any, request: dict[str, Any]) -> Outcome:
    """Reserve the stock of the lines that passed and mark the order placed with them."""
    passed = [line for line in lines if line.problem is None]
    refused = [line for line in lines if line.problem is not None]
    for line in passed:
        assert line.sku is not None
        _reserve(conn, line.sku.id, line.item["quantity"])
    # Reserved stock is no longer available: every marketplace must hear the new quantity.
    mark_catalog_changed(conn, order.account_id, {Flow.INVENTORY: [line.item["sku"] for line in passed]})
    if refused:  # the store order holds the lines the marketplace will deliver, and their total
        kept = [line.item for line in passed]
        total = order.total - sum(
            (Decimal(str(line.item["price"])) * line.item["quantity"] for line in refused), Decimal(0)
        )
        mark_placed(conn, order_id=order.id, sla=rule.sla, now=now(), items=kept, total=total)
    else:
        mark_placed(conn, order_id=order.id, sla=rule.sla, now=now())
    _hand_to_erps(conn, order.account_id, order.external_id)
    message = say("msg.order.placed", sla=rule.sla, n=int(rule.days))
    remarks = [line.remark for line in passed if line.remark]
    remarks += [
        say("msg.order.line_refused", sku=line.item["sku"], reason=line.problem.words)
        for line in refused
        if line.problem
    ]
    response = {"placed": True, "sla": rule.sla}
    if remarks:
        text = say("msg.order.placed_with_remarks", placed=message, remarks=remarks)
        return Outcome.warning(text, request=request, response=response, lines=_decisions(lines))
    return Outcome.ok(message, request=request, response=response, lines=_decisions(lines))


def _hand_to_erps(conn: Connection, account_id: int, external_id: str) -> None:
    erps = enabled_connectors(conn, account_id=account_id, kind="erp")
    mark_changed(
        conn,
        account_id=account_id,
        flow=Flow.ORDER.value,
        keys=[(erp_id, external_id) for erp_id, connector in erps if supports(connector, Flow.ORDER.value, "erp")],
        trigger=Trigger.CHANGE,
    )
